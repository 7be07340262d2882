"""The deployment policy → `DeploymentConfig` translation, names and tags, and prod's UpdateEndpoint request."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from deploy.cli.app import main
from deploy.config.schema import DeploymentPolicy, EnvironmentConfig
from deploy.errors import ExitCode
from deploy.sagemaker import resources as res
from deploy.sagemaker.deployment_config import deployment_config, follow_timeout_seconds, update_request

from .conftest import REGION
from .endpoint_fixtures import (
    Clock,
    Reporter,
    Session,
    SplitClient,
    described,
    desired,
    endpoints,
    environment,
    register_packages,
)


def test_canary_policy_maps_field_by_field() -> None:
    policy = DeploymentPolicy(
        strategy="canary",
        canary_percent=25,
        wait_seconds=600,
        termination_wait_seconds=60,
        max_execution_timeout_seconds=3600,
    )
    assert deployment_config(policy, 8, ["a-5xx", "a-p99"]) == {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {
                "Type": "CANARY",
                "WaitIntervalInSeconds": 600,
                "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 2},
            },
            "TerminationWaitInSeconds": 60,
            "MaximumExecutionTimeoutInSeconds": 3600,
        },
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "a-5xx"}, {"AlarmName": "a-p99"}]},
    }


def test_linear_and_all_at_once() -> None:
    linear = deployment_config(DeploymentPolicy(strategy="linear", linear_step_percent=25, wait_seconds=60), 8, ["x"])
    routing = linear["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
    assert routing == {
        "Type": "LINEAR",
        "WaitIntervalInSeconds": 60,
        "LinearStepSize": {"Type": "INSTANCE_COUNT", "Value": 2},
    }
    at_once = deployment_config(DeploymentPolicy(wait_seconds=0), 1, [])
    assert at_once["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"] == {
        "Type": "ALL_AT_ONCE",
        "WaitIntervalInSeconds": 0,
    }
    assert "AutoRollbackConfiguration" not in at_once  # no alarms: SageMaker would reject an empty list


@pytest.mark.parametrize(
    ("strategy", "percent", "fleet", "instances", "shares"),
    [
        ("canary", 10, 2, 1, [50.0, 100.0]),  # 10 % of 2 instances is one instance: half the traffic
        ("canary", 10, 4, 1, [25.0, 100.0]),
        ("canary", 25, 6, 2, [100 / 3, 100.0]),  # 1.5 instances rounds to 2
        ("canary", 50, 3, 1, [100 / 3, 100.0]),  # never more than half the fleet
        ("linear", 20, 2, 1, [50.0, 100.0]),
        ("linear", 10, 15, 2, [100 * n / 15 for n in (2, 4, 6, 8, 10, 12, 14, 15)]),  # at least 10 % a step
        ("linear", 25, 8, 2, [25.0, 50.0, 75.0, 100.0]),
    ],
)
def test_step_sizes_are_whole_instances_within_sagemakers_limits(
    strategy: str, percent: int, fleet: int, instances: int, shares: list[float]
) -> None:
    field = "canary_percent" if strategy == "canary" else "linear_step_percent"
    policy = DeploymentPolicy(strategy=strategy, wait_seconds=60, **{field: percent})
    assert policy.step_instances(fleet) == instances
    assert policy.fleet_steps(fleet) == pytest.approx(shares)
    size = deployment_config(policy, fleet, ["a"])["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
    assert size["CanarySize" if strategy == "canary" else "LinearStepSize"] == {
        "Type": "INSTANCE_COUNT",
        "Value": instances,
    }
    assert instances <= fleet / 2 and (strategy == "canary" or instances >= fleet / 10)


@pytest.mark.parametrize("strategy", ["all_at_once", "canary", "linear"])
def test_every_strategy_passes_botocore_validation(strategy: str, aws_env: dict[str, str]) -> None:
    client = boto3.client("sagemaker", region_name=REGION)
    request = deployment_config(DeploymentPolicy(strategy=strategy, wait_seconds=120), 2, ["alarm"])
    with Stubber(client) as stub:
        stub.add_response("update_endpoint", {"EndpointArn": "arn:aws:sagemaker:eu-west-1:1:endpoint/e"})
        client.update_endpoint(EndpointName="e", EndpointConfigName="c", DeploymentConfig=request)
        stub.assert_no_pending_responses()


def test_retains_the_scaled_instance_count_only_when_autoscaling_is_on() -> None:
    scaled = environment("prod", 2, autoscaling={"enabled": True, "min_capacity": 2, "max_capacity": 8})
    request = update_request(scaled, "churn-prod-v2-x", 6, ["a@c"])
    assert request["RetainAllVariantProperties"] is True
    assert request["ExcludeRetainedVariantProperties"] == [
        {"VariantPropertyType": "DesiredWeight"},
        {"VariantPropertyType": "DataCaptureConfig"},
    ]
    # the canary is sized on the 6 instances the new fleet starts with, not git's 2
    routing = request["DeploymentConfig"]["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
    assert routing["CanarySize"] == {"Type": "INSTANCE_COUNT", "Value": 1}
    fixed = update_request(environment("prod", 2), "churn-prod-v2-x", 6, ["a@c"])
    assert fixed["RetainAllVariantProperties"] is False and "ExcludeRetainedVariantProperties" not in fixed


def test_follow_timeout_covers_the_policy() -> None:
    policy = DeploymentPolicy(strategy="canary", max_execution_timeout_seconds=1800, termination_wait_seconds=120)
    assert follow_timeout_seconds(policy, creating=False) > 1800 + 120
    assert follow_timeout_seconds(policy, creating=True) >= 3600


def test_names_are_deterministic_and_short() -> None:
    cfg = environment("prod", 3)
    first = res.model_name(cfg, 3, "arn:p/3", "a" * 64, "arn:role")
    assert first == res.model_name(cfg, 3, "arn:p/3", "a" * 64, "arn:role")
    assert first.startswith("churn-prod-v3-") and len(first) == len("churn-prod-v3-") + 8
    assert res.model_name(cfg, 3, "arn:p/3", "b" * 64, "arn:role") != first
    long = environment("prod", 12345, name="e" * 63)
    name = res.config_name(long, 12345, first, None)
    assert len(name) <= 63 and name.endswith("-v12345-" + name[-8:])
    bigger = environment("prod", 3, instance_count=4)
    assert res.config_name(bigger, 3, first, None) != res.config_name(cfg, 3, first, None)


def test_policy_tag_round_trips_and_fits_a_tag_value() -> None:
    policy = environment("prod").deployment
    text = res.encode_policy(policy)
    assert len(text) <= 256 and all(c.isalnum() or c in " _.:/=+-@" for c in text)
    assert res.decode_policy(text) == policy.model_dump()
    assert res.decode_policy("strategy=sideways") is None and res.decode_policy(None) is None


class AlarmLog:
    """Records CloudWatch's PutMetricAlarm and DeleteAlarms requests (moto carries them out)."""

    def __init__(self, cloudwatch) -> None:
        self.put: list[dict] = []
        self.deleted: list[list[str]] = []
        cloudwatch.meta.events.register("provide-client-params.cloudwatch.PutMetricAlarm", self._put)
        cloudwatch.meta.events.register("provide-client-params.cloudwatch.DeleteAlarms", self._delete)

    def _put(self, params: dict, **_: object) -> None:
        self.put.append(dict(params))

    def _delete(self, params: dict, **_: object) -> None:
        self.deleted.append(list(params["AlarmNames"]))


def test_prod_update_request_matches_the_policy_field_by_field(aws_setup: dict[str, str]) -> None:
    """config/prod.yaml's UpdateEndpoint: checked by botocore's Stubber, judged by alarms on the new fleet only."""
    arns = register_packages(2)
    clock, split = Clock(), SplitClient()
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    adapter = endpoints(Session(sagemaker=split, cloudwatch=cloudwatch), clock)
    first = environment("prod", 1)
    adapter.deploy(desired(first, arns[0]), None, Reporter())
    cfg = environment("prod", 2)
    policy = cfg.deployment
    live = adapter.describe("prod", cfg)
    assert live is not None and live.deployment == policy.model_dump()
    target = adapter.catalog.plan(desired(cfg, arns[1])).config_name
    guards = [f"{a.name}@{target}" for a in cfg.alarms]
    expected = {
        "EndpointName": cfg.endpoint.name,
        "EndpointConfigName": target,
        "RetainAllVariantProperties": False,
        "DeploymentConfig": {
            "BlueGreenUpdatePolicy": {
                "TrafficRoutingConfiguration": {
                    "Type": policy.strategy.upper(),
                    "WaitIntervalInSeconds": policy.wait_seconds,
                    # 10 % of prod's 2 instances: one instance, half the traffic
                    "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 1},
                },
                "TerminationWaitInSeconds": policy.termination_wait_seconds,
                "MaximumExecutionTimeoutInSeconds": policy.max_execution_timeout_seconds,
            },
            "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": name} for name in guards]},
        },
    }
    assert policy.strategy == "canary" and policy.canary_percent == 10 and cfg.endpoint.instance_count == 2

    def guards_exist_at_update(**_: object) -> None:
        live_names = {a["AlarmName"] for a in cloudwatch.describe_alarms(AlarmNames=guards)["MetricAlarms"]}
        assert live_names == set(guards), "the deployment alarms must exist before UpdateEndpoint"

    split.stubbed.meta.events.register("before-call.sagemaker.UpdateEndpoint", guards_exist_at_update)
    log = AlarmLog(cloudwatch)
    arn = adapter.sagemaker.describe_endpoint(EndpointName=cfg.endpoint.name)["EndpointArn"]
    split.stubber.add_response("update_endpoint", {"EndpointArn": arn}, expected_params=expected)
    split.stubber.add_response("describe_endpoint", described(cfg.endpoint.name, arn, target, "InService"))
    with split.stubber:
        outcome = adapter.deploy(desired(cfg, arns[1]), live, Reporter())
    split.stubber.assert_no_pending_responses()
    assert outcome.details["endpoint_config"] == target

    deployment = [r for r in log.put if "@" in r["AlarmName"]]
    assert [r["AlarmName"] for r in deployment] == guards
    for request, alarm in zip(deployment, cfg.alarms, strict=True):
        assert request["Dimensions"] == [
            {"Name": "EndpointName", "Value": "churn-prod"},
            {"Name": "VariantName", "Value": "AllTraffic"},
            {"Name": "EndpointConfigName", "Value": target},
        ]
        assert request["MetricName"] == alarm.metric and request["Threshold"] == alarm.threshold
        assert request["Period"] == alarm.period_seconds and request["TreatMissingData"] == "notBreaching"
    latency = next(r for r in deployment if r["MetricName"] == "ModelLatency")
    assert latency["ExtendedStatistic"] == "p99" and latency["EvaluateLowSampleCountPercentile"] == "ignore"
    assert log.deleted == [guards]  # removed once the update has ended
    left = {a["AlarmName"] for a in cloudwatch.describe_alarms()["MetricAlarms"]}
    assert left == {a.name for a in cfg.alarms}


def test_the_timeout_must_exceed_the_bakes_plus_the_termination_wait() -> None:
    fields = {"strategy": "canary", "wait_seconds": 800, "max_execution_timeout_seconds": 1900}
    DeploymentPolicy(**fields, termination_wait_seconds=299)  # 2 × 800 + 299 < 1900
    with pytest.raises(ValueError, match=r"need 1900 s, more than max_execution_timeout_seconds 1900 allows"):
        DeploymentPolicy(**fields, termination_wait_seconds=300)


def test_the_timeout_check_counts_the_steps_on_the_real_fleet() -> None:
    # LINEAR 25 % is 4 steps in percent, but 2 of 9 instances a step: 5 steps of 300 s
    policy = {"strategy": "linear", "linear_step_percent": 25, "wait_seconds": 300, "termination_wait_seconds": 120}
    base = environment("prod", 1).model_dump()
    base["deployment"] = {**policy, "max_execution_timeout_seconds": 1500}
    base["endpoint"]["instance_count"] = 8
    EnvironmentConfig.model_validate(base)  # 4 steps of 2 instances: 1320 s
    base["endpoint"]["instance_count"] = 9
    with pytest.raises(ValueError, match=r"bake steps \(5 × 300 s\).*need 1620 s"):
        EnvironmentConfig.model_validate(base)
    base["endpoint"]["instance_count"] = 8
    base["endpoint"]["autoscaling"] = {"enabled": True, "min_capacity": 2, "max_capacity": 9}
    with pytest.raises(ValueError, match=r"need 1620 s"):  # autoscaling can leave 9 instances serving
        EnvironmentConfig.model_validate(base)


def test_config_validate_names_the_timeout_that_misses_the_termination_wait(
    repo_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prod = repo_copy / "config" / "prod.yaml"
    prod.write_text(prod.read_text().replace("  wait_seconds: 300\n", "  wait_seconds: 850\n"))
    assert main(["config", "validate"]) == ExitCode.CONFIG
    out = " ".join(capsys.readouterr().out.split())
    assert "prod.yaml:deployment: " in out
    assert "the bake steps (2 × 850 s) and the termination wait (120 s) need 1820 s" in out
    assert "more than max_execution_timeout_seconds 1800 allows" in out and "Traceback" not in out


def test_canary_with_autoscaling_needs_two_instances_at_the_least() -> None:
    with pytest.raises(ValueError, match=r"endpoint.autoscaling.min_capacity ≥ 2 \(found 1\)"):
        environment("prod", 1, autoscaling={"enabled": True, "min_capacity": 1, "max_capacity": 4})
