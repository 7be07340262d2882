"""The stack's outputs are what scripts/bootstrap.sh reads, and its variables are what the workflows read."""

import re
import subprocess
from pathlib import Path

import pytest

from deploy.bootstrap.template import Target, load, outputs

WORKFLOWS = Path(__file__).resolve().parents[3] / ".github" / "workflows"
# Set by the adopter, not by the stack (the promotion GitHub App, see the README).
NOT_FROM_THE_STACK = {"PROMOTION_APP_CLIENT_ID"}


def dry_run(repo: Path) -> str:
    args = ["--github-owner", "acme", "--github-repo", "churn", "--region", "eu-west-1", "--project-name", "demo"]
    return subprocess.run(
        ["bash", "scripts/bootstrap.sh", "--dry-run", *args, "--github-repository-id", "42"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout


def test_every_output_bootstrap_sh_reads_exists(repo):
    read = set(re.findall(r"outputs\[(\w+)\]", (repo / "scripts" / "bootstrap.sh").read_text()))
    assert read, "bootstrap.sh reads no outputs"
    missing = read - set(load()["Outputs"])
    assert not missing, f"scripts/bootstrap.sh reads outputs the template does not have: {sorted(missing)}"


def test_the_dry_run_shows_the_values_the_stack_will_output(repo):
    """The dry run's role ARNs, bucket and group are the template's outputs for that project and region."""
    target = Target(
        account="ACCOUNT_ID",
        region="eu-west-1",
        parameters={"GitHubOwner": "acme", "GitHubRepo": "churn", "GitHubRepositoryId": "42", "ProjectName": "demo"},
    )
    resolved = outputs(load(), target)
    out = dry_run(repo)
    for key in (
        "StagingDeployRoleArn",
        "ProductionDeployRoleArn",
        "TrainingRoleArn",
        "PlanRoleArn",
        "BatchRoleArn",
        "MonitorRoleArn",
        "SageMakerExecutionRoleArn",
        "ArtifactsBucketName",
        "AlertsTopicArn",
    ):
        assert f"--body {resolved[key]}" in out, key
    assert f"model_package_group: {resolved['ModelPackageGroupName']}" in out


def workflow_variables() -> dict[str, set[str]]:
    """Variable name → the workflow files that read `vars.<name>`."""
    found: dict[str, set[str]] = {}
    for path in WORKFLOWS.glob("*.yml"):
        for name in re.findall(r"vars\.(\w+)", path.read_text()):
            found.setdefault(name, set()).add(path.name)
    return found


@pytest.mark.parametrize("variable", sorted(workflow_variables()))
def test_each_variable_the_workflows_read_is_set_by_bootstrap(repo, variable):
    if variable in NOT_FROM_THE_STACK:
        return
    assert f"gh variable set {variable} " in dry_run(repo), (
        f"{sorted(workflow_variables()[variable])} read vars.{variable}, which scripts/bootstrap.sh never sets"
    )


def test_each_variable_bootstrap_sets_is_read_by_a_workflow(repo):
    set_by_script = set(re.findall(r"gh variable set (\w+) ", dry_run(repo)))
    unread = set_by_script - set(workflow_variables())
    assert not unread, f"scripts/bootstrap.sh sets variables no workflow reads: {sorted(unread)}"
