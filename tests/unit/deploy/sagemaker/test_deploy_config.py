"""The deployment policy → `DeploymentConfig` translation, names and tags, and prod's UpdateEndpoint request."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import ANY, Stubber

from deploy.config.schema import DeploymentPolicy
from deploy.sagemaker import resources as res
from deploy.sagemaker.deployment_config import deployment_config, follow_timeout_seconds

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
    assert deployment_config(policy, ["a-5xx", "a-p99"]) == {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {
                "Type": "CANARY",
                "WaitIntervalInSeconds": 600,
                "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 25},
            },
            "TerminationWaitInSeconds": 60,
            "MaximumExecutionTimeoutInSeconds": 3600,
        },
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "a-5xx"}, {"AlarmName": "a-p99"}]},
    }


def test_linear_and_all_at_once() -> None:
    linear = deployment_config(DeploymentPolicy(strategy="linear", linear_step_percent=25, wait_seconds=60), ["x"])
    routing = linear["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
    assert routing == {
        "Type": "LINEAR",
        "WaitIntervalInSeconds": 60,
        "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": 25},
    }
    at_once = deployment_config(DeploymentPolicy(wait_seconds=0), [])
    assert at_once["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"] == {
        "Type": "ALL_AT_ONCE",
        "WaitIntervalInSeconds": 0,
    }
    assert "AutoRollbackConfiguration" not in at_once  # no alarms: SageMaker would reject an empty list


@pytest.mark.parametrize("strategy", ["all_at_once", "canary", "linear"])
def test_every_strategy_passes_botocore_validation(strategy: str, aws_env: dict[str, str]) -> None:
    client = boto3.client("sagemaker", region_name=REGION)
    request = deployment_config(DeploymentPolicy(strategy=strategy, wait_seconds=120), ["alarm"])
    with Stubber(client) as stub:
        stub.add_response("update_endpoint", {"EndpointArn": "arn:aws:sagemaker:eu-west-1:1:endpoint/e"})
        client.update_endpoint(EndpointName="e", EndpointConfigName="c", DeploymentConfig=request)
        stub.assert_no_pending_responses()


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


def test_prod_update_request_matches_the_policy_field_by_field(aws_setup: dict[str, str]) -> None:
    """The UpdateEndpoint request for config/prod.yaml, checked by botocore's Stubber against the service model."""
    arns = register_packages(2)
    clock, split = Clock(), SplitClient()
    adapter = endpoints(Session(sagemaker=split), clock)
    first = environment("prod", 1)
    adapter.deploy(desired(first, arns[0]), None, Reporter())
    cfg = environment("prod", 2)
    policy = cfg.deployment
    live = adapter.describe("prod", cfg)
    assert live is not None and live.deployment == policy.model_dump()
    expected = {
        "EndpointName": cfg.endpoint.name,
        "EndpointConfigName": ANY,
        "RetainAllVariantProperties": False,
        "DeploymentConfig": {
            "BlueGreenUpdatePolicy": {
                "TrafficRoutingConfiguration": {
                    "Type": policy.strategy.upper(),
                    "WaitIntervalInSeconds": policy.wait_seconds,
                    "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": policy.canary_percent},
                },
                "TerminationWaitInSeconds": policy.termination_wait_seconds,
                "MaximumExecutionTimeoutInSeconds": policy.max_execution_timeout_seconds,
            },
            "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": a.name} for a in cfg.alarms]},
        },
    }
    assert policy.strategy == "canary" and len(cfg.alarms) == 2
    arn = adapter.sagemaker.describe_endpoint(EndpointName=cfg.endpoint.name)["EndpointArn"]
    target = adapter.catalog.plan(desired(cfg, arns[1])).config_name
    expected["EndpointConfigName"] = target
    split.stubber.add_response("update_endpoint", {"EndpointArn": arn}, expected_params=expected)
    split.stubber.add_response("describe_endpoint", described(cfg.endpoint.name, arn, target, "InService"))
    with split.stubber:
        outcome = adapter.deploy(desired(cfg, arns[1]), live, Reporter())
    split.stubber.assert_no_pending_responses()
    assert outcome.details["endpoint_config"] == target
