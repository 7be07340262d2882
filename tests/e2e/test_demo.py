"""`mlops demo`, the README's first command, run whole: three rounds of the GitOps loop in a scratch repository."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_demo_runs_the_whole_loop(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "deploy", "demo", "--workdir", str(tmp_path / "demo")],
        cwd=REPO, env={k: v for k, v in os.environ.items() if k != "MLOPS_ROOT"},
        capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    for line in ("every expected outcome happened", "canary 10%", "ROLLED BACK", "churn-prod-5xx",
                 "prod (churn-prod): no changes", "Merge pull request: promote/churn-classifier"):  # fmt: skip
        assert line in output
    assert output.count("## Promote `churn-classifier`") == 1  # the PR body is shown once (round 2), not per round
    assert "the pull request body is in .mlops/promotion/churn-classifier-v1.md" in output
    assert done.stdout.strip().splitlines()[-1].startswith("demo finished in ")  # not a raw JSON line
    assert not (tmp_path / "demo").exists()  # cleaned up without --keep
