"""`mlops monitor --backend sagemaker`: a Processing job over the window's capture files, metrics after (moto)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from botocore.stub import ANY, Stubber

from deploy.cli.app import main
from deploy.config import load_pipeline
from deploy.errors import ExitCode
from deploy.sagemaker import monitor_job
from deploy.sagemaker.backend import SageMakerBackend
from deploy.sagemaker.monitor_metrics import NAMESPACE, metric_data
from deploy.workspace import Workspace
from ml.artifact import load_model
from ml.dataset import make_churn
from ml.monitor import run_monitor
from tests.unit.deploy.monitor.trained_model import train_with_baseline
from tests.unit.ml.capture_files import shifted, write_capture

from .conftest import BUCKET, GROUP, REGION

DRIFT = int(ExitCode.MONITOR_DRIFT)  # mlops monitor's exit code for drift or a quality breach

JOB = "churn-monitor-prod-20260301120000"
REQUEST_KEYS = (
    "ProcessingJobName",
    "AppSpecification",
    "Environment",
    "ProcessingInputs",
    "ProcessingOutputConfig",
    "ProcessingResources",
    "StoppingCondition",
    "RoleArn",
    "Tags",
)
CAPTURE = "mlops/data-capture/churn-prod/churn-prod"


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_with_baseline(tmp_path_factory.mktemp("trained"))


@pytest.fixture
def repo(sm_repo: Path, trained: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    backend = SageMakerBackend(Workspace(sm_repo), load_pipeline(sm_repo / "config"))
    registry = backend.registry()
    uri, digest = registry.store_artifact(trained / "archive" / "model.tar.gz")
    baselines = registry.store_baseline(trained / "base")
    version = registry.register(GROUP, artifact_uri=uri, sha256=digest, evaluation={}, lineage={}, baselines=baselines)
    path = sm_repo / "config" / "prod.yaml"
    text = re.sub(r"(?m)^  version:.*$", f"  version: {version.version}", path.read_text())
    text = re.sub(r"(?m)^  sha256:.*$", f"  sha256: {digest}", text)
    path.write_text(text.replace("enabled: false\n    sampling", "enabled: true\n    sampling"))
    monkeypatch.setattr(monitor_job, "job_name", lambda *_: JOB)
    return sm_repo


def put_capture(trained: Path, local: Path, frame, when: datetime) -> None:
    """Capture files in the bucket as the endpoint would write them, and a local copy of them."""
    estimator, info = load_model(trained / "model")
    path = write_capture(local, frame, estimator.predict_proba(frame[info["features"]])[:, 1], when=when)
    key = f"{CAPTURE}/{path.relative_to(local).as_posix().split('/', 1)[1]}"
    boto3.client("s3", region_name=REGION).upload_file(str(path), BUCKET, key)


def seed_job_output(trained: Path, local: Path) -> None:
    """moto's jobs write nothing: put what the real job writes, computed by the real step."""
    out = local.parent / "job-output"
    run_monitor(trained / "base", local, out)
    s3 = boto3.client("s3", region_name=REGION)
    for name in ("monitor_result.json", "constraint_violations.json", "statistics.json"):
        s3.upload_file(str(out / name), BUCKET, f"mlops/monitor/prod/{JOB}/{name}")


def test_drift_runs_a_processing_job_over_the_window_and_publishes_metrics(
    repo: Path, trained: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    now = datetime.now(UTC)
    local = tmp_path / "capture"
    put_capture(trained, tmp_path / "old", make_churn(300, 5).drop(columns=["churned"]), now - timedelta(days=3))
    put_capture(trained, local, shifted(make_churn(1500, 6).drop(columns=["churned"]), 6), now)
    seed_job_output(trained, local)

    assert main(["monitor", "--env", "prod", "--backend", "sagemaker"]) == DRIFT
    printed = capsys.readouterr().out
    assert "verdict: drift in monthly_charges, age, payment_method" in printed

    sm = boto3.client("sagemaker", region_name=REGION)
    job = sm.describe_processing_job(ProcessingJobName=JOB)
    assert job["AppSpecification"]["ContainerEntrypoint"][-1] == "ml.monitor"
    args = job["AppSpecification"]["ContainerArguments"]
    assert args[args.index("--since") + 1].startswith(f"{now - timedelta(hours=24):%Y-%m-%dT%H}")
    inputs = {i["InputName"]: i["S3Input"] for i in job["ProcessingInputs"]}
    assert inputs["capture"]["S3DataType"] == "ManifestFile"
    assert inputs["statistics"]["S3Uri"].endswith("/statistics.json")
    bucket, key = inputs["capture"]["S3Uri"][5:].split("/", 1)
    manifest = json.loads(boto3.client("s3", region_name=REGION).get_object(Bucket=bucket, Key=key)["Body"].read())
    assert manifest[0] == {"prefix": f"s3://{BUCKET}/{CAPTURE}/"}
    assert len(manifest) == 2 and manifest[1].startswith(f"AllTraffic/{now:%Y/%m/%d/%H}/")  # the old file is left out

    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    names = {
        (m["MetricName"], tuple(d["Value"] for d in m["Dimensions"]))
        for m in cloudwatch.list_metrics(Namespace=NAMESPACE)["Metrics"]
    }
    assert ("DriftedFeatures", ("churn-prod",)) in names
    assert ("DriftScore", ("churn-prod", "monthly_charges")) in names


@pytest.mark.parametrize(
    ("message", "code", "says"),
    [
        (
            "data error: cannot read the baseline in /opt/ml/processing/input/baseline",
            4,
            "monitor: cannot read the baseline",
        ),
        ("MemoryError: out of memory", 6, "step 'monitor' failed: MemoryError: out of memory"),
    ],
)
def test_a_failed_job_is_a_typed_error(
    repo: Path,
    trained: Path,
    tmp_path: Path,
    capsys,
    monkeypatch: pytest.MonkeyPatch,
    message: str,
    code: int,
    says: str,
) -> None:
    put_capture(trained, tmp_path / "capture", make_churn(300, 5).drop(columns=["churned"]), datetime.now(UTC))

    def monitor_step(self: SageMakerBackend) -> monitor_job.ProcessingMonitor:
        client = self.session().new_client("sagemaker")
        stub = Stubber(client)
        arn = f"arn:aws:sagemaker:{REGION}:123456789012:processing-job/{JOB}"
        stub.add_response("create_processing_job", {"ProcessingJobArn": arn}, {k: ANY for k in REQUEST_KEYS})
        stub.add_response("describe_processing_job", _described("InProgress"), {"ProcessingJobName": JOB})
        failed = _described("Failed", ExitMessage=message, FailureReason="AlgorithmError")
        stub.add_response("describe_processing_job", failed, {"ProcessingJobName": JOB})
        stub.activate()
        return monitor_job.ProcessingMonitor(self, sleep=lambda _: None, sagemaker=client)

    monkeypatch.setattr(SageMakerBackend, "monitor_step", monitor_step)
    assert main(["monitor", "--env", "prod", "--backend", "sagemaker"]) == code
    assert says in capsys.readouterr().err


def _described(status: str, **extra: str) -> dict:
    return {
        "ProcessingJobName": JOB,
        "ProcessingJobArn": f"arn:aws:sagemaker:{REGION}:123456789012:processing-job/{JOB}",
        "ProcessingJobStatus": status,
        "ProcessingResources": {
            "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 30}
        },
        "AppSpecification": {"ImageUri": "img"},
        "CreationTime": datetime(2026, 3, 1, tzinfo=UTC),
        **extra,
    }


def test_no_traffic_in_the_window_is_a_data_error(repo: Path, capsys) -> None:
    assert main(["monitor", "--env", "prod", "--backend", "sagemaker"]) == 4
    assert f"endpoint 'churn-prod': no captured traffic at s3://{BUCKET}/{CAPTURE} since " in capsys.readouterr().err


def test_metrics_of_an_unjudged_window_are_volume_only() -> None:
    result = {"status": "insufficient_data", "volume": {"rows": 12}, "features": [], "drifted_features": []}
    assert [m["MetricName"] for m in metric_data("ep", result)] == ["CapturedRows"]
