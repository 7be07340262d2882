"""Staging before prod, checked on the model itself rather than on the workflow graph (control plane).

`needs: staging` in a workflow only proves that staging reconciled its own file. A hand edit
or a partial revert can pin in prod a version that never served in staging. So:

- after a smoke test passes on an endpoint whose live state matches git, `record_served`
  writes `served_<env>` (the commit) into the registry record of the model it serves;
- before prod deploys, `check_served` refuses a pin whose record lacks `served_<earlier env>`,
  unless an explicit override reason is given; the override is printed, written to the job
  summary and recorded on the model (`stage_override_<env>`), so it is never silent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from deploy.backends import Backend
from deploy.config.schema import EnvironmentConfig
from deploy.errors import DeployError, NotStaged, RegistryError
from deploy.registry import ModelVersion

SERVED = "served_{env}"
OVERRIDE = "stage_override_{env}"
MAX_REASON = 200
# What a SageMaker CustomerMetadataProperties value may hold; anything else becomes a space.
NOT_METADATA = re.compile(r"[^\w\s.:/=+\-@]")


@dataclass(frozen=True)
class StageCheck:
    model: ModelVersion
    message: str
    overridden: bool = False


def _pinned(backend: Backend, env: str, cfg: EnvironmentConfig) -> ModelVersion:
    if not cfg.model.pinned:
        raise DeployError(f"config/{env}.yaml:model: no model is pinned")
    group = backend.pipeline.registry.model_package_group
    try:
        return backend.registry().get(group, cfg.model.version)  # type: ignore[arg-type]
    except RegistryError as exc:
        raise DeployError(f"config/{env}.yaml:model.version: {exc.message}") from None


def record_served(backend: Backend, env: str, cfg: EnvironmentConfig, commit: str) -> ModelVersion:
    """Mark the pinned model as having served in `env` (status and reason unchanged)."""
    model = _pinned(backend, env, cfg)
    return backend.registry().update_status(
        model.group, model.version, model.status, reason=model.status_reason, metadata={SERVED.format(env=env): commit}
    )


def check_served(
    backend: Backend, env: str, cfg: EnvironmentConfig, earlier: str, override: str | None = None
) -> StageCheck:
    """The pin of `env` must have served in `earlier`; `override` (a reason) lets it through, on record."""
    model = _pinned(backend, env, cfg)
    served = model.metadata.get(SERVED.format(env=earlier))
    if served:
        return StageCheck(model, f"{model.label} served in {earlier} (commit {served[:12]})")
    if override and override.strip():
        reason = " ".join(NOT_METADATA.sub(" ", override).split())[:MAX_REASON]
        backend.registry().update_status(
            model.group,
            model.version,
            model.status,
            reason=model.status_reason,
            metadata={OVERRIDE.format(env=env): reason},
        )
        return StageCheck(model, f"{model.label} has not served in {earlier}; deploying anyway: {reason}", True)
    raise NotStaged(
        f"config/{env}.yaml:model.version pins {model.label}, which has not served in {earlier} (no passing "
        f"`mlops smoke --env {earlier} --record` on it in the registry); deploy it to {earlier} first, or give "
        "an override reason"
    )
