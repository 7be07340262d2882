"""The Model Registry adapter against moto, and `mlops models …` with `--backend sagemaker`."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import boto3
import pytest

from deploy.cli.app import main
from deploy.errors import AwsSetupError, RegistryError
from deploy.sagemaker.metadata import allowed, decode, encode
from deploy.sagemaker.registry import ModelRegistry
from deploy.sagemaker.session import AwsSession
from deploy.sagemaker.settings import Settings
from deploy.sagemaker.sourcedir import pack_sourcedir

from .conftest import BUCKET, GROUP, REGION, ROLE_ARN

REPO = Path(__file__).resolve().parents[4]
EVALUATION = {"binary_classification_metrics": {"auc": {"value": 0.8, "standard_deviation": 0.0}}}


@pytest.fixture
def registry(aws_setup: dict[str, str], tmp_path: Path) -> ModelRegistry:
    return ModelRegistry(AwsSession(REGION), Settings(REGION, ROLE_ARN, BUCKET, "mlops"), REPO, "1.9-0")


def model_tar(tmp_path: Path, text: str = "weights", sklearn_version: str = "1.9.0") -> Path:
    (tmp_path / "model").mkdir(exist_ok=True)
    (tmp_path / "model" / "model.joblib").write_text(text)
    (tmp_path / "model" / "model_info.json").write_text(json.dumps({"sklearn_version": sklearn_version}))
    target = tmp_path / f"model-{text}.tar.gz"
    with tarfile.open(target, "w:gz") as tar:
        for name in ("model.joblib", "model_info.json"):
            tar.add(tmp_path / "model" / name, arcname=name)
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
    assert env["PIP_NO_BUILD_ISOLATION"] == "false"  # the start-up install needs no package index
    key = env["SAGEMAKER_SUBMIT_DIRECTORY"].removeprefix(f"s3://{BUCKET}/")
    body = boto3.client("s3", region_name=REGION).get_object(Bucket=BUCKET, Key=key)["Body"].read()
    assert body == pack_sourcedir(REPO / "ml")


def test_approval_keeps_lineage_and_records_audit(registry: ModelRegistry, tmp_path: Path) -> None:
    register(registry, tmp_path)
    approved = registry.update_status(
        GROUP, 1, "Approved", reason="serving in prod\nfrom abc123", metadata={"deployed_env": "prod"}
    )
    again = registry.get(GROUP, 1)
    assert approved.status == again.status == "Approved"
    assert again.status_reason == "serving in prod from abc123"  # one line: `.*` in the service's pattern
    assert again.metadata == {"deployed_env": "prod"}
    assert again.lineage["git_commit"] == "abc123" and again.sha256 == approved.sha256


def test_missing_group_is_a_setup_error(registry: ModelRegistry, tmp_path: Path) -> None:
    with pytest.raises(AwsSetupError, match="model package group 'nope' does not exist"):
        registry.list("nope")


def test_lineage_is_stored_within_the_metadata_limits_and_read_back() -> None:
    hyperparameters = {f"feature_{i}": "a,b;c" * 10 for i in range(8)}  # JSON of it: about 500 characters
    lineage = {
        "git_commit": "0123abc",
        "data_source": "/home/me/data (copy)/churn.csv",  # parentheses: not allowed as is
        "hyperparameters": hyperparameters,
        "step_seconds": {"train": 1.5},
        "note": "x" * 5000,
        "none": None,
    }
    props = encode(lineage, {"gate": "passed", "reason": "rolled back: 5xx > 1 #7"})
    assert all(allowed(k, 128) and allowed(v) for k, v in props.items()), props
    assert props["git_commit"] == "0123abc" and props["audit.gate"] == "passed" and "none.b64" not in props
    assert {"hyperparameters.b64", "hyperparameters.b64.2", "hyperparameters.b64.3"} <= set(props)
    back, audit = decode(props)
    assert back["hyperparameters"] == hyperparameters and back["step_seconds"] == {"train": 1.5}
    assert back["data_source"] == lineage["data_source"] and back["note"].startswith("xxx")
    assert audit == {"gate": "passed", "reason": "rolled back: 5xx > 1 #7"}


def test_an_approval_that_changes_a_fields_encoding_removes_old_keys(registry: ModelRegistry, tmp_path: Path) -> None:
    register(registry, tmp_path)
    registry.update_status(GROUP, 1, "Approved", metadata={"pr": "https://github.com/o/r/pull/7"})
    registry.update_status(GROUP, 1, "Approved", metadata={"pr": "o/r#7"})  # now base64
    props = boto3.client("sagemaker", region_name=REGION).describe_model_package(
        ModelPackageName=registry.get(GROUP, 1).arn
    )["CustomerMetadataProperties"]
    assert "audit.pr" not in props and "audit.pr.b64" in props
    assert registry.get(GROUP, 1).metadata == {"pr": "o/r#7"}


def test_a_model_trained_with_another_scikit_learn_is_refused(registry: ModelRegistry, tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match=r"trained with scikit-learn 1\.9\.1, but the scikit-learn 1\.9-0 image"):
        registry.store_artifact(model_tar(tmp_path, sklearn_version="1.9.1"))
    bare = tmp_path / "bare.tar.gz"
    with tarfile.open(bare, "w:gz") as tar:
        tar.add(model_tar(tmp_path).parent / "model" / "model.joblib", arcname="model.joblib")
    with pytest.raises(RegistryError, match=r"cannot read model_info\.json"):
        registry.store_artifact(bare)


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


def test_feature_importance_is_the_packages_explainability_report(registry: ModelRegistry, tmp_path: Path) -> None:
    importance = {"method": "permutation", "metric": "auc", "repeats": 5, "rows": 300,
                  "features": {"contract": {"mean": 0.08, "std": 0.002, "rank": 1}}}  # fmt: skip
    uri, digest = registry.store_artifact(model_tar(tmp_path))
    evaluation = {**EVALUATION, "feature_importance": importance}
    model = registry.register(GROUP, artifact_uri=uri, sha256=digest, evaluation=evaluation, lineage={})
    sm = boto3.client("sagemaker", region_name=REGION)
    report = sm.describe_model_package(ModelPackageName=model.arn)["ModelMetrics"]["Explainability"]["Report"]
    assert report["ContentType"] == "application/json"
    bucket, _, key = report["S3Uri"].removeprefix("s3://").partition("/")
    assert key.startswith("mlops/explainability/") and key.endswith("/importance.json")
    body = boto3.client("s3", region_name=REGION).get_object(Bucket=bucket, Key=key)["Body"].read()
    assert json.loads(body) == importance
    # Without importance (older evaluations) there is no explainability report.
    plain = registry.register(GROUP, artifact_uri=uri, sha256=digest, evaluation=EVALUATION, lineage={})
    assert "Explainability" not in sm.describe_model_package(ModelPackageName=plain.arn)["ModelMetrics"]
