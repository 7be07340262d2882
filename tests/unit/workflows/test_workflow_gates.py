"""The gates every workflow and the composite action must hold, on the real files."""

import re
from pathlib import Path

import pytest
import workflow_gates as gates

GITHUB = Path(__file__).resolve().parents[3] / ".github"
WORKFLOWS = gates.workflow_files(GITHUB)
ACTIONS = gates.action_files(GITHUB)


def ids(paths: list[Path]) -> list[str]:
    return [p.parent.name if p.name.startswith("action.") else p.name for p in paths]


def test_the_expected_files_exist():
    assert {p.name for p in WORKFLOWS} == {"ci.yml", "train.yml", "deploy.yml", "drift.yml", "batch.yml", "monitor.yml"}
    assert [p.parent.name for p in ACTIONS] == ["setup"]


def test_all_gates_hold_on_the_real_files(github_dir):
    assert gates.check_github_dir(github_dir) == []


@pytest.mark.parametrize("path", WORKFLOWS + ACTIONS, ids=ids(WORKFLOWS + ACTIONS))
def test_every_uses_is_pinned_to_a_commit_sha_with_its_version(path):
    assert gates.unpinned_uses(gates.load_yaml(path)) == []
    assert gates.missing_version_comments(path.read_text()) == []


@pytest.mark.parametrize("path", WORKFLOWS, ids=ids(WORKFLOWS))
def test_top_level_permissions_are_empty(path):
    assert gates.load_yaml(path)["permissions"] == {}


@pytest.mark.parametrize("path", WORKFLOWS, ids=ids(WORKFLOWS))
def test_each_job_declares_minimal_grants_with_a_reason(path):
    assert gates.job_permissions(gates.load_yaml(path)) == []
    # Each grant line says why (a trailing comment).
    grant = re.compile(r"^\s+(contents|id-token|pull-requests|actions|checks): (read|write)")
    for line in path.read_text().splitlines():
        if grant.match(line):
            assert " # " in line, f"grant without a reason: {line.strip()}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=ids(WORKFLOWS))
def test_every_job_has_a_timeout(path):
    assert gates.missing_timeouts(gates.load_yaml(path)) == []


@pytest.mark.parametrize("path", WORKFLOWS, ids=ids(WORKFLOWS))
def test_every_workflow_has_concurrency(path):
    assert gates.missing_concurrency(gates.load_yaml(path)) == []


@pytest.mark.parametrize("path", WORKFLOWS + ACTIONS, ids=ids(WORKFLOWS + ACTIONS))
def test_checkouts_do_not_persist_credentials(path):
    doc = gates.load_yaml(path)
    assert gates.persisted_credentials(doc) == []


def test_there_is_a_checkout_in_every_job_that_runs_code():
    for path in WORKFLOWS:
        for job_id, job in gates.load_yaml(path)["jobs"].items():
            # ci-ok reads results, the bootstrap jobs print a notice: neither reads the code.
            if any("run" in s for s in job["steps"]) and job_id not in ("ci-ok", "bootstrap"):
                assert any(s.get("uses", "").startswith("actions/checkout@") for s in job["steps"]), job_id


@pytest.mark.parametrize("path", WORKFLOWS, ids=ids(WORKFLOWS))
def test_no_dangerous_triggers(path):
    assert gates.forbidden_triggers(gates.load_yaml(path)) == []
    assert "pull_request_target" not in path.read_text()


@pytest.mark.parametrize("path", WORKFLOWS + ACTIONS, ids=ids(WORKFLOWS + ACTIONS))
def test_no_expressions_inside_run(path):
    doc = gates.load_yaml(path)
    assert gates.expressions_in_run(doc) == []
    for _, step in gates.steps(doc):
        assert "${{ github.event" not in step.get("run", "")
        assert "${{ inputs." not in step.get("run", "")


@pytest.mark.parametrize("path", WORKFLOWS + ACTIONS, ids=ids(WORKFLOWS + ACTIONS))
def test_run_steps_only_call_the_cli_scripts_or_tools(path):
    assert gates.foreign_commands(gates.load_yaml(path)) == []


@pytest.mark.parametrize("path", WORKFLOWS, ids=ids(WORKFLOWS))
def test_aws_only_through_oidc(path):
    text = path.read_text()
    assert gates.static_aws_keys(text) == []
    for job_id, job in gates.load_yaml(path)["jobs"].items():
        for step in job["steps"]:
            if step.get("uses", "").startswith(gates.AWS_CREDENTIALS_ACTION):
                role = step["with"]["role-to-assume"]
                assert role.startswith("${{ vars.AWS_") and role.endswith("_ROLE_ARN }}"), job_id


def test_the_command_allowlist_reads_shell_lines():
    assert gates.command_name('mlops plan --env "$E" || test $? -eq 10') == "mlops"
    assert gates.command_name('IFS=, read -r -a xs <<< "$X"') == "read"
    assert gates.command_name('"$RUNNER_TEMP/actionlint" -color') == "actionlint"
    assert gates.command_name("if true; then rm -rf /; fi") == "if"
