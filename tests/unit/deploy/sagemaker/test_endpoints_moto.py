"""The SageMaker endpoint adapter against moto: create path, plan reads, alarms, autoscaling, cleanup, invoke."""

from __future__ import annotations

import io

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from deploy.endpoints.plan import diff
from deploy.errors import DeployError
from deploy.sagemaker.resources import TAG_COMMIT, TAG_ENV, TAG_SHA256, TAG_VERSION, tag_dict
from deploy.sagemaker.retention import Retention

from .conftest import REGION, ROLE_ARN
from .endpoint_fixtures import COMMIT, Clock, Reporter, Session, desired, endpoints, environment, register_packages


@pytest.fixture
def sm(aws_setup: dict[str, str]):
    return boto3.client("sagemaker", region_name=REGION)


def tags(sm, arn: str) -> dict[str, str]:
    return tag_dict(sm.list_tags(ResourceArn=arn)["Tags"])


def test_plan_of_a_missing_endpoint_is_none(aws_setup: dict[str, str]) -> None:
    assert endpoints(Session(), Clock()).describe("prod", environment("prod")) is None


def test_create_path_builds_model_config_endpoint_alarms_and_tags(sm, aws_setup: dict[str, str]) -> None:
    (arn,) = register_packages(1)
    cfg = environment("prod", 1, data_capture={"enabled": True, "sampling_percentage": 50})
    reporter = Reporter()
    adapter = endpoints(Session(), Clock())
    outcome = adapter.deploy(desired(cfg, arn), None, reporter)
    assert diff(cfg, adapter.describe("prod", cfg)) == []  # data capture's default destination reads as unset

    endpoint = sm.describe_endpoint(EndpointName="churn-prod")
    config_name = endpoint["EndpointConfigName"]
    assert config_name == outcome.details["endpoint_config"] and config_name.startswith("churn-prod-v1-")
    config = sm.describe_endpoint_config(EndpointConfigName=config_name)
    (variant,) = config["ProductionVariants"]
    assert (variant["VariantName"], variant["InstanceType"], variant["InitialInstanceCount"]) == (
        "AllTraffic",
        "ml.m5.large",
        2,
    )
    assert config["DataCaptureConfig"]["InitialSamplingPercentage"] == 50
    assert (
        config["DataCaptureConfig"]["DestinationS3Uri"] == f"s3://{aws_setup['bucket']}/mlops/data-capture/churn-prod"
    )
    model = sm.describe_model(ModelName=variant["ModelName"])
    assert model["Containers"] == [{"ModelPackageName": arn}] and model["ExecutionRoleArn"] == ROLE_ARN
    config_tags = tags(sm, config["EndpointConfigArn"])
    assert config_tags[TAG_VERSION] == "1" and config_tags[TAG_SHA256] == cfg.model.sha256
    assert config_tags[TAG_COMMIT] == COMMIT and config_tags[TAG_ENV] == "prod"
    assert tags(sm, model["ModelArn"])[TAG_VERSION] == "1"

    alarms = boto3.client("cloudwatch", region_name=REGION).describe_alarms()["MetricAlarms"]
    by_name = {a["AlarmName"]: a for a in alarms}
    latency = by_name["churn-prod-p99-latency"]
    assert latency["ExtendedStatistic"] == "p99" and "Statistic" not in latency
    assert latency["Namespace"] == "AWS/SageMaker" and latency["Threshold"] == 100000.0
    assert {d["Name"]: d["Value"] for d in latency["Dimensions"]} == {
        "EndpointName": "churn-prod",
        "VariantName": "AllTraffic",
    }
    assert by_name["churn-prod-5xx"]["Statistic"] == "Sum"
    assert any("CreateEndpoint" in e for e in reporter.events)


def test_describe_reads_back_what_git_says_so_a_redeploy_is_a_noop(sm, aws_setup: dict[str, str]) -> None:
    (arn,) = register_packages(1)
    cfg = environment("prod", 1, autoscaling={"enabled": True, "min_capacity": 2, "max_capacity": 6})
    adapter = endpoints(Session(), Clock())
    adapter.deploy(desired(cfg, arn), None, Reporter())
    live = adapter.describe("prod", cfg)
    assert live is not None and live.status == "InService" and live.package_arn == arn
    assert diff(cfg, live) == []
    assert live.autoscaling == cfg.endpoint.autoscaling.model_dump()
    assert live.alarms == [a.model_dump() for a in cfg.alarms]

    changed = cfg.model_copy(update={"deployment": cfg.deployment.model_copy(update={"wait_seconds": 600})})
    assert [c.field for c in diff(changed, live)] == ["deployment"]
    fewer = cfg.model_copy(update={"alarms": cfg.alarms[:1]})
    assert [c.field for c in diff(fewer, live)] == ["alarms"]


def test_config_only_change_moves_no_traffic_and_removes_dropped_alarms(sm, aws_setup: dict[str, str]) -> None:
    (arn,) = register_packages(1)
    cfg = environment("prod", 1)
    adapter = endpoints(Session(), Clock())
    adapter.deploy(desired(cfg, arn), None, Reporter())
    before = sm.describe_endpoint(EndpointName="churn-prod")["EndpointConfigName"]
    changed = cfg.model_copy(
        update={"alarms": cfg.alarms[:1], "deployment": cfg.deployment.model_copy(update={"canary_percent": 20})}
    )
    reporter = Reporter()
    outcome = adapter.deploy(desired(changed, arn), adapter.describe("prod", cfg), reporter)
    assert "no traffic shift" in outcome.summary
    assert sm.describe_endpoint(EndpointName="churn-prod")["EndpointConfigName"] == before
    names = [a["AlarmName"] for a in boto3.client("cloudwatch", region_name=REGION).describe_alarms()["MetricAlarms"]]
    assert names == ["churn-prod-5xx"]
    assert diff(changed, adapter.describe("prod", changed)) == []


def test_autoscaling_is_registered_and_deregistered(aws_setup: dict[str, str]) -> None:
    (arn,) = register_packages(1)
    cfg = environment(
        "prod",
        1,
        autoscaling={"enabled": True, "min_capacity": 2, "max_capacity": 5, "target_invocations_per_instance": 700},
    )
    adapter = endpoints(Session(), Clock())
    adapter.deploy(desired(cfg, arn), None, Reporter())
    aas = boto3.client("application-autoscaling", region_name=REGION)
    (target,) = aas.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    assert target["ResourceId"] == "endpoint/churn-prod/variant/AllTraffic" and target["MaxCapacity"] == 5
    (policy,) = aas.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"]
    tracking = policy["TargetTrackingScalingPolicyConfiguration"]
    assert tracking["TargetValue"] == 700.0
    assert tracking["PredefinedMetricSpecification"]["PredefinedMetricType"] == "SageMakerVariantInvocationsPerInstance"

    off = environment("prod", 1)
    adapter.deploy(desired(off, arn), adapter.describe("prod", cfg), Reporter())
    assert aas.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"] == []
    assert diff(off, adapter.describe("prod", off)) == []


def test_a_busy_or_failed_endpoint_is_not_touched(aws_setup: dict[str, str]) -> None:
    (arn,) = register_packages(1)
    cfg = environment("prod", 1)
    adapter = endpoints(Session(), Clock())
    adapter.deploy(desired(cfg, arn), None, Reporter())
    live = adapter.describe("prod", cfg)
    assert live is not None
    for status, words in (("Updating", "another deployment"), ("Failed", "delete-endpoint")):
        with pytest.raises(DeployError, match=words):
            adapter.deploy(desired(cfg, arn), live.__class__(**{**live.__dict__, "status": status}), Reporter())


def test_retention_keeps_live_previous_and_keep_previous_only_own_resources(sm, aws_setup: dict[str, str]) -> None:
    arns = register_packages(5)
    adapter = endpoints(Session(), Clock())
    names = []
    for version, arn in enumerate(arns, start=1):
        plan = adapter.catalog.plan(desired(environment("prod", version), arn))
        adapter.catalog.ensure(desired(environment("prod", version), arn), plan, Reporter())
        names.append((plan.config_name, plan.model_name))
    sm.create_model(ModelName="churn-prod-by-hand", ExecutionRoleArn=ROLE_ARN, Containers=[{"Image": "x"}])
    live, previous = names[2][0], names[0][0]  # e.g. after a revert to v3 from v1
    deleted = Retention(sm, "churn-prod", keep_previous=1).prune(live, previous)
    left = {c["EndpointConfigName"] for c in sm.list_endpoint_configs()["EndpointConfigs"]}
    assert left == {live, previous, names[4][0]}  # live, previous, and the newest other one
    assert set(deleted) == {names[1][0], names[3][0], names[1][1], names[3][1]}
    assert "churn-prod-by-hand" in {m["ModelName"] for m in sm.list_models()["Models"]}


def runtime_with(answer: dict | None = None, error: dict | None = None):
    client = boto3.client("sagemaker-runtime", region_name=REGION)
    stub = Stubber(client)
    if answer is not None:
        stub.add_response("invoke_endpoint", answer)
    else:
        stub.add_client_error("invoke_endpoint", **(error or {}))
    stub.activate()
    return client


def test_invoke_times_the_call_and_names_the_variant(aws_env: dict[str, str]) -> None:
    body = b'{"predictions": [{"label": 1, "probability": 0.9}]}'
    answer = {
        "Body": StreamingBody(io.BytesIO(body), len(body)),
        "ContentType": "application/json",
        "InvokedProductionVariant": "AllTraffic",
    }
    adapter = endpoints(Session(sagemaker_runtime=runtime_with(answer)), Clock())
    result = adapter.invoke("prod", environment("prod"), b"{}", "application/json")
    assert (result.status, result.body, result.variant) == (200, body, "AllTraffic")
    assert result.latency_ms >= 0


@pytest.mark.parametrize(
    ("error", "status", "text"),
    [
        (
            {
                "service_error_code": "ModelError",
                "http_status_code": 424,
                "service_message": "Received client error",
                "modeled_fields": {"OriginalStatusCode": 400, "OriginalMessage": "cannot parse payload"},
            },
            400,
            "cannot parse payload",
        ),
        (
            {
                "service_error_code": "ValidationError",
                "http_status_code": 400,
                "service_message": "Endpoint churn-prod of account 1 not found.",
            },
            400,
            "not found",
        ),
    ],
)
def test_runtime_errors_become_http_answers(aws_env: dict[str, str], error: dict, status: int, text: str) -> None:
    adapter = endpoints(Session(sagemaker_runtime=runtime_with(error=error)), Clock())
    result = adapter.invoke("prod", environment("prod"), b"not json", "application/json")
    assert result.status == status and text in result.body.decode()
