"""The environment's CloudWatch dashboard, built from config and compared as code (control plane).

`<endpoint>-mlops` charts the endpoint's invocations, 4xx/5xx errors and `ModelLatency`
p50/p99 per variant, instance CPU and memory (not on a serverless endpoint, which has no
instances), the monitor's metrics (drifted features, violations, each feature's drift score,
positive rate) and the states of the managed alarms. `mlops deploy` puts it when
`monitoring.dashboard` is on and deletes it when off; `mlops plan` compares the live body with
the one git would put, so a change of config or an edit by hand is a planned change;
`mlops teardown` removes it. Region, partition and account come from the endpoint's ARN, so
the body is the same wherever it is built.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from deploy.config.schema import EnvironmentConfig
from deploy.sagemaker.monitor_metrics import NAMESPACE as MONITOR

SAGEMAKER = "AWS/SageMaker"
INSTANCES = "/aws/sagemaker/Endpoints"  # CPU, memory and disk of the instances behind a variant
DIFFERS = "(differs from git)"


def _widget(title: str, metrics: list[list[Any]], region: str, stat: str, period: int, x: int, y: int) -> dict:
    return {
        "type": "metric", "x": x, "y": y, "width": 12, "height": 6,
        "properties": {"title": title, "region": region, "view": "timeSeries", "stat": stat, "period": period,
                       "metrics": metrics},
    }  # fmt: skip


def _alarm_arns(cfg: EnvironmentConfig, prefix: str) -> list[str]:
    names = [a.name for a in cfg.alarms] + [a.name for a in cfg.monitoring.alarms]
    return [f"{prefix}alarm:{name}" for name in names]


def body(cfg: EnvironmentConfig, endpoint_arn: str) -> dict[str, Any]:
    """The dashboard body git asks for, for the endpoint with this ARN."""
    partition, region, account = endpoint_arn.split(":")[1], endpoint_arn.split(":")[3], endpoint_arn.split(":")[4]
    endpoint, variant = cfg.endpoint.name, cfg.endpoint.variant_name
    dims = ["EndpointName", endpoint, "VariantName", variant]
    widgets = [
        _widget("Invocations", [[SAGEMAKER, "Invocations", *dims]], region, "Sum", 60, 0, 0),
        _widget(
            "4xx / 5xx errors",
            [[SAGEMAKER, "Invocation4XXErrors", *dims], [SAGEMAKER, "Invocation5XXErrors", *dims]],
            region, "Sum", 60, 12, 0,
        ),
        _widget(
            "ModelLatency p50 / p99 (µs)",
            [[SAGEMAKER, "ModelLatency", *dims, {"stat": "p50"}], [SAGEMAKER, "ModelLatency", *dims, {"stat": "p99"}]],
            region, "p99", 60, 0, 6,
        ),
    ]  # fmt: skip
    if cfg.endpoint.serverless is None:
        usage = [[INSTANCES, "CPUUtilization", *dims], [INSTANCES, "MemoryUtilization", *dims]]
        widgets.append(_widget("Instance CPU / memory (%)", usage, region, "Average", 60, 12, 6))
    monitor = ["EndpointName", endpoint]
    query = f'{{{MONITOR},EndpointName,Feature}} MetricName="DriftScore" EndpointName="{endpoint}"'
    search = f"SEARCH('{query}', 'Maximum', 3600)"
    widgets += [
        _widget(
            "Monitor: drifted features, violations",
            [[MONITOR, "DriftedFeatures", *monitor], [MONITOR, "Violations", *monitor]],
            region, "Maximum", 3600, 0, 12,
        ),
        _widget("Monitor: drift score per feature (1 = threshold)", [[{"expression": search, "id": "drift"}]],
                region, "Maximum", 3600, 12, 12),
        _widget("Monitor: positive rate", [[MONITOR, "PositiveRate", *monitor]], region, "Maximum", 3600, 0, 18),
    ]  # fmt: skip
    arns = _alarm_arns(cfg, f"arn:{partition}:cloudwatch:{region}:{account}:")
    if arns:
        widgets.append(
            {"type": "alarm", "x": 12, "y": 18, "width": 12, "height": 6,
             "properties": {"title": "Alarms", "alarms": arns}}
        )  # fmt: skip
    return {"widgets": widgets}


class Dashboard:
    """The environment's dashboard in CloudWatch (dashboards are global to the account)."""

    def __init__(self, cloudwatch: Any, cfg: EnvironmentConfig) -> None:
        self.cloudwatch = cloudwatch
        self.cfg = cfg
        self.name = f"{cfg.endpoint.name}-mlops"

    def live(self) -> dict[str, Any] | None:
        try:
            answer = self.cloudwatch.get_dashboard(DashboardName=self.name)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("ResourceNotFound", "ResourceNotFoundException"):
                return None
            raise
        return json.loads(answer["DashboardBody"])

    def read(self, endpoint_arn: str) -> str | None:
        """The plan's `monitoring.dashboard`: its name when it is what git says, else marked as differing."""
        live = self.live()
        if live is None:
            return None
        return self.name if live == body(self.cfg, endpoint_arn) else f"{self.name} {DIFFERS}"

    def apply(self, endpoint_arn: str) -> str | None:
        """Put the dashboard (or delete it when switched off); what was done, for the deploy's events."""
        if self.cfg.monitoring.dashboard:
            wanted = body(self.cfg, endpoint_arn)
            if self.live() == wanted:
                return None
            self.cloudwatch.put_dashboard(DashboardName=self.name, DashboardBody=json.dumps(wanted))
            return f"dashboard {self.name} put"
        if self.live() is None:
            return None
        self.cloudwatch.delete_dashboards(DashboardNames=[self.name])
        return f"dashboard {self.name} deleted (monitoring.dashboard is off)"

    def delete(self) -> None:
        self.cloudwatch.delete_dashboards(DashboardNames=[self.name])
