"""A live state that serves exactly what a config says: what a successful deploy leaves (test support)."""

from __future__ import annotations

from typing import Any

from deploy.config.schema import EnvironmentConfig
from deploy.endpoints import LiveState
from deploy.endpoints.plan import desired_fields


def matching_live_state(cfg: EnvironmentConfig, status: str = "InService", **extra: Any) -> LiveState:
    """The live state of an endpoint that serves exactly what `cfg` says (what a deploy leaves)."""
    f = desired_fields(cfg)
    return LiveState(
        endpoint_name=cfg.endpoint.name, status=status, model_version=f["model.version"],
        model_sha256=f["model.sha256"], package_arn=cfg.model.package_arn,
        instance_type=f["endpoint.instance_type"], instance_count=f["endpoint.instance_count"],
        serverless=f["endpoint.serverless"],
        data_capture=f["endpoint.data_capture"], autoscaling=f["endpoint.autoscaling"],
        deployment=f["deployment"], alarms=f["alarms"], monitoring_alarms=f["monitoring.alarms"],
        dashboard=f["monitoring.dashboard"], **extra,
    )  # fmt: skip
