"""The README's marked examples, parsed so tests can run them and compare what the code prints.

A marked example is an HTML comment followed by a fenced block::

    <!-- console: NAME [numbers-vary] -->
    ```console
    $ a command
    its output, stdout lines first, then stderr lines
    …
    ```

A line holding only "…" stands for any number of lines; ``numbers-vary`` compares with every
number replaced (probabilities, latencies). ``<!-- python: NAME -->`` marks a Python block.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
_MARKED = re.compile(r"<!-- (console|python): ([\w-]+)((?: [\w-]+)*) -->\n```(?:console|python)\n(.*?)```", re.S)
ANY = "…"


@dataclass(frozen=True)
class Example:
    name: str
    kind: str
    flags: frozenset[str]
    text: str

    def steps(self) -> list[tuple[str, list[str]]]:
        """(command, expected output lines) for each `$ ` line of a console example."""
        steps: list[tuple[str, list[str]]] = []
        for line in self.text.splitlines():
            if line.startswith("$ "):
                steps.append((line[2:], []))
            else:
                steps[-1][1].append(line)
        return steps


def examples() -> dict[str, Example]:
    found = {}
    for kind, name, flags, text in _MARKED.findall(README.read_text(encoding="utf-8")):
        found[name] = Example(name, kind, frozenset(flags.split()), text)
    return found


def _normal(line: str, numbers_vary: bool) -> str:
    return re.sub(r"\d+(\.\d+)?", "N", line) if numbers_vary else line


def matches(expected: list[str], actual: list[str]) -> bool:
    """Line-by-line equality where an expected "…" line matches any run of actual lines."""
    if not expected:
        return not actual
    if expected[0] == ANY:
        return any(matches(expected[1:], actual[i:]) for i in range(len(actual) + 1))
    return bool(actual) and expected[0] == actual[0] and matches(expected[1:], actual[1:])


def mlops_shim(folder: Path) -> dict[str, str]:
    """An environment whose `mlops` runs this checkout's code with the test's Python."""
    folder.mkdir(parents=True, exist_ok=True)
    shim = folder / "mlops"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m deploy "$@"\n')
    shim.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("MLOPS_ROOT", "MLOPS_BACKEND", "GITHUB_STEP_SUMMARY")}
    env["PATH"] = f"{folder}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(REPO)
    return env


def run_console(example: Example, cwd: Path, env: dict[str, str], replace: dict[str, str] | None = None) -> None:
    """Run every command of the example in `cwd`; assert each prints what the README shows."""
    numbers_vary = "numbers-vary" in example.flags
    for command, expected in example.steps():
        done = subprocess.run(
            ["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
        )
        printed = done.stdout + done.stderr
        for old, new in (replace or {}).items():
            printed = printed.replace(old, new)
        actual = [_normal(line, numbers_vary) for line in printed.splitlines()]
        wanted = [_normal(line, numbers_vary) for line in expected]
        assert matches(wanted, actual), f"README example '{example.name}', `$ {command}` printed:\n{printed}"
