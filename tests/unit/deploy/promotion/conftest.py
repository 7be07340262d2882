"""Fixtures of the promotion tests: a scratch repository root and its local registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.local.registry import SqliteRegistry
from tests.unit.deploy.promotion.sample import add_comments, local_registry, set_gate


@pytest.fixture
def root(repo_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """MLOPS_ROOT: a copy of config/ with a known gate and comment-laden model blocks."""
    set_gate(repo_copy)
    add_comments(repo_copy)
    for name in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "MLOPS_BACKEND"):
        monkeypatch.delenv(name, raising=False)
    # git in tests: no global or system config, a fixed identity.
    empty = tmp_path / "gitconfig"
    empty.write_text("", encoding="utf-8")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(empty))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "Test")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "test@example.com")
    return repo_copy


@pytest.fixture
def registry(root: Path) -> SqliteRegistry:
    return local_registry(root)
