"""A serverless environment on SageMaker: the endpoint config's `ServerlessConfig`, plan reads, all-at-once updates.

moto keeps the endpoint, configs and models (it accepts and echoes `ServerlessConfig`); the
update is answered by a Stubber (moto has no UpdateEndpoint). Every request is checked against
the full service model (`tests/aws_validation.py`); the largest settings are checked here too.
"""

from __future__ import annotations

from typing import Any

import boto3
import botocore.session
import pytest

from deploy.config.schema import EnvironmentConfig
from deploy.endpoints.plan import diff
from deploy.sagemaker.alarms import deployment_alarm_name
from deploy.sagemaker.resources import variant_sizing
from tests.aws_service_model import violations

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

ENDPOINT = "churn-staging"
SERVERLESS = {"memory_size_mb": 2048, "max_concurrency": 5, "provisioned_concurrency": None}


def serverless_env(version: int, **serverless: Any) -> EnvironmentConfig:
    """config/staging.yaml with `version` pinned and its instances swapped for a serverless variant."""
    data = environment("staging", version).model_dump(exclude_unset=True)
    data["endpoint"] = {k: v for k, v in data["endpoint"].items() if k not in ("instance_type", "instance_count")}
    data["endpoint"]["serverless"] = {**SERVERLESS, **serverless}
    return EnvironmentConfig.model_validate(data)


def service_violations(operation: str, request: dict[str, Any]) -> list[str]:
    model = botocore.session.get_session().get_service_model("sagemaker")
    return violations(model.operation_model(operation), request)


class Recording(SplitClient):
    """The split client, keeping every CreateEndpointConfig and UpdateEndpoint request as sent."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: dict[str, list[dict[str, Any]]] = {"CreateEndpointConfig": [], "UpdateEndpoint": []}

    def create_endpoint_config(self, **kwargs: Any) -> dict[str, Any]:
        self.requests["CreateEndpointConfig"].append(kwargs)
        return self.moto.create_endpoint_config(**kwargs)

    def update_endpoint(self, **kwargs: Any) -> dict[str, Any]:
        self.requests["UpdateEndpoint"].append(kwargs)
        return super().update_endpoint(**kwargs)


def test_create_sends_serverless_config_and_plan_reads_it_back(aws_setup: dict[str, str]) -> None:
    (arn,) = register_packages(1)
    cfg = serverless_env(1, provisioned_concurrency=2)
    client, reporter = Recording(), Reporter()
    adapter = endpoints(Session(sagemaker=client), Clock())
    adapter.deploy(desired(cfg, arn, "staging"), None, reporter)

    (request,) = client.requests["CreateEndpointConfig"]
    (variant,) = request["ProductionVariants"]
    assert variant == {
        "VariantName": "AllTraffic",
        "ModelName": variant["ModelName"],
        "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5, "ProvisionedConcurrency": 2},
        "InitialVariantWeight": 1.0,
    }
    assert "DataCaptureConfig" not in request
    assert service_violations("CreateEndpointConfig", request) == []
    assert any("serverless 2048 MB, max concurrency 5, provisioned concurrency 2" in e for e in reporter.events)

    live = adapter.describe("staging", cfg)
    assert live is not None and live.status == "InService"
    assert live.serverless == {"memory_size_mb": 2048, "max_concurrency": 5, "provisioned_concurrency": 2}
    assert (live.instance_type, live.instance_count) == (None, None)
    assert diff(cfg, live) == []
    # No instance count to scale: nothing is registered with Application Auto Scaling.
    aas = boto3.client("application-autoscaling", region_name=REGION)
    assert aas.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"] == []


def test_plan_shows_a_serverless_change_and_a_switch_from_instances(aws_setup: dict[str, str]) -> None:
    (arn,) = register_packages(1)
    cfg = serverless_env(1)
    adapter = endpoints(Session(), Clock())
    adapter.deploy(desired(cfg, arn, "staging"), None, Reporter())
    live = adapter.describe("staging", cfg)

    bigger = serverless_env(1, memory_size_mb=4096)
    (change,) = diff(bigger, live)
    assert change.field == "endpoint.serverless"
    assert (change.live["memory_size_mb"], change.desired["memory_size_mb"]) == (2048, 4096)
    assert adapter.catalog.plan(desired(bigger, arn, "staging")).config_name != live.config_name

    instances = environment("staging", 1)  # git back to ml.m5.large × 1
    changes = {c.field: (c.live, c.desired) for c in diff(instances, live)}
    assert changes == {
        "endpoint.instance_type": (None, "ml.m5.large"),
        "endpoint.instance_count": (None, 1),
        "endpoint.serverless": (SERVERLESS, None),
    }


def test_update_is_blue_green_all_at_once_with_no_instance_sizes(aws_setup: dict[str, str]) -> None:
    arns = register_packages(2)
    client, clock = Recording(), Clock()
    adapter = endpoints(Session(sagemaker=client), clock)
    adapter.deploy(desired(serverless_env(1), arns[0], "staging"), None, Reporter())
    cfg = serverless_env(2)
    live = adapter.describe("staging", cfg)
    assert live is not None and live.config_name
    new = adapter.catalog.plan(desired(cfg, arns[1], "staging")).config_name
    arn = client.moto.describe_endpoint(EndpointName=ENDPOINT)["EndpointArn"]

    client.stubber.add_response("update_endpoint", {"EndpointArn": arn})
    client.stubber.add_response(
        "describe_endpoint", described(ENDPOINT, arn, live.config_name, "Updating", pending=new)
    )
    client.stubber.add_response("describe_endpoint", described(ENDPOINT, arn, new, "InService"))
    reporter = Reporter()
    with client.stubber:
        outcome = adapter.deploy(desired(cfg, arns[1], "staging"), live, reporter)

    assert "churn-classifier v2 serves endpoint 'churn-staging'" in outcome.summary
    (request,) = client.requests["UpdateEndpoint"]
    assert request == {
        "EndpointName": ENDPOINT,
        "EndpointConfigName": new,
        "RetainAllVariantProperties": False,
        "DeploymentConfig": {
            "BlueGreenUpdatePolicy": {
                "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 60},
                "TerminationWaitInSeconds": 0,
                "MaximumExecutionTimeoutInSeconds": 1800,
            },
            "AutoRollbackConfiguration": {
                "Alarms": [{"AlarmName": deployment_alarm_name(a, new)} for a in cfg.alarms],
            },
        },
    }
    assert service_violations("UpdateEndpoint", request) == []
    (create,) = [r for r in client.requests["CreateEndpointConfig"] if r["EndpointConfigName"] == new]
    assert create["ProductionVariants"][0]["ServerlessConfig"] == {"MemorySizeInMB": 2048, "MaxConcurrency": 5}
    assert "InstanceType" not in create["ProductionVariants"][0]


def test_switching_a_scaled_variant_to_serverless_deregisters_its_autoscaling_first(
    aws_setup: dict[str, str],
) -> None:
    arns = register_packages(2)
    client, clock = Recording(), Clock()
    adapter = endpoints(Session(sagemaker=client), clock)
    scaled = environment("staging", 1, autoscaling={"enabled": True, "min_capacity": 1, "max_capacity": 3})
    adapter.deploy(desired(scaled, arns[0], "staging"), None, Reporter())
    aas = boto3.client("application-autoscaling", region_name=REGION)
    assert len(aas.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]) == 1

    cfg = serverless_env(2)
    live = adapter.describe("staging", cfg)
    assert live is not None and live.config_name
    new = adapter.catalog.plan(desired(cfg, arns[1], "staging")).config_name
    arn = client.moto.describe_endpoint(EndpointName=ENDPOINT)["EndpointArn"]
    client.stubber.add_response("update_endpoint", {"EndpointArn": arn})
    client.stubber.add_response("describe_endpoint", described(ENDPOINT, arn, new, "InService"))
    reporter = Reporter()
    with client.stubber:
        adapter.deploy(desired(cfg, arns[1], "staging"), live, reporter)
    assert aas.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"] == []
    assert any(e.startswith("autoscaling deregistered") for e in reporter.events)
    assert client.requests["UpdateEndpoint"][0]["RetainAllVariantProperties"] is False


@pytest.mark.parametrize("memory", [1024, 6144])
def test_the_largest_serverless_settings_fit_the_service_model(memory: int) -> None:
    cfg = serverless_env(1, memory_size_mb=memory, max_concurrency=200, provisioned_concurrency=200)
    variant = {"VariantName": "AllTraffic", "ModelName": "m", **variant_sizing(cfg.endpoint)}
    request = {"EndpointConfigName": "c", "ProductionVariants": [variant]}
    assert service_violations("CreateEndpointConfig", request) == []
