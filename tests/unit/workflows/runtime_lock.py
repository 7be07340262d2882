"""Reading and checking the hashed runtime lock against pyproject.toml (test side only).

`.github/requirements/runtime.txt` is what every job holding cloud credentials installs
(`pip install --require-hashes`). It is compiled by uv from pyproject.toml's
`[project.dependencies]` plus the build backend (`build.in`); these checks say whether it
still matches them, so a change to pyproject.toml without a new lock fails the tests.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ENTRY = re.compile(r"^(?P<name>[A-Za-z0-9._-]+)==(?P<version>\S+)")
HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}")
ROOTS = ("sagemaker-gitops (pyproject.toml)", "-r .github/requirements/build.in")


@dataclass
class Pin:
    version: str
    hashes: int = 0
    via: list[str] = field(default_factory=list)


def parse_lock(text: str) -> dict[str, Pin]:
    pins: dict[str, Pin] = {}
    current: Pin | None = None
    for line in text.splitlines():
        if match := ENTRY.match(line):
            current = pins[canonicalize_name(match["name"])] = Pin(match["version"])
        if current is None:
            continue
        current.hashes += len(HASH.findall(line))
        via = line.strip().removeprefix("#").strip()
        if line.startswith("    #") and via and via != "via":
            current.via.append(via.removeprefix("via ").strip())
    return pins


def requirements(repo: Path) -> tuple[list[Requirement], list[Requirement]]:
    """(runtime dependencies, build-system requirements) of pyproject.toml."""
    project = tomllib.loads((repo / "pyproject.toml").read_text(encoding="utf-8"))
    runtime = [Requirement(r) for r in project["project"]["dependencies"]]
    return runtime, [Requirement(r) for r in project["build-system"]["requires"]]


def lock_problems(repo: Path, text: str) -> list[str]:
    pins = parse_lock(text)
    runtime, build = requirements(repo)
    problems = []
    for req in [*runtime, *build]:
        pin = pins.get(canonicalize_name(req.name))
        if pin is None:
            problems.append(f"{req}: not in the lock")
        elif not req.specifier.contains(pin.version, prereleases=True):
            problems.append(f"{req}: the lock pins {pin.version}")
    for name, pin in pins.items():
        if pin.hashes == 0:
            problems.append(f"{name}=={pin.version}: no --hash")
        reachable = any(v in ROOTS or canonicalize_name(v) in pins for v in pin.via)
        if not reachable:
            problems.append(f"{name}=={pin.version}: nothing in pyproject.toml needs it (via {pin.via})")
    return problems


def build_in(repo: Path) -> list[Requirement]:
    lines = (repo / ".github" / "requirements" / "build.in").read_text(encoding="utf-8").splitlines()
    return [Requirement(line) for line in lines if line.strip() and not line.startswith("#")]
