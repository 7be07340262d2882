"""The shipped code imports only what `[project.dependencies]` declares (checked by deptry).

A newcomer's `scripts/demo.sh` installs the runtime dependencies alone; an import that only a dev
extra, or only another package's dependencies, brings in works in every dev venv and fails there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
DEPTRY = [sys.executable, "-m", "deptry", "."]


def _copy_project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    for package in ("ml", "deploy"):
        shutil.copytree(REPO / package, root / package, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def _deptry(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run(DEPTRY, cwd=root, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_the_shipped_code_imports_only_declared_distributions() -> None:
    result = _deptry(REPO)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("package", "module", "rule"),
    [
        ("deploy", "pytest", "DEP004"),  # a dev extra imported by the control plane
        ("ml", "dateutil", "DEP003"),  # python-dateutil: only a transitive dependency (of pandas)
    ],
)
def test_an_undeclared_import_fails_the_check(tmp_path: Path, package: str, module: str, rule: str) -> None:
    root = _copy_project(tmp_path)
    (root / package / "sneaky.py").write_text(f'"""An import the runtime does not declare."""\n\nimport {module}\n')
    result = _deptry(root)
    assert result.returncode != 0
    assert rule in result.stdout + result.stderr
    assert f"{package}/sneaky.py" in result.stdout + result.stderr
