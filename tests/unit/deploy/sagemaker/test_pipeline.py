"""The SageMaker pipeline runner against moto, with Stubber for the step listings moto lacks."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from deploy.cli.app import main
from deploy.config import load_pipeline
from deploy.pipeline.run import run_pipeline
from deploy.sagemaker.backend import SageMakerBackend
from deploy.sagemaker.execution import ExecutionWatcher
from deploy.sagemaker.metadata import allowed, decode
from deploy.sagemaker.pipeline import SageMakerPipeline
from deploy.workspace import Workspace

from .conftest import ACCOUNT, BUCKET, GROUP, REGION

RUN = "20250101T000000Z-run1"
T0 = datetime(2025, 1, 1, tzinfo=UTC)
EVALUATION = {
    "binary_classification_metrics": {
        "auc": {"value": 0.83, "standard_deviation": 0.01},
        "f1": {"value": 0.61, "standard_deviation": 0.02},
        "accuracy": {"value": 0.79, "standard_deviation": 0.01},
    }
}
TRAIN_JOB = "pipelines-abc123-train-x1y2"
MODEL_KEY = f"mlops/runs/{RUN}/train/{TRAIN_JOB}/output/model.tar.gz"
MODEL_BYTES = b"not really a tarball, but bytes to hash"
BASELINE = {"statistics": {"version": 0.0, "features": []}, "constraints": {"version": 0.0, "features": []}}


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, ...]] = []

    def step_started(self, step: str, detail: str = "") -> None:
        self.events.append(("started", step))

    def step_output(self, step: str, line: str) -> None:
        self.events.append(("output", step, line))

    def step_finished(self, step: str, seconds: float) -> None:
        self.events.append(("finished", step))

    def step_failed(self, step: str, reason: str) -> None:
        self.events.append(("failed", step, reason))


def backend_for(root: Path) -> SageMakerBackend:
    return SageMakerBackend(Workspace(root), load_pipeline(root / "config"))


def seed_outputs(evaluation: dict[str, Any] = EVALUATION) -> None:
    """What the jobs would have written: moto's jobs write nothing."""
    s3 = boto3.client("s3", region_name=REGION)
    s3.put_object(Bucket=BUCKET, Key=MODEL_KEY, Body=MODEL_BYTES)
    key = f"mlops/runs/{RUN}/evaluate/evaluation/evaluation.json"
    s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(evaluation).encode())
    for name, document in BASELINE.items():
        key = f"mlops/runs/{RUN}/baseline/baseline/{name}.json"
        s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(document).encode())


def job_arn(kind: str, name: str) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{kind}/{name}"


def step(name: str, status: str, minutes: int, **extra: Any) -> dict[str, Any]:
    kind, job = ("training-job", TRAIN_JOB) if name == "train" else ("processing-job", f"pipelines-abc123-{name}")
    key = "TrainingJob" if name == "train" else "ProcessingJob"
    item = {"StepName": name, "StepStatus": status, "StartTime": T0 + timedelta(minutes=minutes)}
    item["Metadata"] = {key: {"Arn": job_arn(kind, job)}}
    if status in ("Succeeded", "Failed"):
        item["EndTime"] = T0 + timedelta(minutes=minutes + 4)
    item.update(extra)
    return item


def training_job(**extra: Any) -> dict[str, Any]:
    return {
        "TrainingJobName": TRAIN_JOB,
        "TrainingJobArn": job_arn("training-job", TRAIN_JOB),
        "ModelArtifacts": {"S3ModelArtifacts": f"s3://{BUCKET}/{MODEL_KEY}"},
        "TrainingJobStatus": extra.pop("TrainingJobStatus", "Completed"),
        "SecondaryStatus": "Completed",
        "AlgorithmSpecification": {"TrainingInputMode": "File"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "CreationTime": T0,
        **extra,
    }


def observer(backend: SageMakerBackend, polls: list[tuple[str, list[dict[str, Any]]]]) -> tuple[Any, Stubber]:
    """A separate sagemaker client whose execution status and step listings are scripted."""
    client = backend.session().new_client("sagemaker")
    stub = Stubber(client)
    for status, steps in polls:
        stub.add_response(
            "describe_pipeline_execution", {"PipelineExecutionStatus": status}, {"PipelineExecutionArn": ANY}
        )
        stub.add_response(
            "list_pipeline_execution_steps",
            {"PipelineExecutionSteps": steps},
            {"PipelineExecutionArn": ANY, "SortOrder": "Ascending"},
        )
    stub.activate()
    return client, stub


def use_runner(monkeypatch: pytest.MonkeyPatch, client: Any = None) -> None:
    """Every SageMakerBackend hands out a runner with a fixed run id (and the scripted observer)."""

    def pipeline_runner(self: SageMakerBackend) -> SageMakerPipeline:
        watcher = None
        if client is not None:
            watcher = ExecutionWatcher(client, 0, logs=self.session().client("logs"), sleep=lambda _: None)
        return SageMakerPipeline(
            self.session(),
            self.settings,
            self.workspace.root,
            preflight=self.preflight,
            watcher=watcher,
            run_id=lambda: RUN,
        )

    monkeypatch.setattr(SageMakerBackend, "pipeline_runner", pipeline_runner)


def packages() -> list[dict[str, Any]]:
    sm = boto3.client("sagemaker", region_name=REGION)
    arns = [
        p["ModelPackageArn"] for p in sm.list_model_packages(ModelPackageGroupName=GROUP)["ModelPackageSummaryList"]
    ]
    return [sm.describe_model_package(ModelPackageName=a) for a in arns]


def processing_job(name: str) -> dict[str, Any]:
    return {
        "ProcessingJobName": f"pipelines-abc123-{name}",
        "ProcessingJobArn": job_arn("processing-job", f"pipelines-abc123-{name}"),
        "ProcessingResources": {"ClusterConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1,
                                                  "VolumeSizeInGB": 30}},
        "AppSpecification": {"ImageUri": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/sklearn:1.9-0"},
        "ProcessingJobStatus": "Completed", "CreationTime": T0,
        "ProcessingStartTime": T0, "ProcessingEndTime": T0 + timedelta(seconds=150),
    }  # fmt: skip


def stub_billing(stub: Stubber) -> None:
    """The job descriptions the run reads for its cost, in step order."""
    for name in ("preprocess", "train", "evaluate", "baseline"):
        if name == "train":
            billed = training_job(TrainingTimeInSeconds=400, BillableTimeInSeconds=400)
            stub.add_response("describe_training_job", billed, {"TrainingJobName": TRAIN_JOB})
        else:
            params = {"ProcessingJobName": f"pipelines-abc123-{name}"}
            stub.add_response("describe_processing_job", processing_job(name), params)


SUCCESS = [
    ("Executing", [step("preprocess", "Executing", 0)]),
    ("Executing", [step("preprocess", "Succeeded", 0), step("train", "Starting", 5)]),
    ("Executing", [step("preprocess", "Succeeded", 0), step("train", "Executing", 5)]),
    (
        "Succeeded",
        [
            step("preprocess", "Succeeded", 0),
            step("train", "Succeeded", 5),
            step("evaluate", "Succeeded", 10),
            step("baseline", "Succeeded", 10),
        ],
    ),
]


def test_successful_run_registers_one_package(sm_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    backend = backend_for(sm_repo)
    client, stub = observer(backend, SUCCESS)
    stub.add_response("describe_training_job", training_job(), {"TrainingJobName": TRAIN_JOB})
    stub_billing(stub)
    use_runner(monkeypatch, client)
    seed_outputs()
    progress = Recorder()
    cfg = backend.pipeline.model_copy(update={"data": backend.pipeline.data.model_copy(update={"source": "data.csv"})})

    version = run_pipeline(backend, cfg, {"C": "0.5"}, progress)
    train = {"use": "training", "instance_type": "ml.m5.large", "instance_count": 1, "billed_seconds": 400.0,
             "run_seconds": 400.0, "spot": False}  # fmt: skip
    assert version.lineage["jobs"]["train"] == train
    assert version.lineage["jobs"]["baseline"]["billed_seconds"] == 150.0

    stub.assert_no_pending_responses()
    assert [e[:2] for e in progress.events if e[0] != "output"] == [
        ("started", "preprocess"),
        ("finished", "preprocess"),
        ("started", "train"),
        ("finished", "train"),
        ("started", "evaluate"),
        ("finished", "evaluate"),
        ("started", "baseline"),
        ("finished", "baseline"),
    ]
    assert ("output", "train", "status Starting → Executing") in progress.events
    (package,) = packages()
    container = package["InferenceSpecification"]["Containers"][0]
    assert container["Image"].endswith(".dkr.ecr.eu-west-1.amazonaws.com/sagemaker-scikit-learn:1.9-0-cpu-py3")
    assert container["ModelDataUrl"] == f"s3://{BUCKET}/{MODEL_KEY}"
    assert container["Environment"]["SAGEMAKER_PROGRAM"] == "inference.py"
    assert container["Environment"]["SAGEMAKER_SUBMIT_DIRECTORY"].endswith("/sourcedir.tar.gz")
    statistics = package["ModelMetrics"]["ModelQuality"]["Statistics"]
    assert statistics["S3Uri"] == f"s3://{BUCKET}/mlops/runs/{RUN}/evaluate/evaluation/evaluation.json"
    run_prefix = f"s3://{BUCKET}/mlops/runs/{RUN}/baseline/baseline"
    assert package["DriftCheckBaselines"] == {
        "ModelDataQuality": {
            "Statistics": {"ContentType": "application/json", "S3Uri": f"{run_prefix}/statistics.json"},
            "Constraints": {"ContentType": "application/json", "S3Uri": f"{run_prefix}/constraints.json"},
        }
    }
    registry = backend.registry()
    assert registry.read_baseline(version, "statistics") == BASELINE["statistics"]
    meta = package["CustomerMetadataProperties"]
    assert version.lineage["baseline_digest"].startswith("sha256:") and len(version.lineage["baseline_digest"]) == 71
    assert meta["artifact_sha256"] == version.sha256 and len(version.sha256) == 64
    assert meta["pipeline_execution_arn"].startswith(f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/churn-training/")
    assert version.lineage["hyperparameters"]["C"] == "0.5"
    assert version.lineage["step_seconds"] == dict.fromkeys(["baseline", "evaluate", "preprocess", "train"], 240.0)
    assert all(allowed(k, 128) and allowed(v) for k, v in meta.items())  # the service's limits and pattern
    assert package["ModelApprovalStatus"] == "PendingManualApproval"
    assert version.metric("auc") == 0.83 and version.version == 1


def test_pipeline_is_created_then_updated_and_inputs_are_not_uploaded_twice(
    sm_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_runner(monkeypatch)
    seed_outputs()
    assert main(["pipeline", "run", "--backend", "sagemaker", "--data", "data.csv"]) == 0
    sm = boto3.client("sagemaker", region_name=REGION)
    definition = json.loads(sm.describe_pipeline(PipelineName="churn-training")["PipelineDefinition"])
    assert [s["Name"] for s in definition["Steps"]] == ["preprocess", "train", "evaluate", "baseline"]
    s3 = boto3.client("s3", region_name=REGION)
    before = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert main(["pipeline", "run", "--backend", "sagemaker", "--data", "data.csv", "--set", "C=0.3"]) == 0
    after = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert after == before  # same code, data and schema: nothing uploaded twice
    changed = json.loads(sm.describe_pipeline(PipelineName="churn-training")["PipelineDefinition"])
    assert changed["Steps"][1]["Arguments"]["HyperParameters"]["C"] == '"0.3"'
    assert [p["ModelPackageVersion"] for p in packages()] == [1, 2]
    assert decode(packages()[0]["CustomerMetadataProperties"])[0]["step_seconds"].keys() == {"pipeline"}


def test_failed_step_reports_reason_and_log_stream_and_registers_nothing(
    sm_repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    reason = "AlgorithmError: data error: column 'age' has 31 values below 18"
    backend = backend_for(sm_repo)
    polls = [
        ("Executing", [step("preprocess", "Succeeded", 0), step("train", "Executing", 5)]),
        ("Failed", [step("preprocess", "Succeeded", 0), step("train", "Failed", 5, FailureReason=reason)]),
    ]
    client, stub = observer(backend, polls)
    failed = training_job(TrainingJobStatus="Failed", FailureReason=reason)
    stub.add_response("describe_training_job", failed, {"TrainingJobName": TRAIN_JOB})
    logs = boto3.client("logs", region_name=REGION)
    logs.create_log_group(logGroupName="/aws/sagemaker/TrainingJobs")
    logs.create_log_stream(logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=f"{TRAIN_JOB}/algo-1-1735689900")
    use_runner(monkeypatch, client)

    assert main(["pipeline", "run", "--backend", "sagemaker", "--data", "data.csv"]) == 6

    err = " ".join(capsys.readouterr().err.split())
    assert f"step 'train' failed: {reason}" in err
    assert f"/aws/sagemaker/TrainingJobs {TRAIN_JOB}/algo-1-1735689900" in err
    assert packages() == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("no_credentials", "no AWS credentials found"),
        ("no_region", "no AWS region: set sagemaker.region"),
        ("no_role", "set SAGEMAKER_ROLE_ARN"),
        ("no_bucket", "bucket 'churn-missing-bucket' does not exist"),
        ("no_group", "model package group 'churn-missing' does not exist in eu-west-1"),
    ],
)
def test_setup_errors_are_one_line_and_exit_12(
    change: str, expected: str, sm_repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    if change == "no_credentials":
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            monkeypatch.delenv(name)
    elif change == "no_region":
        monkeypatch.delenv("AWS_REGION")
        monkeypatch.delenv("AWS_DEFAULT_REGION")
    elif change == "no_role":
        monkeypatch.delenv("SAGEMAKER_ROLE_ARN")
    elif change == "no_bucket":
        monkeypatch.setenv("MLOPS_BUCKET", "churn-missing-bucket")
    else:
        config = sm_repo / "config" / "pipeline.yaml"
        config.write_text(
            config.read_text().replace("model_package_group: churn-classifier", "model_package_group: churn-missing")
        )

    assert main(["pipeline", "run", "--backend", "sagemaker", "--data", "data.csv"]) == 12

    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and expected in " ".join(err[-1].split())  # the banner, then the one error line
    if change not in ("no_credentials", "no_region"):
        assert "Contents" not in boto3.client("s3", region_name=REGION).list_objects_v2(Bucket=BUCKET)


def test_missing_baseline_files_fail_the_baseline_step_and_register_nothing(
    sm_repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use_runner(monkeypatch)
    seed_outputs()
    s3 = boto3.client("s3", region_name=REGION)
    s3.delete_object(Bucket=BUCKET, Key=f"mlops/runs/{RUN}/baseline/baseline/constraints.json")
    assert main(["pipeline", "run", "--backend", "sagemaker", "--data", "data.csv"]) != 0
    assert f"runs/{RUN}/baseline" in capsys.readouterr().err
    assert packages() == []
