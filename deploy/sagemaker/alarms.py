"""CloudWatch rollback alarms of an endpoint, created and read back as code (control plane).

Each `alarms:` entry of `config/<env>.yaml` becomes one metric alarm in `AWS/SageMaker` on
the endpoint's variant (dimensions EndpointName and VariantName; `pNN` statistics as
ExtendedStatistic). The description marks the alarm as managed for that endpoint, so
`mlops plan` reads exactly these back and a deploy deletes the ones removed from git, never
an alarm someone made by hand.
"""

from __future__ import annotations

from typing import Any

from deploy.config.schema import AlarmConfig, EnvironmentConfig

NAMESPACE = "AWS/SageMaker"
MARKER = "managed by sagemaker-gitops for endpoint"


def description(env: str, endpoint: str) -> str:
    return f"{MARKER} {endpoint}: rollback alarm from config/{env}.yaml; edit it there"


def alarm_request(alarm: AlarmConfig, env: str, endpoint: str, variant: str) -> dict[str, Any]:
    """PutMetricAlarm arguments for one configured alarm."""
    request: dict[str, Any] = {
        "AlarmName": alarm.name,
        "AlarmDescription": description(env, endpoint),
        "Namespace": NAMESPACE,
        "MetricName": alarm.metric,
        "Dimensions": [{"Name": "EndpointName", "Value": endpoint}, {"Name": "VariantName", "Value": variant}],
        "Period": alarm.period_seconds,
        "EvaluationPeriods": alarm.evaluation_periods,
        "DatapointsToAlarm": alarm.evaluation_periods,
        "Threshold": float(alarm.threshold),
        "ComparisonOperator": alarm.comparison,
        # No traffic is no evidence of a bad model: an idle endpoint must not roll back.
        "TreatMissingData": "notBreaching",
        "Tags": [{"Key": "mlops:env", "Value": env}, {"Key": "mlops:endpoint", "Value": endpoint}],
    }
    key = "ExtendedStatistic" if alarm.statistic.startswith("p") else "Statistic"
    request[key] = alarm.statistic
    return request


def alarm_fields(alarm: dict[str, Any]) -> dict[str, Any]:
    """A described MetricAlarm in `AlarmConfig.model_dump()` shape."""
    return {
        "name": alarm["AlarmName"],
        "metric": alarm.get("MetricName"),
        "statistic": alarm.get("ExtendedStatistic") or alarm.get("Statistic"),
        "threshold": alarm.get("Threshold"),
        "comparison": alarm.get("ComparisonOperator"),
        "period_seconds": alarm.get("Period"),
        "evaluation_periods": alarm.get("EvaluationPeriods"),
    }


class RollbackAlarms:
    """The managed alarms of one endpoint."""

    def __init__(self, cloudwatch: Any, env: str, cfg: EnvironmentConfig) -> None:
        self.cloudwatch = cloudwatch
        self.env = env
        self.cfg = cfg
        self.endpoint = cfg.endpoint.name

    def managed(self) -> list[dict[str, Any]]:
        """Every metric alarm this tool manages for the endpoint, as CloudWatch describes it."""
        paginator = self.cloudwatch.get_paginator("describe_alarms")
        alarms = [a for page in paginator.paginate(AlarmTypes=["MetricAlarm"]) for a in page.get("MetricAlarms", [])]
        return [a for a in alarms if self._ours(a)]

    def read(self) -> list[dict[str, Any]]:
        """The live alarms in `AlarmConfig.model_dump()` shape, in the order git lists them."""
        order = {a.name: i for i, a in enumerate(self.cfg.alarms)}
        live = sorted(self.managed(), key=lambda a: (order.get(a["AlarmName"], len(order)), a["AlarmName"]))
        return [alarm_fields(a) for a in live]

    def apply(self) -> list[str]:
        """Create or update the configured alarms, delete managed ones no longer in git; the names removed."""
        variant = self.cfg.endpoint.variant_name
        for alarm in self.cfg.alarms:
            self.cloudwatch.put_metric_alarm(**alarm_request(alarm, self.env, self.endpoint, variant))
        wanted = {a.name for a in self.cfg.alarms}
        stale = sorted(a["AlarmName"] for a in self.managed() if a["AlarmName"] not in wanted)
        if stale:
            self.cloudwatch.delete_alarms(AlarmNames=stale)
        return stale

    def firing(self) -> list[str]:
        """`name (reason)` of each configured alarm now in ALARM."""
        names = [a.name for a in self.cfg.alarms]
        if not names:
            return []
        alarms = self.cloudwatch.describe_alarms(AlarmNames=names, StateValue="ALARM").get("MetricAlarms", [])
        return [
            f"{a['AlarmName']} ({a.get('StateReason', 'in ALARM')})" for a in alarms if a.get("StateValue") == "ALARM"
        ]

    def _ours(self, alarm: dict[str, Any]) -> bool:
        dims = {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}
        return (
            alarm.get("Namespace") == NAMESPACE
            and dims.get("EndpointName") == self.endpoint
            and str(alarm.get("AlarmDescription", "")).startswith(f"{MARKER} {self.endpoint}:")
        )
