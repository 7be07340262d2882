"""The monitor's result as CloudWatch metrics, per endpoint and per feature (control plane).

Namespace `MLOps/Monitor`. With the dimension `EndpointName`: `DriftedFeatures`, `Violations`,
`CapturedRows`, `PositiveRate`, `PredictionDrift` (0/1). With `EndpointName` and `Feature`:
`DriftScore` (the feature's effect divided by its threshold: above 1 is drift) and `Drift`
(0/1). Alarms declared in config and the environment's dashboard read these.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

NAMESPACE = "MLOps/Monitor"
_BATCH = 1000  # PutMetricData's limit of metrics per request


def _ratio(check: dict[str, Any] | None) -> float:
    return max(float(check["statistic"]), 0.0) / float(check["threshold"]) if check else 0.0


def metric_data(endpoint: str, result: dict[str, Any], when: datetime | None = None) -> list[dict[str, Any]]:
    """The MetricData of one monitor result (nothing about drift when it was not judged)."""
    when = when or datetime.now(UTC)
    base = [{"Name": "EndpointName", "Value": endpoint}]

    def metric(name: str, value: float, unit: str = "None", **dims: str) -> dict[str, Any]:
        dimensions = base + [{"Name": k, "Value": v} for k, v in dims.items()]
        return {"MetricName": name, "Dimensions": dimensions, "Timestamp": when, "Value": float(value), "Unit": unit}

    data = [metric("CapturedRows", result["volume"]["rows"], "Count")]
    if result["status"] == "insufficient_data":
        return data
    data.append(metric("DriftedFeatures", len(result["drifted_features"]), "Count"))
    data.append(metric("Violations", result["violations"], "Count"))
    for item in result["features"]:
        score = max(_ratio(item.get("distribution")), _ratio(item["missing"]))
        data.append(metric("DriftScore", round(score, 6), Feature=item["name"]))
        data.append(metric("Drift", int(item["drift"]), Feature=item["name"]))
    prediction = result.get("prediction")
    if prediction:
        data.append(metric("PositiveRate", prediction["positive_rate"]["current"]))
        data.append(metric("PredictionDrift", int(prediction["drift"])))
    return data


def publish(cloudwatch: Any, endpoint: str, result: dict[str, Any]) -> int:
    """Put the result's metrics; returns how many were sent."""
    data = metric_data(endpoint, result)
    for start in range(0, len(data), _BATCH):
        cloudwatch.put_metric_data(Namespace=NAMESPACE, MetricData=data[start : start + _BATCH])
    return len(data)
