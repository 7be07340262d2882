"""monitor.yml: daily and by hand from main, drift (exit 18) told from errors, GitHub writes without AWS."""

import re
import subprocess
from pathlib import Path

import pytest
import workflow_gates as gates

WORKFLOWS = Path(__file__).resolve().parents[3] / ".github" / "workflows"
WORKFLOW = WORKFLOWS / "monitor.yml"
CREDENTIALS = "aws-actions/configure-aws-credentials@"
MAIN = "github.ref == 'refs/heads/main'"


def load() -> dict:
    return gates.load_yaml(WORKFLOW)


def step(job: dict, name: str) -> dict:
    (found,) = [s for s in job["steps"] if s.get("name", "").startswith(name)]
    return found


def test_monitor_runs_daily_and_by_hand_with_typed_inputs():
    triggers = load()["on"]
    assert set(triggers) == {"schedule", "workflow_dispatch"}
    assert len(triggers["schedule"]) == 1 and re.fullmatch(r"\d+ \d+ \* \* \*", triggers["schedule"][0]["cron"])
    inputs = triggers["workflow_dispatch"]["inputs"]
    assert {name: spec["type"] for name, spec in inputs.items()} == {"environment": "choice", "since": "string"}
    assert set(inputs["environment"]["options"]) == {"all", "staging", "prod"}


def test_every_job_that_acts_runs_from_main_only():
    jobs = load()["jobs"]
    for job_id in ("monitor", "issue", "retrain"):
        assert MAIN in jobs[job_id]["if"], job_id
    # Until bootstrap has set the variables, only the notice runs.
    for variable in ("AWS_MONITOR_ROLE_ARN", "AWS_REGION", "SAGEMAKER_ROLE_ARN", "MLOPS_BUCKET"):
        assert f"vars.{variable} == ''" in jobs["bootstrap"]["if"]
        assert f"vars.{variable} != ''" in jobs["monitor"]["if"]
    assert jobs["bootstrap"]["permissions"] == {}


def test_only_the_monitor_job_holds_aws_credentials_and_it_writes_nothing_to_github():
    jobs = load()["jobs"]
    monitor = jobs["monitor"]
    assert monitor["permissions"] == {"contents": "read", "id-token": "write"}
    (credentials,) = [s for s in monitor["steps"] if s.get("uses", "").startswith(CREDENTIALS)]
    assert credentials["with"]["role-to-assume"] == "${{ vars.AWS_MONITOR_ROLE_ARN }}"
    assert monitor["strategy"]["matrix"]["env"] == ["staging", "prod"]
    assert jobs["issue"]["permissions"] == {"contents": "read", "issues": "write"}
    assert jobs["retrain"]["permissions"] == {"contents": "read", "actions": "write"}
    for job_id in ("issue", "retrain"):
        assert not any(s.get("uses", "").startswith(CREDENTIALS) for s in jobs[job_id]["steps"]), job_id
        assert "AWS" not in str(jobs[job_id]), job_id


def run_step(script: str, mlops_exit: int, tmp_path: Path) -> int:
    """The step's script under bash -e (as the runner runs it), with an `mlops` that exits `mlops_exit`."""
    stand_in = tmp_path / "mlops"
    stand_in.write_text(f"#!/bin/sh\nexit {mlops_exit}\n")
    stand_in.chmod(0o755)
    env = {"PATH": f"{tmp_path}:/usr/bin:/bin", "MONITOR_ENV": "prod", "SINCE": "", "RUNNER_TEMP": str(tmp_path)}
    return subprocess.run(["bash", "-e", "-c", script], env=env, timeout=30, check=False).returncode


@pytest.mark.parametrize(("mlops_exit", "step_fails"), [(0, False), (18, False), (3, True), (4, True), (6, True)])
def test_drift_passes_the_step_and_every_other_failure_fails_it(mlops_exit: int, step_fails: bool, tmp_path: Path):
    monitor = step(load()["jobs"]["monitor"], "Monitor")
    assert "--backend sagemaker" in monitor["run"] and "--format markdown" in monitor["run"]
    assert (run_step(monitor["run"], mlops_exit, tmp_path) != 0) is step_fails


def test_the_report_goes_to_the_issue_only_on_drift():
    jobs = load()["jobs"]
    upload = step(jobs["monitor"], "Hand the report")
    assert upload["if"] == "steps.monitor.outputs.drift == 'true'"
    assert upload["with"]["name"] == "monitor-${{ matrix.env }}-${{ steps.monitor.outputs.on-drift }}"
    issue = jobs["issue"]
    assert issue["needs"] == "monitor" and issue["strategy"]["matrix"]["env"] == ["staging", "prod"]
    download = next(s for s in issue["steps"] if s.get("uses", "").startswith("actions/download-artifact@"))
    assert download["with"]["pattern"] == "monitor-${{ matrix.env }}-*"
    report = step(issue, "Open or update")
    assert report["run"].startswith("mlops issue report ") and "--body-file monitor-report/report.md" in report["run"]
    assert report["env"]["GITHUB_TOKEN"] == "${{ github.token }}"


def test_train_is_dispatched_only_where_on_drift_is_retrain():
    retrain = load()["jobs"]["retrain"]
    download = next(s for s in retrain["steps"] if s.get("uses", "").startswith("actions/download-artifact@"))
    assert download["with"]["pattern"] == "monitor-*-retrain"
    dispatch = step(retrain, "Dispatch train.yml")
    assert dispatch["if"] == "hashFiles('retrain/**/report.md') != ''"
    assert "/actions/workflows/train.yml/dispatches" in dispatch["run"]


def test_actions_are_pinned_to_the_shas_the_other_workflows_use():
    others = {
        s["uses"].split("@")[0]: s["uses"]
        for path in WORKFLOWS.glob("*.yml")
        if path != WORKFLOW
        for job in gates.load_yaml(path)["jobs"].values()
        for s in job.get("steps", [])
        if "uses" in s and not s["uses"].startswith("./")
    }
    used = [s["uses"] for job in load()["jobs"].values() for s in job.get("steps", []) if "uses" in s]
    for uses in used:
        if not uses.startswith("./"):
            assert others[uses.split("@")[0]] == uses
