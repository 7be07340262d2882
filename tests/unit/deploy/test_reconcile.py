"""`mlops deploy` command code: pin checks, no-op reconcile, lock, approval after deploy.

The endpoint adapter here is a recording stand-in; the real adapters have their own tests.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.config import load_environment, load_pipeline
from deploy.endpoints import DeployOutcome, EndpointBackend, Invocation, LiveState
from deploy.endpoints.lock import deploy_lock
from deploy.endpoints.reconcile import deploy_environment
from deploy.errors import DeployError
from deploy.local.backend import LocalBackend
from deploy.workspace import Workspace
from tests.unit.deploy.live_state import matching_live_state


class RecordingEndpoints(EndpointBackend):
    def __init__(self) -> None:
        self.live: LiveState | None = None
        self.deploys: list[int] = []

    def describe(self, env, cfg):
        return self.live

    def deploy(self, desired, live, reporter):
        self.deploys.append(desired.model.version)
        self.live = matching_live_state(desired.config)
        return DeployOutcome(summary=f"serving v{desired.model.version}")

    def invoke(self, env, cfg, body, content_type, accept="application/json", inference_id=None):
        return Invocation(200, b"{}", "application/json", 1.0)

    def teardown(self, env, cfg, *, dry_run):
        return []


class Reporter:
    def __init__(self) -> None:
        self.events: list[str] = []

    def event(self, message: str) -> None:
        self.events.append(message)

    def traffic(self, snapshot) -> None:
        pass


@pytest.fixture
def backend(repo_copy: Path):
    ws = Workspace(repo_copy)
    endpoints = RecordingEndpoints()

    class Backend(LocalBackend):
        def endpoints(self):
            return endpoints

    return Backend(ws, load_pipeline(ws.config_dir))


def registered(backend, tmp_path: Path, content: bytes = b"model"):
    path = tmp_path / "model.tar.gz"
    path.write_bytes(content)
    registry = backend.registry()
    uri, digest = registry.store_artifact(path)
    return registry.register("churn-classifier", artifact_uri=uri, sha256=digest, evaluation={}, lineage={})


def pin(env_cfg, version: int, sha: str):
    return env_cfg.model_copy(update={"model": env_cfg.model.model_copy(update={"version": version, "sha256": sha})})


def test_unpinned_environment_refuses(backend, repo_copy: Path) -> None:
    cfg = load_environment(repo_copy / "config", "prod")
    with pytest.raises(DeployError, match="no model is pinned yet"):
        deploy_environment(backend, "prod", cfg, Reporter())


def test_missing_package_refuses(backend, repo_copy: Path) -> None:
    cfg = pin(load_environment(repo_copy / "config", "prod"), 4, "c" * 64)
    with pytest.raises(DeployError, match=r"model.version: refusing to deploy: model 'churn-classifier' version 4"):
        deploy_environment(backend, "prod", cfg, Reporter())


def test_sha_mismatch_with_registry_refuses(backend, repo_copy: Path, tmp_path: Path) -> None:
    mv = registered(backend, tmp_path)
    cfg = pin(load_environment(repo_copy / "config", "prod"), mv.version, "d" * 64)
    with pytest.raises(DeployError, match=r"sha256: refusing to deploy .* git pins dddddddddddd"):
        deploy_environment(backend, "prod", cfg, Reporter())


def test_changed_artifact_bytes_refuse(backend, repo_copy: Path, tmp_path: Path) -> None:
    mv = registered(backend, tmp_path)
    Path(mv.artifact_uri.removeprefix("file://")).write_bytes(b"tampered")
    cfg = pin(load_environment(repo_copy / "config", "prod"), mv.version, mv.sha256)
    with pytest.raises(DeployError, match=r"its model\.tar\.gz hashes to"):
        deploy_environment(backend, "prod", cfg, Reporter())


def test_deploy_then_same_state_is_a_noop_and_prod_approves(backend, repo_copy: Path, tmp_path: Path) -> None:
    mv = registered(backend, tmp_path)
    cfg = pin(load_environment(repo_copy / "config", "prod"), mv.version, mv.sha256)
    first = deploy_environment(backend, "prod", cfg, Reporter())
    assert not first.noop and first.approved
    approved = backend.registry().get(mv.group, mv.version)
    assert approved.status == "Approved"
    assert approved.metadata["deployed_env"] == "prod"
    reporter = Reporter()
    second = deploy_environment(backend, "prod", cfg, reporter)
    assert second.noop and not second.approved
    assert backend.endpoints().deploys == [mv.version]
    assert "nothing to do" in reporter.events[0]


def test_staging_does_not_approve(backend, repo_copy: Path, tmp_path: Path) -> None:
    mv = registered(backend, tmp_path)
    cfg = pin(load_environment(repo_copy / "config", "staging"), mv.version, mv.sha256)
    deploy_environment(backend, "staging", cfg, Reporter())
    assert backend.registry().get(mv.group, mv.version).status == "PendingManualApproval"


def test_second_deploy_of_same_env_refuses_while_locked(backend, repo_copy: Path, tmp_path: Path) -> None:
    mv = registered(backend, tmp_path)
    cfg = pin(load_environment(repo_copy / "config", "prod"), mv.version, mv.sha256)
    lock = backend.workspace.state / "locks" / "deploy-prod.lock"
    with deploy_lock(lock, "prod", 0), pytest.raises(DeployError, match="another deploy of 'prod' is running"):
        deploy_environment(backend, "prod", cfg, Reporter(), lock_wait_seconds=0.3)
