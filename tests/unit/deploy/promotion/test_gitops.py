"""`mlops promote --branch`: one commit of the env files on promote/<group>, checkout untouched."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from deploy.cli.app import main
from deploy.config import validate_all
from deploy.local.registry import SqliteRegistry
from tests.unit.deploy.promotion.sample import env_files, evaluation, git, register


@pytest.fixture
def repo(root: Path, registry: SqliteRegistry, tmp_path: Path) -> Path:
    """A git repository at MLOPS_ROOT with config/ and ml/ committed on main, and one candidate registered."""
    git(root, "init", "-q", "-b", "main")
    (root / ".gitignore").write_text(".mlops/\n", encoding="utf-8")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "initial")
    register(registry, tmp_path, evaluation(0.80, 0.60, 0.80), "v1")
    return root


def test_branch_holds_one_commit_of_the_env_files(repo: Path, tmp_path: Path, capsys) -> None:
    before = env_files(repo)
    head = git(repo, "rev-parse", "HEAD")

    assert main(["promote", "--branch"]) == 0

    branch = "promote/churn-classifier"
    assert git(repo, "rev-list", "--count", f"{head}..{branch}") == "1"
    assert git(repo, "rev-parse", f"{branch}~1") == head
    assert git(repo, "diff", "--name-only", head, branch).splitlines() == ["config/prod.yaml", "config/staging.yaml"]
    assert git(repo, "log", "-1", "--format=%s", branch) == "Promote churn-classifier v1 (first promotion)"
    # The checkout is untouched: same branch, same files, clean index.
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD") == "main"
    assert env_files(repo) == before
    assert git(repo, "status", "--porcelain", "--untracked-files=no") == ""
    # The committed files pass the schema.
    checkout = tmp_path / "checkout"
    git(repo, "worktree", "add", "-q", str(checkout), branch)
    assert validate_all(checkout / "config").problems == []
    assert {c.model.version for c in validate_all(checkout / "config").environments.values()} == {1}
    assert "## Promote `churn-classifier` v1" in capsys.readouterr().out


def test_branch_output_and_merge(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    output = repo / ".mlops" / "gh-output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    assert main(["promote", "--branch"]) == 0
    lines = output.read_text(encoding="utf-8").splitlines()
    assert "branch=promote/churn-classifier" in lines
    assert f"commit={git(repo, 'rev-parse', 'promote/churn-classifier')}" in lines
    git(repo, "merge", "-q", "--ff-only", "promote/churn-classifier")
    assert {c.model.version for c in validate_all(repo / "config").environments.values()} == {1}


def test_staged_changes_are_refused(repo: Path, capsys) -> None:
    (repo / "notes.txt").write_text("wip\n", encoding="utf-8")
    git(repo, "add", "notes.txt")
    assert main(["promote", "--branch"]) == 3
    assert "staged changes (notes.txt)" in capsys.readouterr().err
    assert git(repo, "branch", "--list", "promote/*") == ""


def test_uncommitted_env_edits_are_refused(repo: Path, capsys) -> None:
    path = repo / "config" / "staging.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "# local note\n", encoding="utf-8")
    assert main(["promote", "--branch"]) == 3
    assert "uncommitted edits to config/staging.yaml" in capsys.readouterr().err


def test_a_newer_candidate_updates_the_one_promotion_branch_in_place(
    repo: Path, registry: SqliteRegistry, tmp_path: Path
) -> None:
    head = git(repo, "rev-parse", "HEAD")
    assert main(["promote", "--branch"]) == 0
    first = git(repo, "rev-parse", "promote/churn-classifier")
    register(registry, tmp_path, evaluation(0.85, 0.65, 0.85), "v2")

    assert main(["promote", "--branch"]) == 0

    # Still one branch for the group, one commit on top of main: v2's pins replaced v1's.
    assert git(repo, "branch", "--list", "promote/*").split() == ["promote/churn-classifier"]
    assert git(repo, "rev-list", "--count", f"{head}..promote/churn-classifier") == "1"
    assert git(repo, "rev-parse", "promote/churn-classifier") != first
    assert git(repo, "log", "-1", "--format=%s", "promote/churn-classifier").startswith("Promote churn-classifier v2")


def test_not_a_repository(root: Path, registry: SqliteRegistry, tmp_path: Path, capsys) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    register(registry, tmp_path, evaluation(0.80, 0.60, 0.80), "v1")
    # root lives under pytest's temporary folder, outside any repository
    assert main(["promote", "--branch"]) == 3
    assert f"{root}: not a git repository" in capsys.readouterr().err
