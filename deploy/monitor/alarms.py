"""The declared monitoring alarms judged against one monitor result (control plane).

On SageMaker CloudWatch judges `monitoring.alarms` on the published metrics; `mlops monitor`
judges them here on the same metric values (`deploy.sagemaker.monitor_metrics.metric_data`),
so the local backend names the alarms a result would set off, and a SageMaker run says so
before CloudWatch's next evaluation. One run is one datapoint, so every statistic but
SampleCount is the value itself; a metric the result does not carry (too few rows to judge,
an unknown feature) is missing data, which does not breach.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any

from deploy.config.monitoring import MONITOR_METRICS, MonitorAlarm
from deploy.sagemaker.monitor_metrics import metric_data

_COMPARE = {
    "GreaterThanOrEqualToThreshold": (operator.ge, "≥"),
    "GreaterThanThreshold": (operator.gt, ">"),
    "LessThanThreshold": (operator.lt, "<"),
    "LessThanOrEqualToThreshold": (operator.le, "≤"),
}


@dataclass(frozen=True)
class Firing:
    name: str
    value: float
    rule: str  # e.g. "DriftScore[monthly_charges] 3.2 ≥ 1"

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "rule": self.rule}


def _value(alarm: MonitorAlarm, data: list[dict[str, Any]]) -> float | None:
    for item in data:
        dims = {d["Name"]: d["Value"] for d in item["Dimensions"]}
        if item["MetricName"] == MONITOR_METRICS[alarm.metric] and dims.get("Feature") == alarm.feature:
            return item["Value"]
    return None


def firing(alarms: list[MonitorAlarm], endpoint: str, result: dict[str, Any]) -> list[Firing]:
    """The declared alarms this result would put in ALARM, in the order git lists them."""
    data = metric_data(endpoint, result)
    found = []
    for alarm in alarms:
        value = _value(alarm, data)
        if value is None:
            continue
        compare, sign = _COMPARE[alarm.comparison]
        if compare(value, alarm.threshold):
            metric = MONITOR_METRICS[alarm.metric] + (f"[{alarm.feature}]" if alarm.feature else "")
            found.append(Firing(alarm.name, value, f"{metric} {value:g} {sign} {alarm.threshold:g}"))
    return found


def summary(alarms: list[MonitorAlarm], fired: list[Firing]) -> str | None:
    """One line for the report; None when no alarm is declared."""
    if not alarms:
        return None
    if not fired:
        return f"alarms: none of {len(alarms)} would fire"
    return "alarms that would fire: " + "; ".join(f"{f.name} ({f.rule})" for f in fired)
