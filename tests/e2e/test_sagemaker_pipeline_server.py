"""`mlops pipeline run --backend sagemaker` against a moto server reached through AWS_ENDPOINT_URL.

The command runs in-process but talks HTTP to the server, as it would to AWS. moto runs no
jobs, so the test writes what the jobs would have written (model.tar.gz, evaluation.json, the
baseline's statistics.json and constraints.json)
under the run's known prefix; moto has no step listing either, so the run follows the
execution as one unit.
"""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from deploy.cli.app import main
from deploy.sagemaker import pipeline as pipeline_module
from tests.e2e.moto_server import BUCKET

GROUP = "churn-classifier"
RUN = "20250101T000000Z-e2e00001"
EVALUATION = {"binary_classification_metrics": {"auc": {"value": 0.81, "standard_deviation": 0.01}}}


def test_pipeline_run_creates_the_pipeline_and_registers_one_version(
    moto_endpoint: str, repo_copy: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = repo_copy / "config" / "pipeline.yaml"
    config.write_text(config.read_text().replace("\nsagemaker:\n", "\nsagemaker:\n  poll_seconds: 0.01\n"))
    s3, sm = boto3.client("s3"), boto3.client("sagemaker")
    assert s3.meta.endpoint_url == moto_endpoint
    s3.create_bucket(Bucket=BUCKET)
    sm.create_model_package_group(ModelPackageGroupName=GROUP)
    monkeypatch.setattr(pipeline_module, "new_run_id", lambda: RUN)
    s3.put_object(Bucket=BUCKET, Key=f"mlops/runs/{RUN}/train/pipelines-e2e-train/output/model.tar.gz", Body=b"model")
    s3.put_object(
        Bucket=BUCKET,
        Key=f"mlops/runs/{RUN}/evaluate/evaluation/evaluation.json",
        Body=json.dumps(EVALUATION).encode(),
    )
    for name in ("statistics", "constraints"):
        key = f"mlops/runs/{RUN}/baseline/baseline/{name}.json"
        s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps({"version": 0.0, "features": []}).encode())

    assert main(["pipeline", "run", "--backend", "sagemaker", "--rows", "200", "--json"]) == 0

    definition = json.loads(sm.describe_pipeline(PipelineName="churn-training")["PipelineDefinition"])
    assert [(s["Name"], s["Type"]) for s in definition["Steps"]] == [
        ("preprocess", "Processing"),
        ("train", "Training"),
        ("evaluate", "Processing"),
        ("baseline", "Processing"),
    ]
    (execution,) = sm.list_pipeline_executions(PipelineName="churn-training")["PipelineExecutionSummaries"]
    assert execution["PipelineExecutionDisplayName"] == RUN
    registered = json.loads(capsys.readouterr().out)
    assert registered["version"] == 1 and registered["metrics"] == {"auc": 0.81}
    assert registered["artifact_uri"] == f"s3://{BUCKET}/mlops/runs/{RUN}/train/pipelines-e2e-train/output/model.tar.gz"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="mlops/")["Contents"]]
    assert any(k.startswith("mlops/code/") and k.endswith("/sourcedir.tar.gz") for k in keys)
    assert any(k.startswith("mlops/data/") and k.endswith(".csv") for k in keys)
