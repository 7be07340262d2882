"""`scripts/bootstrap-venv.sh` writes its install stamp only after an install that works.

The venv's python and mlops are stand-ins here (the real install is what `.ci/run` does from a
clean clone); what is tested is the script's rule: no stamp unless `mlops --version` runs, so a
broken install is retried on the next run instead of being skipped.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def _checkout(tmp_path: Path, *, mlops_works: bool) -> Path:
    root = tmp_path / "checkout"
    (root / "scripts").mkdir(parents=True)
    (root / ".venv" / "bin").mkdir(parents=True)
    shutil.copy(REPO / "scripts" / "bootstrap-venv.sh", root / "scripts")
    shutil.copy(REPO / "pyproject.toml", root)
    pip = root / ".venv" / "bin" / "python"
    pip.write_text('#!/bin/sh\necho "pip $*"\n')  # every `python -m pip install …` succeeds
    mlops = root / ".venv" / "bin" / "mlops"
    mlops.write_text(
        "#!/bin/sh\necho 'mlops 0.1.0'\n"
        if mlops_works
        else "#!/bin/sh\necho \"No module named 'click'\" >&2\nexit 1\n"
    )
    for tool in (pip, mlops):
        tool.chmod(0o755)
    return root


def _ensure(root: Path) -> subprocess.CompletedProcess[str]:
    script = "source scripts/bootstrap-venv.sh && ensure_venv ''"
    env = {"PATH": "/usr/bin:/bin", "PYTHON": sys.executable}
    return subprocess.run(["bash", "-c", script], cwd=root, env=env, capture_output=True, text=True, check=False)


def _stamps(root: Path) -> list[Path]:
    return sorted((root / ".venv").glob(".installed-*"))


def test_an_install_whose_command_does_not_run_writes_no_stamp(tmp_path: Path) -> None:
    root = _checkout(tmp_path, mlops_works=False)
    first = _ensure(root)
    assert first.returncode == 1
    assert "installing the project failed" in first.stderr
    assert "No module named 'click'" in first.stderr  # the log's tail is shown
    assert _stamps(root) == []
    second = _ensure(root)  # tried again, not skipped
    assert second.returncode == 1
    assert "installing the project into .venv" in second.stderr


def test_a_working_install_is_stamped_and_skipped_next_time(tmp_path: Path) -> None:
    root = _checkout(tmp_path, mlops_works=True)
    assert _ensure(root).returncode == 0
    assert len(_stamps(root)) == 1
    again = _ensure(root)
    assert again.returncode == 0
    assert "installing" not in again.stderr


def test_a_changed_pyproject_reinstalls(tmp_path: Path) -> None:
    root = _checkout(tmp_path, mlops_works=True)
    assert _ensure(root).returncode == 0
    (root / "pyproject.toml").write_text((root / "pyproject.toml").read_text() + "\n# changed\n")
    again = _ensure(root)
    assert "installing the project into .venv" in again.stderr
    assert len(_stamps(root)) == 1  # the old stamp is gone
