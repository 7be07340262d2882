"""Monitoring alarms as code on SageMaker (moto): the exact PutMetricAlarm requests, plan, removal, teardown."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from deploy.config.monitoring import MonitorAlarm
from deploy.endpoints.plan import diff
from deploy.sagemaker.teardown import SageMakerTeardown

from .conftest import ACCOUNT, REGION
from .endpoint_fixtures import Clock, Reporter, Session, desired, endpoints, environment, register_packages

TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:churn-alerts"
MARKER = "managed by sagemaker-gitops for endpoint churn-prod: monitoring alarm from config/prod.yaml; edit it there"


class Recorded:
    """A moto CloudWatch client whose PutMetricAlarm and DeleteAlarms requests are kept, as sent."""

    def __init__(self) -> None:
        self.client = boto3.client("cloudwatch", region_name=REGION)
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.client.meta.events.register("provide-client-params.monitoring.*", self._keep)

    def _keep(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name in ("PutMetricAlarm", "DeleteAlarms"):
            self.requests.append((model.name, dict(params)))

    def puts(self, namespace: str) -> dict[str, dict[str, Any]]:
        return {p["AlarmName"]: p for op, p in self.requests if op == "PutMetricAlarm" and p["Namespace"] == namespace}


def with_alarms(alarms: list[dict[str, Any]]):
    cfg = environment("prod", 1)
    monitoring = cfg.monitoring.model_copy(update={"alarms": [MonitorAlarm(**a) for a in alarms]})
    return cfg.model_copy(update={"monitoring": monitoring})


ALARMS = [
    {"name": "churn-prod-drifted-features", "metric": "drifted_features", "threshold": 1},
    {
        "name": "churn-prod-age-drift",
        "metric": "drift_score",
        "feature": "age",
        "threshold": 1.5,
        "period_seconds": 3600,
        "evaluation_periods": 2,
    },
]


def test_deploy_puts_exactly_the_declared_alarms_notifying_the_topic(aws_setup, monkeypatch) -> None:
    monkeypatch.setenv("MLOPS_ALERTS_TOPIC_ARN", TOPIC)
    (arn,) = register_packages(1)
    cfg = with_alarms(ALARMS)
    recorded = Recorded()
    reporter = Reporter()
    adapter = endpoints(Session(cloudwatch=recorded.client), Clock())
    adapter.deploy(desired(cfg, arn), None, reporter)

    puts = recorded.puts("MLOps/Monitor")
    assert puts["churn-prod-drifted-features"] == {
        "AlarmName": "churn-prod-drifted-features",
        "AlarmDescription": MARKER,
        "ActionsEnabled": True,
        "AlarmActions": [TOPIC],
        "OKActions": [TOPIC],
        "Namespace": "MLOps/Monitor",
        "MetricName": "DriftedFeatures",
        "Dimensions": [{"Name": "EndpointName", "Value": "churn-prod"}],
        "Statistic": "Maximum",
        "Period": 86400,
        "EvaluationPeriods": 1,
        "DatapointsToAlarm": 1,
        "Threshold": 1.0,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "TreatMissingData": "notBreaching",
        "Tags": [{"Key": "mlops:env", "Value": "prod"}, {"Key": "mlops:endpoint", "Value": "churn-prod"}],
    }
    age = puts["churn-prod-age-drift"]
    assert age["MetricName"] == "DriftScore"
    assert age["Dimensions"] == [{"Name": "EndpointName", "Value": "churn-prod"}, {"Name": "Feature", "Value": "age"}]
    assert (age["Period"], age["EvaluationPeriods"], age["DatapointsToAlarm"], age["Threshold"]) == (3600, 2, 2, 1.5)
    assert any(f"notifying {TOPIC}" in e for e in reporter.events)

    live = {a["AlarmName"]: a for a in boto3.client("cloudwatch", region_name=REGION).describe_alarms()["MetricAlarms"]}
    assert live["churn-prod-age-drift"]["AlarmActions"] == [TOPIC]
    # The rollback alarms are still there, in their own namespace, untouched by the monitoring ones.
    assert {"churn-prod-5xx", "churn-prod-p99-latency"} <= set(live)


def test_without_a_topic_the_alarms_have_no_actions(aws_setup, monkeypatch) -> None:
    monkeypatch.delenv("MLOPS_ALERTS_TOPIC_ARN", raising=False)
    (arn,) = register_packages(1)
    recorded = Recorded()
    endpoints(Session(cloudwatch=recorded.client), Clock()).deploy(desired(with_alarms(ALARMS), arn), None, Reporter())
    for request in recorded.puts("MLOps/Monitor").values():
        assert (request["AlarmActions"], request["OKActions"], request["ActionsEnabled"]) == ([], [], False)


def test_plan_is_clean_after_deploy_and_a_change_is_a_planned_change(aws_setup) -> None:
    (arn,) = register_packages(1)
    cfg = with_alarms(ALARMS)
    adapter = endpoints(Session(), Clock())
    adapter.deploy(desired(cfg, arn), None, Reporter())
    live = adapter.describe("prod", cfg)
    assert diff(cfg, live) == []
    assert live.monitoring_alarms == [a.model_dump() for a in cfg.monitoring.alarms]

    raised = with_alarms([ALARMS[0], {**ALARMS[1], "threshold": 2.0}])
    (change,) = diff(raised, live)
    assert change.field == "monitoring.alarms" and change.desired[1]["threshold"] == 2.0


def test_an_alarm_dropped_from_git_is_deleted_and_others_are_left_alone(aws_setup) -> None:
    (arn,) = register_packages(1)
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    # Made by hand in the same namespace and on the same endpoint, without the marker: never ours to delete.
    cloudwatch.put_metric_alarm(
        AlarmName="churn-prod-by-hand", Namespace="MLOps/Monitor", MetricName="Violations",
        Dimensions=[{"Name": "EndpointName", "Value": "churn-prod"}], Statistic="Maximum", Period=3600,
        EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanThreshold",
    )  # fmt: skip
    cfg = with_alarms(ALARMS)
    adapter = endpoints(Session(), Clock())
    adapter.deploy(desired(cfg, arn), None, Reporter())

    fewer = with_alarms(ALARMS[:1])
    live = adapter.describe("prod", cfg)
    assert [c.field for c in diff(fewer, live)] == ["monitoring.alarms"]
    reporter = Reporter()
    adapter.deploy(desired(fewer, arn), live, reporter)
    names = {a["AlarmName"] for a in cloudwatch.describe_alarms()["MetricAlarms"]}
    assert "churn-prod-age-drift" not in names
    assert {"churn-prod-drifted-features", "churn-prod-by-hand", "churn-prod-5xx"} <= names
    assert any("deleted churn-prod-age-drift" in e for e in reporter.events)
    assert diff(fewer, adapter.describe("prod", fewer)) == []


def test_teardown_removes_the_monitoring_alarms_too(aws_setup) -> None:
    (arn,) = register_packages(1)
    cfg = with_alarms(ALARMS)
    endpoints(Session(), Clock()).deploy(desired(cfg, arn), None, Reporter())
    teardown = SageMakerTeardown(Session(), "prod", cfg)
    plan = teardown.plan()
    assert {"churn-prod-drifted-features", "churn-prod-age-drift"} <= set(plan.alarms)
    teardown.apply(plan)
    assert boto3.client("cloudwatch", region_name=REGION).describe_alarms()["MetricAlarms"] == []


@pytest.mark.parametrize(
    ("alarm", "message"),
    [
        ({"metric": "drift_score", "threshold": 1}, "drift_score is published per feature: name the feature"),
        ({"metric": "violations", "feature": "age", "threshold": 1}, "violations is published per endpoint"),
        ({"metric": "positive_rate_change", "threshold": 1}, "Input should be 'drift_score'"),
        ({"metric": "violations", "threshold": 1, "period_seconds": 90}, "multiple of 60 seconds"),
        ({"metric": "violations", "threshold": 1, "period_seconds": 86400, "evaluation_periods": 8}, "at most 7 days"),
    ],
)
def test_bad_alarm_declarations_are_refused(alarm: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MonitorAlarm(name="churn-prod-x", **alarm)
