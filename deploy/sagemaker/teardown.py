"""Remove everything `mlops deploy` created for one environment on SageMaker (control plane).

Found, not assumed: the endpoint by name; endpoint configs and models by this tool's tags for
that endpoint (the same test as retention uses), so nothing another tool or a person made is
touched; the managed alarms (standing, per-deployment and monitoring) by their description
marker; the environment's dashboard; the variant's autoscaling target and policy. The model
packages in the registry and the pin in git stay: a later `mlops deploy` recreates the environment from them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from deploy.config.schema import EnvironmentConfig
from deploy.sagemaker.alarms import RollbackAlarms
from deploy.sagemaker.autoscaling import VariantScaling
from deploy.sagemaker.dashboard import Dashboard
from deploy.sagemaker.monitor_alarms import MonitorAlarms
from deploy.sagemaker.retention import Retention

ALARMS_PER_CALL = 100  # DeleteAlarms takes at most 100 names


@dataclass
class TeardownPlan:
    """What exists and would go, in deletion order (scaling, endpoint, configs, models, alarms, dashboard)."""

    scaling: str | None = None
    endpoint: str | None = None
    configs: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    alarms: list[str] = field(default_factory=list)
    dashboard: str | None = None

    def lines(self) -> list[str]:
        out = [f"autoscaling target {self.scaling}"] if self.scaling else []
        out += [f"endpoint {self.endpoint}"] if self.endpoint else []
        out += [f"endpoint config {name}" for name in self.configs]
        out += [f"model {name}" for name in self.models]
        out += [f"alarm {name}" for name in self.alarms]
        out += [f"dashboard {self.dashboard}"] if self.dashboard else []
        return out


class SageMakerTeardown:
    def __init__(self, session: Any, env: str, cfg: EnvironmentConfig) -> None:
        self.sagemaker = session.client("sagemaker")
        self.alarms = RollbackAlarms(session.client("cloudwatch"), env, cfg)
        self.monitor_alarms = MonitorAlarms(self.alarms.cloudwatch, env, cfg)
        self.dashboard = Dashboard(self.alarms.cloudwatch, cfg)
        self.scaling = VariantScaling(
            session.client("application-autoscaling"), cfg.endpoint.name, cfg.endpoint.variant_name
        )
        self.retention = Retention(self.sagemaker, cfg.endpoint.name, cfg.endpoint.keep_previous)
        self.endpoint = cfg.endpoint.name

    def plan(self) -> TeardownPlan:
        plan = TeardownPlan()
        if self.scaling.target() is not None:
            plan.scaling = self.scaling.resource
        try:
            self.sagemaker.describe_endpoint(EndpointName=self.endpoint)
            plan.endpoint = self.endpoint
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ValidationException":
                raise
        plan.configs = sorted(
            c["EndpointConfigName"]
            for c in self.retention.managed(
                "list_endpoint_configs", "EndpointConfigs", "EndpointConfigName", "EndpointConfigArn"
            )
        )
        plan.models = sorted(
            m["ModelName"] for m in self.retention.managed("list_models", "Models", "ModelName", "ModelArn")
        )
        managed = self.alarms.managed() + self.monitor_alarms.managed()
        plan.alarms = sorted(a["AlarmName"] for a in managed)
        plan.dashboard = self.dashboard.name if self.dashboard.live() is not None else None
        return plan

    def apply(self, plan: TeardownPlan) -> None:
        """Delete in an order that never leaves a live endpoint without its config or model."""
        if plan.scaling:
            self.scaling.deregister()
        if plan.endpoint:
            self.sagemaker.delete_endpoint(EndpointName=plan.endpoint)
        for name in plan.configs:
            self.sagemaker.delete_endpoint_config(EndpointConfigName=name)
        for name in plan.models:
            self.sagemaker.delete_model(ModelName=name)
        for start in range(0, len(plan.alarms), ALARMS_PER_CALL):
            self.alarms.cloudwatch.delete_alarms(AlarmNames=plan.alarms[start : start + ALARMS_PER_CALL])
        if plan.dashboard:
            self.dashboard.delete()
