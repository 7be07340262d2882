"""`mlops deploy --env staging --backend sagemaker` against a moto server reached through AWS_ENDPOINT_URL.

The command runs in-process but every AWS call goes over HTTP to the server, as it would to
AWS. The model package is created with plain boto3, as the pipeline would have registered
it, and pinned in the scratch copy of config/staging.yaml. moto brings endpoints InService
at once, so this is the create path; updates are covered by the Stubber tests.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import boto3
import pytest

from deploy.cli.app import main
from deploy.config.schema import ModelPin
from deploy.promotion.pins import plan_pins, write_pins
from tests.e2e.moto_server import BUCKET, ROLE_ARN

GROUP = "churn-classifier"
ARTIFACT = b"model.tar.gz bytes"


def register_package() -> tuple[str, str]:
    """A model package as the pipeline registers it: artifact in S3, sha256 in its metadata."""
    s3, sm = boto3.client("s3"), boto3.client("sagemaker")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="mlops/models/model.tar.gz", Body=ARTIFACT)
    sm.create_model_package_group(ModelPackageGroupName=GROUP)
    digest = hashlib.sha256(ARTIFACT).hexdigest()
    arn = sm.create_model_package(
        ModelPackageGroupName=GROUP,
        InferenceSpecification={
            "Containers": [{"Image": "sklearn:1.9-0", "ModelDataUrl": f"s3://{BUCKET}/mlops/models/model.tar.gz"}],
            "SupportedContentTypes": ["text/csv", "application/json"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
        CustomerMetadataProperties={"artifact_sha256": digest},
        ModelApprovalStatus="PendingManualApproval",
    )["ModelPackageArn"]
    return arn, digest


def test_deploy_staging_creates_endpoint_config_model_and_alarms(
    moto_endpoint: str, repo_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = repo_copy / "config" / "pipeline.yaml"
    config.write_text(config.read_text().replace("\nsagemaker:\n", "\nsagemaker:\n  poll_seconds: 0.01\n"))
    sm, cloudwatch = boto3.client("sagemaker"), boto3.client("cloudwatch")
    assert sm.meta.endpoint_url == moto_endpoint
    arn, digest = register_package()
    write_pins(plan_pins(repo_copy / "config", ModelPin(version=1, package_arn=arn, sha256=digest)))

    assert main(["plan", "--env", "staging", "--backend", "sagemaker"]) == 10
    assert main(["deploy", "--env", "staging", "--backend", "sagemaker"]) == 0

    endpoint = sm.describe_endpoint(EndpointName="churn-staging")
    assert endpoint["EndpointStatus"] == "InService"
    config_name = endpoint["EndpointConfigName"]
    assert config_name.startswith("churn-staging-v1-")
    (variant,) = sm.describe_endpoint_config(EndpointConfigName=config_name)["ProductionVariants"]
    assert (variant["VariantName"], variant["InitialInstanceCount"]) == ("AllTraffic", 1)
    model = sm.describe_model(ModelName=variant["ModelName"])
    assert model["Containers"] == [{"ModelPackageName": arn}] and model["ExecutionRoleArn"] == ROLE_ARN
    (alarm,) = cloudwatch.describe_alarms(AlarmNames=["churn-staging-5xx"])["MetricAlarms"]
    assert alarm["MetricName"] == "Invocation5XXErrors" and alarm["Namespace"] == "AWS/SageMaker"

    capsys.readouterr()
    assert main(["plan", "--env", "staging", "--backend", "sagemaker"]) == 0
    assert "no changes" in capsys.readouterr().out
    assert main(["deploy", "--env", "staging", "--backend", "sagemaker"]) == 0
    package = sm.describe_model_package(ModelPackageName=arn)
    assert package["ModelApprovalStatus"] == "PendingManualApproval"  # staging does not approve

    payload = repo_copy / "payload.json"
    payload.write_text(json.dumps({"instances": [{"tenure_months": 3}]}))
    assert main(["invoke", "--env", "staging", "--backend", "sagemaker", "--file", str(payload)]) == 0
    assert "HTTP 200" in capsys.readouterr().err  # moto answers with a canned body
