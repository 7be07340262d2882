"""The real linters, offline, on the real files: the same commands ci.yml runs."""

import pytest
import workflow_gates as gates


def run(name: str, *args: str, cwd):
    if gates.tool(name) is None:
        pytest.fail(f"{name} is not installed: a dev extra, as pytest is (pip install -e '.[dev]')", pytrace=False)
    return gates.run_tool(name, *args, cwd=cwd)


def test_zizmor_finds_nothing(repo):
    result = run("zizmor", "--offline", "--no-progress", ".github", cwd=repo)
    assert result.returncode == 0, result.stdout + result.stderr


def test_workflows_match_the_github_schema(repo):
    files = [str(p.relative_to(repo)) for p in gates.workflow_files(repo / ".github")]
    result = run("check-jsonschema", "--builtin-schema", "vendor.github-workflows", *files, cwd=repo)
    assert result.returncode == 0, result.stdout + result.stderr


def test_composite_action_matches_the_github_schema(repo):
    files = [str(p.relative_to(repo)) for p in gates.action_files(repo / ".github")]
    result = run("check-jsonschema", "--builtin-schema", "vendor.github-actions", *files, cwd=repo)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dependabot_matches_its_schema(repo):
    result = run("check-jsonschema", "--builtin-schema", "vendor.dependabot", ".github/dependabot.yml", cwd=repo)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dependabot_covers_pip_and_actions_weekly_and_grouped(repo):
    doc = gates.load_yaml(repo / ".github" / "dependabot.yml")
    updates = {u["package-ecosystem"]: u for u in doc["updates"]}
    assert set(updates) == {"pip", "github-actions"}
    for update in updates.values():
        assert update["schedule"]["interval"] == "weekly"
        assert update["groups"]
    assert "/.github/actions/setup" in updates["github-actions"]["directories"]
    # The hashed runtime lock is updated too, not only pyproject.toml's ranges.
    assert updates["pip"]["directories"] == ["/", "/.github/requirements"]
