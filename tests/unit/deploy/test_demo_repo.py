"""The demo's scratch copy starts from the template's desired state, whatever the checkout holds."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from deploy import demo_repo
from deploy.config import validate_all
from deploy.config.schema import ModelPin
from deploy.demo_repo import copy_state
from deploy.promotion.pins import plan_pins, write_pins
from tests.conftest import REPO

PIN = ModelPin(version=3, package_arn="local://churn-classifier/3", sha256="a" * 64)


def promoted_checkout(root: Path) -> None:
    """A checkout after one `mlops promote`: pins in every env file, a `.mlops/` state folder."""
    write_pins(plan_pins(root / "config", PIN))
    state = root / ".mlops" / "endpoints" / "prod"
    state.mkdir(parents=True)
    (state / "endpoint.json").write_text('{"pid": 1}', encoding="utf-8")
    (root / ".mlops" / "registry.sqlite").write_bytes(b"not a database")
    (root / ".gitignore").write_text((REPO / ".gitignore").read_text(encoding="utf-8"), encoding="utf-8")


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


@pytest.fixture(autouse=True)
def ports_free(monkeypatch: pytest.MonkeyPatch) -> None:
    """The template's ports count as free, whatever else (the demo's own test) holds them now."""
    monkeypatch.setattr(demo_repo, "port_free", lambda port: True)


@pytest.mark.parametrize("as_git", [True, False], ids=["git-checkout", "plain-folder"])
def test_scratch_copy_drops_the_pins_and_the_state(repo_copy: Path, tmp_path: Path, as_git: bool) -> None:
    promoted_checkout(repo_copy)
    if as_git:
        git(repo_copy, "init", "-q")
        git(repo_copy, "add", "-A")
        git(repo_copy, "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false", "commit", "-qm", "x")
    assert {cfg.model.version for cfg in validate_all(repo_copy / "config").environments.values()} == {3}
    target = tmp_path / "scratch"
    target.mkdir()

    notes = copy_state(repo_copy, target)

    for name in ("staging.yaml", "prod.yaml"):  # byte for byte the template's files
        assert (target / "config" / name).read_bytes() == (REPO / "config" / name).read_bytes()
    assert not (target / ".mlops").exists()
    assert any("cleared the model pins of prod.yaml, staging.yaml" in n for n in notes)
    assert (repo_copy / "config" / "prod.yaml").read_bytes() != (REPO / "config" / "prod.yaml").read_bytes()


def test_unpinned_checkout_is_copied_as_is(repo_copy: Path, tmp_path: Path) -> None:
    target = tmp_path / "scratch"
    target.mkdir()
    notes = copy_state(repo_copy, target)
    assert not any("cleared" in n for n in notes)
    assert (target / "config" / "prod.yaml").read_bytes() == (REPO / "config" / "prod.yaml").read_bytes()


def test_a_busy_port_is_moved_and_said(repo_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    busy = demo_repo.free_port()
    prod = repo_copy / "config" / "prod.yaml"
    prod.write_text(prod.read_text().replace("port: 8082", f"port: {busy}"))
    monkeypatch.setattr(demo_repo, "port_free", lambda port: port != busy)
    target = tmp_path / "scratch"
    target.mkdir()
    notes = copy_state(repo_copy, target)
    (note,) = [n for n in notes if "is busy here" in n]
    assert note.startswith(f"prod.yaml: local.port {busy} is busy here, the demo uses ")
    moved = int(note.rsplit(" ", 1)[1])
    assert moved != busy and f"port: {moved}" in (target / "config" / "prod.yaml").read_text()
    assert "port: 8081" in (target / "config" / "staging.yaml").read_text()
