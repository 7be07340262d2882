"""`mlops teardown` on SageMaker (moto): removes what deploys made for the environment, and nothing else."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from deploy.cli.app import main

from .conftest import REGION, ROLE_ARN
from .endpoint_fixtures import Clock, Reporter, Session, desired, endpoints, environment, register_packages
from .test_endpoints_cli import pin, register


def foreign_resources(sm, cloudwatch) -> None:
    """What another tool or a person made in the same account: a model, a config and an alarm."""
    sm.create_model(ModelName="churn-prod-by-hand", ExecutionRoleArn=ROLE_ARN,
                    PrimaryContainer={"Image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/x:1"})  # fmt: skip
    sm.create_endpoint_config(
        EndpointConfigName="churn-prod-by-hand",
        ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": "churn-prod-by-hand",
                             "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}],
    )  # fmt: skip
    cloudwatch.put_metric_alarm(
        AlarmName="churn-prod-someone-elses", Namespace="AWS/SageMaker", MetricName="Invocations", Statistic="Sum",
        Period=60, EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold",
        Dimensions=[{"Name": "EndpointName", "Value": "churn-prod"}],
    )  # fmt: skip


def test_teardown_removes_only_what_deploys_created(aws_setup: dict[str, str]) -> None:
    sm, cloudwatch = boto3.client("sagemaker", region_name=REGION), boto3.client("cloudwatch", region_name=REGION)
    arns = register_packages(2)
    adapter = endpoints(Session(), Clock())
    first = environment("prod", 1, autoscaling={"enabled": True, "min_capacity": 2, "max_capacity": 4})
    adapter.deploy(desired(first, arns[0]), None, Reporter())
    foreign_resources(sm, cloudwatch)

    found = adapter.teardown("prod", first, dry_run=True)
    assert found[:2] == ["autoscaling target endpoint/churn-prod/variant/AllTraffic", "endpoint churn-prod"]
    assert sum(line.startswith("endpoint config churn-prod-v1-") for line in found) == 1
    assert sum(line.startswith("model churn-prod-v1-") for line in found) == 1
    assert {line for line in found if line.startswith("alarm ")} == {
        "alarm churn-prod-5xx",
        "alarm churn-prod-p99-latency",
    }
    assert not any("by-hand" in line or "someone-elses" in line for line in found)
    assert sm.describe_endpoint(EndpointName="churn-prod")["EndpointStatus"] == "InService"  # dry run: all still there

    assert adapter.teardown("prod", first, dry_run=False) == found
    assert sm.list_endpoints()["Endpoints"] == []
    assert [c["EndpointConfigName"] for c in sm.list_endpoint_configs()["EndpointConfigs"]] == ["churn-prod-by-hand"]
    assert [m["ModelName"] for m in sm.list_models()["Models"]] == ["churn-prod-by-hand"]
    assert [a["AlarmName"] for a in cloudwatch.describe_alarms()["MetricAlarms"]] == ["churn-prod-someone-elses"]
    scaling = boto3.client("application-autoscaling", region_name=REGION)
    assert scaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"] == []
    # The registry keeps every version: a later deploy recreates the environment from the pin.
    assert len(sm.list_model_packages(ModelPackageGroupName="churn-classifier")["ModelPackageSummaryList"]) == 2
    assert adapter.describe("prod", first) is None
    assert adapter.teardown("prod", first, dry_run=True) == []


def test_cli_teardown_dry_run_then_yes_then_plan_shows_a_create(
    sm_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    version, arn, digest = register(sm_repo, "weights")
    pin(sm_repo, version, digest, arn)
    assert main(["deploy", "--env", "staging", "--backend", "sagemaker"]) == 0
    capsys.readouterr()
    assert main(["teardown", "--env", "staging", "--backend", "sagemaker", "--dry-run"]) == 0
    listing = capsys.readouterr().out
    assert listing.startswith("staging (churn-staging): would remove\n  - endpoint churn-staging\n")
    assert main(["plan", "--env", "staging", "--backend", "sagemaker"]) == 0  # the dry run removed nothing
    # Not at a terminal and no --yes: refused, nothing removed.
    assert main(["teardown", "--env", "staging", "--backend", "sagemaker"]) == 2
    assert "pass --yes when not at a terminal" in capsys.readouterr().err
    assert main(["teardown", "--env", "staging", "--backend", "sagemaker", "--yes"]) == 0
    assert "the pin in config/staging.yaml stays" in capsys.readouterr().err
    assert f"version: {version}" in (sm_repo / "config" / "staging.yaml").read_text()
    assert main(["plan", "--env", "staging", "--backend", "sagemaker"]) == 10
    assert "staging (churn-staging): create" in capsys.readouterr().out
    assert main(["teardown", "--env", "staging", "--backend", "sagemaker", "--yes"]) == 0
    assert "nothing to remove" in capsys.readouterr().out
