"""The scratch repository `mlops demo` works in, and how it runs commands there (control plane).

The demo copies the project (tracked and untracked, not ignored files: no `.venv`, `.mlops`
or `.git`) into a scratch folder, clears the model pins of its `config/<env>.yaml` (so a
promotion made in your checkout does not leak into the demo: it starts from the template's
desired state every time), makes it a git repository of its own, and runs every step
as the command a user would type: `mlops …` as a subprocess of this Python
(`python -m deploy`), `git …` as git. Output is streamed, indented, and kept for the checks.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from deploy.config.schema import ModelPin
from deploy.promotion.pins import plan_pins, write_pins

IGNORED = shutil.ignore_patterns(".git", ".venv", ".mlops", "__pycache__", "*.egg-info", ".pytest_cache", ".ruff_cache")
IDENTITY = {
    "GIT_AUTHOR_NAME": "mlops demo",
    "GIT_AUTHOR_EMAIL": "demo@localhost",
    "GIT_COMMITTER_NAME": "mlops demo",
    "GIT_COMMITTER_EMAIL": "demo@localhost",
}
# Outside variables that would point the commands elsewhere, or write into a CI job's files.
DROPPED = ("MLOPS_ROOT", "MLOPS_BACKEND", "GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT", "GITHUB_SHA")


def copy_project(source: Path, target: Path) -> int:
    """Copy the project's files into `target`; returns how many were copied."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=source, capture_output=True, check=False
    )
    if listed.returncode != 0:  # not a git checkout: the working tree minus what is never shipped
        shutil.copytree(source, target, ignore=IGNORED, dirs_exist_ok=True)
        return sum(1 for p in target.rglob("*") if p.is_file())
    names = [n for n in listed.stdout.decode().split("\0") if n and (source / n).is_file()]
    for name in names:
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / name, target / name)
    return len(names)


def clear_pins(config_dir: Path) -> list[str]:
    """Empty the model pin of every environment file (only those lines); returns the files changed."""
    return [path.name for path in write_pins(plan_pins(config_dir, ModelPin()))]


def copy_state(source: Path, target: Path) -> list[str]:
    """The project copied into `target` as the template's desired state; returns notes for the user."""
    count = copy_project(source, target)
    notes = [f"copied {count} files from {source} to {target}"]
    cleared = clear_pins(target / "config")
    if cleared:
        notes.append(f"cleared the model pins of {', '.join(cleared)}: the demo starts with nothing promoted")
    return notes + move_busy_ports(target / "config")


def project_root(discovered: Path) -> Path | None:
    """The project to copy: the one around the current folder, else the one this code was installed from."""
    for candidate in (discovered, Path(__file__).resolve().parents[1]):
        if (candidate / "config" / "pipeline.yaml").is_file() and (candidate / "ml").is_dir():
            return candidate
    return None


def port_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def move_busy_ports(config_dir: Path) -> list[str]:
    """Give an environment whose `local.port` is taken (say, by your own endpoints) a free one."""
    moved = []
    for path in sorted(config_dir.glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        match = re.search(r"^(\s+port:\s*)(\d+)", text, flags=re.MULTILINE)
        if path.name == "pipeline.yaml" or match is None or port_free(int(match.group(2))):
            continue
        new = free_port()
        path.write_text(text[: match.start(2)] + str(new) + text[match.end(2) :], encoding="utf-8")
        moved.append(f"{path.name}: local.port {match.group(2)} is busy here, the demo uses {new}")
    return moved


@dataclass
class Result:
    code: int
    output: str
    seconds: float


@dataclass
class Shell:
    """Runs the demo's commands in `repo`, echoing them the way a user would type them."""

    repo: Path
    console: Console
    env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        base = {k: v for k, v in os.environ.items() if k not in DROPPED}
        self.env = {**base, **IDENTITY, "COLUMNS": "110", "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"}

    def mlops(self, *args: str, quiet: bool = False) -> Result:
        """`mlops …`; with `quiet` only the command line is echoed, the output is kept for the caller."""
        return self.run(["mlops", *args], [sys.executable, "-m", "deploy", *args], echo_only=quiet)

    def git(self, *args: str, quiet: bool = False) -> Result:
        return self.run(["git", *args], ["git", *args], quiet=quiet)

    def python(self, *args: str) -> Result:
        return self.run(["python", *args], [sys.executable, *args])

    def run(self, shown: list[str], argv: list[str], quiet: bool = False, echo_only: bool = False) -> Result:
        if not quiet:
            self.console.print(f"$ {shlex.join(shown)}", style="bold", markup=False, highlight=False)
        quiet = quiet or echo_only
        began = time.monotonic()
        process = subprocess.Popen(
            argv, cwd=self.repo, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        lines = []
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if not quiet:
                self.console.print("    " + line.rstrip("\n"), markup=False, highlight=False)
        code = process.wait()
        return Result(code, "".join(lines), time.monotonic() - began)
