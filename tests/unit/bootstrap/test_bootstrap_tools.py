"""cfn-lint on the template, and the session lengths the workflows ask the roles for."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

WORKFLOWS = Path(__file__).resolve().parents[3] / ".github" / "workflows"


def cfn_lint() -> str:
    local = Path(sys.executable).parent / "cfn-lint"
    found = str(local) if local.exists() else shutil.which("cfn-lint")
    if not found:
        pytest.fail("cfn-lint is not installed: a dev extra, as pytest is (pip install -e '.[dev]')", pytrace=False)
    return found


def test_cfn_lint_passes(repo):
    result = subprocess.run(
        [cfn_lint(), "deploy/bootstrap/bootstrap.yaml"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def requested_durations(workflow: str) -> list[int]:
    doc = yaml.safe_load((WORKFLOWS / workflow).read_text())
    return [
        step["with"]["role-duration-seconds"]
        for job in doc["jobs"].values()
        for step in job["steps"]
        if step.get("uses", "").startswith("aws-actions/configure-aws-credentials@")
    ]


@pytest.mark.parametrize(
    ("workflow", "roles"),
    [
        ("deploy.yml", ["StagingDeployRole", "ProductionDeployRole"]),
        ("train.yml", ["TrainingRole"]),
        ("ci.yml", ["PlanRole"]),
        ("drift.yml", ["PlanRole"]),
        ("batch.yml", ["BatchRole"]),
        ("monitor.yml", ["MonitorRole"]),
    ],
)
def test_roles_allow_the_session_length_the_workflows_ask_for(resources, workflow, roles):
    durations = requested_durations(workflow)
    assert durations
    for role in roles:
        assert max(durations) <= resources[role]["Properties"]["MaxSessionDuration"], role
