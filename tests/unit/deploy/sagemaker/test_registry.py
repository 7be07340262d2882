"""The Model Registry adapter against moto, and `mlops models …` with `--backend sagemaker`."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import boto3
import pytest

from deploy.cli.app import main
from deploy.errors import AwsSetupError, RegistryError
from deploy.sagemaker.registry import ModelRegistry, metadata_properties, split_properties
from deploy.sagemaker.session import AwsSession
from deploy.sagemaker.settings import Settings
from deploy.sagemaker.sourcedir import pack_sourcedir

from .conftest import BUCKET, GROUP, REGION, ROLE_ARN

REPO = Path(__file__).resolve().parents[4]
EVALUATION = {"binary_classification_metrics": {"auc": {"value": 0.8, "standard_deviation": 0.0}}}


@pytest.fixture
def registry(aws_setup: dict[str, str], tmp_path: Path) -> ModelRegistry:
    return ModelRegistry(AwsSession(REGION), Settings(REGION, ROLE_ARN, BUCKET, "mlops"), REPO, "1.9-0")


def model_tar(tmp_path: Path, text: str = "weights") -> Path:
    (tmp_path / "model").mkdir(exist_ok=True)
    (tmp_path / "model" / "model.joblib").write_text(text)
    target = tmp_path / f"model-{text}.tar.gz"
    with tarfile.open(target, "w:gz") as tar:
        tar.add(tmp_path / "model" / "model.joblib", arcname="model.joblib")
    return target


def register(registry: ModelRegistry, tmp_path: Path, text: str = "weights") -> int:
    uri, digest = registry.store_artifact(model_tar(tmp_path, text))
    lineage = {"git_commit": "abc123", "run_url": None, "hyperparameters": {"C": "1.0"}, "step_seconds": {"train": 1.5}}
    return registry.register(GROUP, artifact_uri=uri, sha256=digest, evaluation=EVALUATION, lineage=lineage).version


def test_register_list_get_round_trip(registry: ModelRegistry, tmp_path: Path) -> None:
    assert registry.list(GROUP) == []
    assert [register(registry, tmp_path, "a"), register(registry, tmp_path, "b")] == [1, 2]
    first, second = registry.list(GROUP)
    assert (first.version, second.version) == (1, 2)
    assert first.status == "PendingManualApproval" and first.metric("auc") == 0.8
    assert first.lineage["hyperparameters"] == {"C": "1.0"} and "run_url" not in first.lineage
    assert first.lineage["evaluation_uri"].startswith(f"s3://{BUCKET}/mlops/evaluation/")
    assert registry.get(GROUP, 2).arn == second.arn
    assert registry.artifact_sha256(second) == second.sha256 != first.sha256
    with pytest.raises(RegistryError, match="version 7 is not in"):
        registry.get(GROUP, 7)


def test_serving_container_points_at_the_packaged_inference_module(registry: ModelRegistry, tmp_path: Path) -> None:
    register(registry, tmp_path)
    sm = boto3.client("sagemaker", region_name=REGION)
    arn = registry.get(GROUP, 1).arn
    container = sm.describe_model_package(ModelPackageName=arn)["InferenceSpecification"]["Containers"][0]
    env = container["Environment"]
    assert env["SAGEMAKER_PROGRAM"] == "inference.py" and env["PYTHONPATH"] == "/opt/ml/code"
    key = env["SAGEMAKER_SUBMIT_DIRECTORY"].removeprefix(f"s3://{BUCKET}/")
    body = boto3.client("s3", region_name=REGION).get_object(Bucket=BUCKET, Key=key)["Body"].read()
    assert body == pack_sourcedir(REPO / "ml")


def test_approval_keeps_lineage_and_records_audit(registry: ModelRegistry, tmp_path: Path) -> None:
    register(registry, tmp_path)
    approved = registry.update_status(GROUP, 1, "Approved", reason="serving in prod", metadata={"deployed_env": "prod"})
    again = registry.get(GROUP, 1)
    assert approved.status == again.status == "Approved"
    assert again.status_reason == "serving in prod"
    assert again.metadata == {"deployed_env": "prod"}
    assert again.lineage["git_commit"] == "abc123" and again.sha256 == approved.sha256


def test_missing_group_is_a_setup_error(registry: ModelRegistry, tmp_path: Path) -> None:
    with pytest.raises(AwsSetupError, match="model package group 'nope' does not exist"):
        registry.list("nope")


def test_long_and_structured_lineage_fits_the_metadata_limits() -> None:
    lineage = {"note": "x" * 5000, "hyperparameters": {"C": "1.0", "max_iter": "200"}, "none": None}
    props = metadata_properties(lineage, {"gate": "passed"})
    assert props["hyperparameters.json"] == '{"C":"1.0","max_iter":"200"}'
    assert len(props["note"]) == 1024 and "none" not in props and props["audit.gate"] == "passed"
    back, audit = split_properties(props)
    assert back["hyperparameters"] == {"C": "1.0", "max_iter": "200"} and audit == {"gate": "passed"}


def test_models_commands_work_with_the_sagemaker_backend(
    registry: ModelRegistry, tmp_path: Path, repo_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    register(registry, tmp_path, "a")
    register(registry, tmp_path, "b")
    capsys.readouterr()
    assert main(["models", "list", "--backend", "sagemaker", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [v["version"] for v in listed] == [1, 2] and listed[0]["metrics"] == {"auc": 0.8}
    assert main(["models", "approve", "2", "--backend", "sagemaker"]) == 0
    assert main(["models", "reject", "1", "--reason", "worse auc", "--backend", "sagemaker"]) == 0
    assert main(["models", "show", "--backend", "sagemaker"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["version"], shown["status"]) == (2, "Approved")
    assert registry.get(GROUP, 1).status_reason == "worse auc"
