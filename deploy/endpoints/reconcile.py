"""`mlops deploy`: make one environment's endpoint match git (control plane).

Written once against the backend interfaces. It refuses a pin the registry does not hold
or whose artifact bytes differ from the sha256 in git, does nothing when the live state
already matches, lets the adapter carry out the policy, and after a deploy of an
environment with `approve_on_deploy` marks the model Approved with its audit trail.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from deploy.backends import Backend
from deploy.config.schema import EnvironmentConfig
from deploy.endpoints import DeployOutcome, DeployReporter, DesiredState, LiveState
from deploy.endpoints.lock import deploy_lock
from deploy.endpoints.plan import Change, diff
from deploy.errors import DeployError, MlopsError, RegistryError
from deploy.lineage import git_commit, run_url
from deploy.registry import ModelVersion


@dataclass
class DeployReport:
    env: str
    endpoint: str
    changes: list[Change]
    live_before: LiveState | None
    outcome: DeployOutcome | None = None
    approved: bool = False

    @property
    def noop(self) -> bool:
        return not self.changes


def resolve_pinned_model(
    backend: Backend, env: str, cfg: EnvironmentConfig, *, action: str = "deploy", error: type[MlopsError] = DeployError
) -> ModelVersion:
    """The registry's record of the pin, after checking the artifact's bytes against git, before `action`."""
    where = f"config/{env}.yaml:model"
    if not cfg.model.pinned:
        raise error(f"{where}: no model is pinned yet; `mlops promote` pins one")
    group = backend.pipeline.registry.model_package_group
    registry = backend.registry()
    try:
        model = registry.get(group, cfg.model.version)  # type: ignore[arg-type]
    except RegistryError as exc:
        raise error(f"{where}.version: refusing to {action}: {exc.message}") from None
    if model.sha256 != cfg.model.sha256:
        raise error(
            f"{where}.sha256: refusing to {action} {model.label}: git pins {cfg.model.sha256[:12]}…, "
            f"the registry records {model.sha256[:12]}…"
        )
    actual = registry.artifact_sha256(model)
    if actual != cfg.model.sha256:
        raise error(
            f"{where}.sha256: refusing to {action} {model.label}: its model.tar.gz hashes to {actual[:12]}…, "
            f"git pins {cfg.model.sha256[:12]}…"
        )
    return model


def deploy_environment(
    backend: Backend,
    env: str,
    cfg: EnvironmentConfig,
    reporter: DeployReporter,
    *,
    lock_wait_seconds: float = 0,
) -> DeployReport:
    model = resolve_pinned_model(backend, env, cfg)
    endpoints = backend.endpoints()
    lock_path = backend.workspace.state / "locks" / f"deploy-{env}.lock"
    with deploy_lock(lock_path, env, lock_wait_seconds):
        live = endpoints.describe(env, cfg)
        report = DeployReport(env, cfg.endpoint.name, diff(cfg, live), live)
        if report.noop:
            reporter.event(f"{env}: live endpoint already matches git ({model.label}); nothing to do")
            return report
        desired = DesiredState(env, cfg, model, git_commit(backend.workspace.root))
        report.outcome = endpoints.deploy(desired, live, reporter)
    if cfg.approve_on_deploy:
        _approve(backend, model, env, desired.commit)
        report.approved = True
    return report


def _approve(backend: Backend, model: ModelVersion, env: str, commit: str) -> None:
    metadata = {"deployed_env": env, "deployed_commit": commit}
    if run_url():
        metadata["deployed_run_url"] = run_url() or ""
    if os.environ.get("MLOPS_PULL_REQUEST"):
        metadata["deployed_pull_request"] = os.environ["MLOPS_PULL_REQUEST"]
    try:
        backend.registry().update_status(
            model.group, model.version, "Approved", reason=f"serving in {env} from {commit[:12]}", metadata=metadata
        )
    except RegistryError as exc:
        # The endpoint is serving; a failed audit write must be loud but must not undo the deploy.
        raise DeployError(f"deployed, but recording the approval failed: {exc.message}") from None
