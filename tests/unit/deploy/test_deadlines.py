"""`mlops config validate` fails when a workflow job cannot outlast what config/ allows."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from deploy.cli.app import main
from deploy.config.deadlines import deadline_problems, job_limits
from deploy.config.loader import validate_all

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def repo(repo_copy: Path) -> Path:
    shutil.copytree(REPO / ".github" / "workflows", repo_copy / ".github" / "workflows")
    return repo_copy


def set_line(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_the_shipped_workflows_fit_the_shipped_config(repo: Path) -> None:
    result = validate_all(repo / "config")
    assert deadline_problems(repo / ".github" / "workflows", result.pipeline, result.environments) == []
    limits = {(lim.workflow, lim.job): lim for lim in job_limits(repo / ".github" / "workflows")}
    prod = limits[(".github/workflows/deploy.yml", "prod")]
    assert (prod.timeout_seconds, prod.session_seconds) == (7200, 7200)


def test_a_bake_longer_than_the_job_fails_validate(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Linear 10 % steps of 10 minutes: valid for SageMaker (≤ 28800 s), too long for a 2 h job.
    prod = repo / "config" / "prod.yaml"
    set_line(prod, "strategy: canary", "strategy: linear\n  linear_step_percent: 10")
    set_line(prod, "wait_seconds: 300", "wait_seconds: 600")
    set_line(prod, "max_execution_timeout_seconds: 1800", "max_execution_timeout_seconds: 7200")
    assert main(["config", "validate", "--config-dir", str(repo / "config")]) == 3
    out = capsys.readouterr().out.splitlines()
    needed = 7200 + 120 + 900 + 600  # execution timeout, termination wait, follow margin, setup
    assert out == [
        f"config/prod.yaml:deployment.max_execution_timeout_seconds: the deployment and setup may take {needed} s, "
        f"longer than .github/workflows/deploy.yml jobs.prod {name} allows (7200 s); raise {name} or shorten the config"
        for name in ("timeout-minutes", "role-duration-seconds")
    ]


def test_a_short_role_session_alone_fails_validate(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    set_line(
        repo / ".github" / "workflows" / "train.yml", "role-duration-seconds: 14400", "role-duration-seconds: 3600"
    )
    assert main(["config", "validate", "--config-dir", str(repo / "config")]) == 3
    (line,) = capsys.readouterr().out.splitlines()
    assert line.startswith("config/pipeline.yaml:sagemaker.training: training, processing and setup may take 11400 s")
    assert "jobs.train role-duration-seconds allows (3600 s)" in line


def test_spot_counts_its_wait(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    set_line(repo / "config" / "pipeline.yaml", "spot: false", "spot: true\n    max_wait_seconds: 14400")
    assert main(["config", "validate", "--config-dir", str(repo / "config")]) == 3
    assert "may take 22200 s" in capsys.readouterr().out


def test_without_workflows_only_the_config_is_checked(repo_copy: Path) -> None:
    assert main(["config", "validate", "--config-dir", str(repo_copy / "config")]) == 0


@pytest.mark.parametrize(
    "content",
    [b"name: \xff\xfe\n", b"jobs: " + b"[" * 2000 + b"]" * 2000 + b"\n", b"- a list\n", b"jobs: [1, 2]\n",
     b"jobs:\n  build: 3\n  test:\n    steps: [x]\n", b"jobs: [\n"],
    ids=["not-utf8", "nested-too-deeply", "a-list", "jobs-a-list", "odd-jobs-and-steps", "invalid-yaml"],
)  # fmt: skip
def test_a_workflow_file_it_cannot_read_is_left_to_the_schema_check(repo: Path, content: bytes, capsys) -> None:
    (repo / ".github" / "workflows" / "broken.yml").write_bytes(content)
    assert {lim.workflow for lim in job_limits(repo / ".github" / "workflows")} >= {".github/workflows/deploy.yml"}
    assert main(["config", "validate", "--config-dir", str(repo / "config")]) == 0
    assert "Traceback" not in capsys.readouterr().err
