"""`mlops deploy --require-current REF`: a run whose config is no longer main's does not deploy."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.cli.app import main
from deploy.errors import ConfigError, StaleConfig
from deploy.promotion.freshness import require_current
from tests.unit.deploy.promotion.sample import git


@pytest.fixture
def repo(root: Path) -> Path:
    git(root, "init", "-q", "-b", "main")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "initial")
    return root


def test_the_same_file_as_on_main_passes(repo: Path) -> None:
    assert require_current(repo, repo / "config" / "prod.yaml", "main") == "config/prod.yaml is the same as on main"


def test_an_old_run_behind_a_newer_main_is_refused(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = git(repo, "rev-parse", "HEAD")
    prod = repo / "config" / "prod.yaml"
    prod.write_text(prod.read_text(encoding="utf-8").replace("instance_count: 2", "instance_count: 3"))
    git(repo, "commit", "-qam", "Scale prod to three instances")
    # The old run's checkout: its commit, with main moved on.
    git(repo, "checkout", "-q", "--detach", old)
    with pytest.raises(StaleConfig, match=r"differs from main \(newer change there: \w+ Scale prod to three"):
        require_current(repo, prod, "main")
    assert main(["deploy", "--env", "prod", "--require-current", "main"]) == 13
    err = capsys.readouterr().err
    assert "not deploying older desired state over newer" in err and "Traceback" not in err
    # Staging did not change on main: its old run may still go on.
    assert require_current(repo, repo / "config" / "staging.yaml", "main").endswith("same as on main")


def test_a_local_edit_is_not_main_either(repo: Path) -> None:
    staging = repo / "config" / "staging.yaml"
    staging.write_text(staging.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    with pytest.raises(StaleConfig):
        require_current(repo, staging, "main")


def test_an_unknown_ref_says_how_to_fetch_it(repo: Path) -> None:
    with pytest.raises(ConfigError, match=r"origin/main: no such commit .* fetch-depth: 0"):
        require_current(repo, repo / "config" / "prod.yaml", "origin/main")
