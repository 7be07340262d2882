"""The environment's CloudWatch dashboard as code (moto): put by deploy, compared by plan, removed by teardown."""

from __future__ import annotations

import json

import boto3

from deploy.endpoints.plan import diff
from deploy.sagemaker.teardown import SageMakerTeardown

from .conftest import ACCOUNT, REGION
from .endpoint_fixtures import Clock, Reporter, Session, desired, endpoints, environment, register_packages

NAME = "churn-prod-mlops"


def dashboard() -> dict | None:
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    names = [d["DashboardName"] for d in cloudwatch.list_dashboards()["DashboardEntries"]]
    if NAME not in names:
        return None
    return json.loads(cloudwatch.get_dashboard(DashboardName=NAME)["DashboardBody"])


def metrics_of(body: dict) -> dict[str, list]:
    return {w["properties"]["title"]: w["properties"].get("metrics") for w in body["widgets"]}


def test_deploy_puts_the_dashboard_and_plan_is_clean(aws_setup) -> None:
    (arn,) = register_packages(1)
    cfg = environment("prod", 1)
    reporter = Reporter()
    adapter = endpoints(Session(), Clock())
    adapter.deploy(desired(cfg, arn), None, reporter)
    body = dashboard()
    assert body is not None and f"dashboard {NAME} put" in reporter.events
    charts = metrics_of(body)
    dims = ["EndpointName", "churn-prod", "VariantName", "AllTraffic"]
    assert charts["Invocations"] == [["AWS/SageMaker", "Invocations", *dims]]
    assert charts["4xx / 5xx errors"] == [
        ["AWS/SageMaker", "Invocation4XXErrors", *dims],
        ["AWS/SageMaker", "Invocation5XXErrors", *dims],
    ]
    assert [m[-1] for m in charts["ModelLatency p50 / p99 (µs)"]] == [{"stat": "p50"}, {"stat": "p99"}]
    assert [m[1] for m in charts["Instance CPU / memory (%)"]] == ["CPUUtilization", "MemoryUtilization"]
    assert charts["Monitor: drifted features, violations"][0] == [
        "MLOps/Monitor",
        "DriftedFeatures",
        "EndpointName",
        "churn-prod",
    ]
    (search,) = charts["Monitor: drift score per feature (1 = threshold)"]
    assert 'MetricName="DriftScore" EndpointName="churn-prod"' in search[0]["expression"]
    alarms = next(w for w in body["widgets"] if w["type"] == "alarm")["properties"]["alarms"]
    assert alarms == [
        f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{n}" for n in ("churn-prod-5xx", "churn-prod-p99-latency")
    ]

    live = adapter.describe("prod", cfg)
    assert live.dashboard == NAME and diff(cfg, live) == []
    # A redeploy of the same config does not put it again.
    again = Reporter()
    adapter.deploy(desired(cfg, arn), live, again)
    assert not any("dashboard" in e for e in again.events)


def test_a_change_in_git_or_by_hand_is_a_planned_change(aws_setup) -> None:
    (arn,) = register_packages(1)
    cfg = environment("prod", 1)
    adapter = endpoints(Session(), Clock())
    adapter.deploy(desired(cfg, arn), None, Reporter())
    fewer = cfg.model_copy(update={"alarms": cfg.alarms[:1]})  # the alarm widget changes
    assert [c.field for c in diff(fewer, adapter.describe("prod", fewer))] == ["alarms", "monitoring.dashboard"]

    boto3.client("cloudwatch", region_name=REGION).put_dashboard(DashboardName=NAME, DashboardBody='{"widgets": []}')
    (change,) = diff(cfg, adapter.describe("prod", cfg))
    assert (change.field, change.live, change.desired) == ("monitoring.dashboard", f"{NAME} (differs from git)", NAME)
    adapter.deploy(desired(cfg, arn), adapter.describe("prod", cfg), Reporter())
    assert diff(cfg, adapter.describe("prod", cfg)) == []


def test_switched_off_it_is_deleted_and_teardown_removes_it(aws_setup) -> None:
    (arn,) = register_packages(1)
    cfg = environment("prod", 1)
    adapter = endpoints(Session(), Clock())
    adapter.deploy(desired(cfg, arn), None, Reporter())
    off = cfg.model_copy(update={"monitoring": cfg.monitoring.model_copy(update={"dashboard": False})})
    (change,) = diff(off, adapter.describe("prod", off))
    assert (change.field, change.desired) == ("monitoring.dashboard", None)
    reporter = Reporter()
    adapter.deploy(desired(off, arn), adapter.describe("prod", off), reporter)
    assert dashboard() is None and any(f"dashboard {NAME} deleted" in e for e in reporter.events)
    assert diff(off, adapter.describe("prod", off)) == []

    adapter.deploy(desired(cfg, arn), adapter.describe("prod", cfg), Reporter())
    teardown = SageMakerTeardown(Session(), "prod", cfg)
    plan = teardown.plan()
    assert plan.dashboard == NAME and f"dashboard {NAME}" in plan.lines()
    teardown.apply(plan)
    assert dashboard() is None


def test_a_serverless_endpoint_has_no_instance_chart(aws_setup) -> None:
    from deploy.sagemaker.dashboard import body

    cfg = environment("prod", 1)
    data = cfg.model_dump(exclude_unset=True)
    for key in ("instance_type", "instance_count", "autoscaling"):
        data["endpoint"].pop(key, None)
    data["endpoint"]["serverless"] = {"memory_size_mb": 2048, "max_concurrency": 5}
    data["deployment"]["strategy"] = "all_at_once"
    serverless = type(cfg).model_validate(data)
    titles = [
        w["properties"]["title"]
        for w in body(serverless, f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/x")["widgets"]
    ]
    assert "Instance CPU / memory (%)" not in titles and "Invocations" in titles
