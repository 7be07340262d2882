"""CloudWatch alarms on the monitor's metrics, created and read back as code (control plane).

Each `monitoring.alarms:` entry of `config/<env>.yaml` becomes one metric alarm in
`MLOps/Monitor` (the namespace `mlops monitor` publishes to, `deploy.sagemaker.monitor_metrics`)
with the dimension EndpointName, plus Feature for a per-feature metric. The description marks
it as managed for that endpoint, like the rollback alarms (`deploy.sagemaker.alarms`), so a
deploy deletes the ones removed from git and never an alarm made by hand. When
`MLOPS_ALERTS_TOPIC_ARN` is set (the bootstrap's `AlertsTopicArn`), the alarm notifies that
SNS topic on entering ALARM and on returning to OK.

A run of the monitor is one datapoint, so no datapoint in a period means no run, not drift:
missing data is not breaching.
"""

from __future__ import annotations

import os
from typing import Any

from deploy.config.monitoring import MONITOR_METRICS, MonitorAlarm
from deploy.sagemaker.alarms import MARKER, ManagedAlarms, dimensions_of
from deploy.sagemaker.monitor_metrics import NAMESPACE

TOPIC_VARIABLE = "MLOPS_ALERTS_TOPIC_ARN"
_CONFIG_METRIC = {cloudwatch: name for name, cloudwatch in MONITOR_METRICS.items()}


def alerts_topic() -> str | None:
    """The SNS topic alarms notify, from the environment; None: alarms change state silently."""
    return os.environ.get(TOPIC_VARIABLE) or None


def description(env: str, endpoint: str) -> str:
    return f"{MARKER} {endpoint}: monitoring alarm from config/{env}.yaml; edit it there"


def alarm_request(alarm: MonitorAlarm, env: str, endpoint: str, topic: str | None) -> dict[str, Any]:
    """PutMetricAlarm arguments for one declared monitoring alarm."""
    dimensions = [{"Name": "EndpointName", "Value": endpoint}]
    if alarm.feature is not None:
        dimensions.append({"Name": "Feature", "Value": alarm.feature})
    actions = [topic] if topic else []
    return {
        "AlarmName": alarm.name,
        "AlarmDescription": description(env, endpoint),
        "ActionsEnabled": bool(actions),
        "AlarmActions": actions,
        "OKActions": actions,
        "Namespace": NAMESPACE,
        "MetricName": MONITOR_METRICS[alarm.metric],
        "Dimensions": dimensions,
        "Statistic": alarm.statistic,
        "Period": alarm.period_seconds,
        "EvaluationPeriods": alarm.evaluation_periods,
        "DatapointsToAlarm": alarm.evaluation_periods,
        "Threshold": float(alarm.threshold),
        "ComparisonOperator": alarm.comparison,
        "TreatMissingData": "notBreaching",
        "Tags": [{"Key": "mlops:env", "Value": env}, {"Key": "mlops:endpoint", "Value": endpoint}],
    }


def alarm_fields(alarm: dict[str, Any]) -> dict[str, Any]:
    """A described MetricAlarm in `MonitorAlarm.model_dump()` shape."""
    return {
        "name": alarm["AlarmName"],
        "metric": _CONFIG_METRIC.get(alarm.get("MetricName", ""), alarm.get("MetricName")),
        "feature": dimensions_of(alarm).get("Feature"),
        "threshold": alarm.get("Threshold"),
        "comparison": alarm.get("ComparisonOperator"),
        "statistic": alarm.get("Statistic") or alarm.get("ExtendedStatistic"),
        "period_seconds": alarm.get("Period"),
        "evaluation_periods": alarm.get("EvaluationPeriods"),
    }


class MonitorAlarms(ManagedAlarms):
    """The managed monitoring alarms of one endpoint (in MLOps/Monitor)."""

    namespace = NAMESPACE

    def read(self) -> list[dict[str, Any]]:
        """The live monitoring alarms in `MonitorAlarm.model_dump()` shape, in the order git lists them."""
        order = {a.name: i for i, a in enumerate(self.cfg.monitoring.alarms)}
        live = sorted(self.managed(), key=lambda a: (order.get(a["AlarmName"], len(order)), a["AlarmName"]))
        return [alarm_fields(a) for a in live]

    def apply(self, topic: str | None = None) -> list[str]:
        """Create or update the declared alarms, delete other managed ones; the names removed."""
        for alarm in self.cfg.monitoring.alarms:
            self.cloudwatch.put_metric_alarm(**alarm_request(alarm, self.env, self.endpoint, topic))
        wanted = {a.name for a in self.cfg.monitoring.alarms}
        stale = sorted(a["AlarmName"] for a in self.managed() if a["AlarmName"] not in wanted)
        if stale:
            self.cloudwatch.delete_alarms(AlarmNames=stale)
        return stale
