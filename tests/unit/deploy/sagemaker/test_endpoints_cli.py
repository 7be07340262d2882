"""`mlops deploy|plan --backend sagemaker` end to end in-process: moto, the real Model Registry adapter, exit codes."""

from __future__ import annotations

import tarfile
from pathlib import Path

import boto3
import pytest

from deploy.cli.app import main
from deploy.config.schema import ModelPin
from deploy.promotion.pins import plan_pins, write_pins
from deploy.sagemaker.backend import SageMakerBackend
from deploy.sagemaker.endpoints import SageMakerEndpoints
from deploy.sagemaker.registry import ModelRegistry
from deploy.sagemaker.session import AwsSession
from deploy.sagemaker.settings import Settings

from .conftest import BUCKET, GROUP, REGION, ROLE_ARN
from .endpoint_fixtures import Clock, Session, SplitClient, described

REPO = Path(__file__).resolve().parents[4]


def register(root: Path, text: str) -> tuple[int, str, str]:
    """One model version in moto's registry through the real adapter: (version, arn, sha256)."""
    (root / "model.joblib").write_text(text)
    (root / "model_info.json").write_text('{"sklearn_version": "1.9.0"}')
    target = root / f"{text}.tar.gz"
    with tarfile.open(target, "w:gz") as tar:
        tar.add(root / "model.joblib", arcname="model.joblib")
        tar.add(root / "model_info.json", arcname="model_info.json")
    registry = ModelRegistry(AwsSession(REGION), Settings(REGION, ROLE_ARN, BUCKET, "mlops"), REPO, "1.9-0")
    uri, digest = registry.store_artifact(target)
    model = registry.register(GROUP, artifact_uri=uri, sha256=digest, evaluation={}, lineage={"git_commit": "abc"})
    return model.version, model.arn, digest


def pin(repo: Path, version: int, sha256: str, arn: str | None = None) -> None:
    write_pins(plan_pins(repo / "config", ModelPin(version=version, package_arn=arn, sha256=sha256)))


def test_missing_package_is_refused_with_exit_7(sm_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pin(sm_repo, 7, "a" * 64)
    assert main(["deploy", "--env", "staging", "--backend", "sagemaker"]) == 7
    stderr = capsys.readouterr().err
    assert "config/staging.yaml:model.version: refusing to deploy" in stderr and "version 7 is not in" in stderr
    assert boto3.client("sagemaker", region_name=REGION).list_endpoints()["Endpoints"] == []


def test_sha256_mismatch_is_refused_with_exit_7(sm_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    version, arn, digest = register(sm_repo, "weights")
    pin(sm_repo, version, "f" * 64, arn)
    assert main(["deploy", "--env", "staging", "--backend", "sagemaker"]) == 7
    assert "git pins ffffffffffff…, the registry records" in capsys.readouterr().err
    pin(sm_repo, version, digest, arn)
    uri = boto3.client("sagemaker", region_name=REGION).describe_model_package(ModelPackageName=arn)[
        "InferenceSpecification"
    ]["Containers"][0]["ModelDataUrl"]
    bucket, _, path = uri.removeprefix("s3://").partition("/")
    boto3.client("s3", region_name=REGION).put_object(Bucket=bucket, Key=path, Body=b"tampered")
    assert main(["deploy", "--env", "staging", "--backend", "sagemaker"]) == 7
    assert "its model.tar.gz hashes to" in capsys.readouterr().err


def test_prod_deploy_creates_then_approves_and_plan_is_clean(sm_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    version, arn, digest = register(sm_repo, "weights")
    pin(sm_repo, version, digest, arn)
    assert main(["plan", "--env", "prod", "--backend", "sagemaker"]) == 10
    assert main(["deploy", "--env", "prod", "--backend", "sagemaker"]) == 0
    assert "registry: Approved" in capsys.readouterr().err
    package = boto3.client("sagemaker", region_name=REGION).describe_model_package(ModelPackageName=arn)
    assert package["ModelApprovalStatus"] == "Approved"
    assert package["CustomerMetadataProperties"]["audit.deployed_env"] == "prod"
    assert main(["plan", "--env", "prod", "--backend", "sagemaker"]) == 0
    assert main(["deploy", "--env", "prod", "--backend", "sagemaker"]) == 0
    assert "nothing to do" in capsys.readouterr().err


def test_rolled_back_deploy_exits_8_and_leaves_the_package_pending(
    sm_repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    first, arn1, digest1 = register(sm_repo, "one")
    pin(sm_repo, first, digest1, arn1)
    assert main(["deploy", "--env", "prod", "--backend", "sagemaker"]) == 0
    second, arn2, digest2 = register(sm_repo, "two")
    pin(sm_repo, second, digest2, arn2)
    split, clock = SplitClient(), Clock()
    old = split.moto.describe_endpoint(EndpointName="churn-prod")
    split.stubber.add_response("update_endpoint", {"EndpointArn": old["EndpointArn"]})
    for status in ("Updating", "InService"):
        answer = described("churn-prod", old["EndpointArn"], old["EndpointConfigName"], status, pending="x")
        split.stubber.add_response("describe_endpoint", answer)

    def stubbed_endpoints(self: SageMakerBackend) -> SageMakerEndpoints:
        return SageMakerEndpoints(
            Session(sagemaker=split), self.pipeline, self.registry(), sleep=clock.sleep, clock=clock
        )

    monkeypatch.setattr(SageMakerBackend, "endpoints", stubbed_endpoints)
    capsys.readouterr()
    with split.stubber:
        assert main(["deploy", "--env", "prod", "--backend", "sagemaker"]) == 8
    stderr = " ".join(capsys.readouterr().err.split())
    assert "ROLLED BACK (silently" in stderr and "churn-classifier v1 (endpoint config" in stderr
    package = boto3.client("sagemaker", region_name=REGION).describe_model_package(ModelPackageName=arn2)
    assert package["ModelApprovalStatus"] == "PendingManualApproval"


def test_plan_states_the_canarys_real_traffic_share_on_a_two_instance_fleet(
    sm_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, arn1, digest1 = register(sm_repo, "one")
    pin(sm_repo, first, digest1, arn1)
    assert main(["deploy", "--env", "prod", "--backend", "sagemaker"]) == 0
    second, arn2, digest2 = register(sm_repo, "two")
    pin(sm_repo, second, digest2, arn2)
    capsys.readouterr()
    assert main(["plan", "--env", "prod", "--backend", "sagemaker"]) == 10
    out = " ".join(capsys.readouterr().out.split())
    assert "prod (churn-prod): update" in out
    assert (
        "rollout: canary of 10 % of 2 instances is 1 instance: on SageMaker it takes 50 % of traffic, not the "
        "10 % configured (whole instances; the local backend shifts 10 %), then 100 %; "
        "bake 300 s a step, termination wait 120 s"
    ) in out
    assert main(["plan", "--env", "prod", "--backend", "sagemaker", "--format", "markdown"]) == 10
    assert "it takes 50 % of traffic, not the 10 % configured" in " ".join(capsys.readouterr().out.split())
