"""`mlops batch --backend sagemaker`: a Batch Transform job with the pinned model, against moto and Stubber.

moto validates and records CreateTransformJob but scores nothing: `tests.sagemaker_transform.Transform`
stands in for the service's scoring. Failure sequences of DescribeTransformJob come from
`botocore.stub.Stubber`.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from deploy.batch.transform import TransformJobs
from deploy.cli.app import main
from deploy.config.schema import ModelPin
from deploy.promotion.pins import plan_pins, write_pins
from deploy.sagemaker.backend import SageMakerBackend
from deploy.sagemaker.registry import ModelRegistry
from deploy.sagemaker.session import AwsSession
from deploy.sagemaker.settings import Settings
from tests.sagemaker_transform import Transform

from .conftest import BUCKET, GROUP, REGION, ROLE_ARN
from .endpoint_fixtures import Session

REPO = Path(__file__).resolve().parents[4]


@pytest.fixture(scope="module")
def model_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from deploy.artifacts import pack_model_dir
    from ml.dataset import make_churn, write_table
    from ml.schema import DEFAULT_SCHEMA as schema
    from ml.train import train

    base = tmp_path_factory.mktemp("sm-batch")
    write_table(make_churn(600, 4), base / "train" / "train.csv")
    train(base / "train", base / "model", {"algorithm": "logistic_regression"}, schema.numeric_names,
          schema.categorical_names, schema.label)  # fmt: skip
    pack_model_dir(base / "model", base / "model.tar.gz")
    return base / "model.tar.gz"


@pytest.fixture
def pinned(sm_repo: Path, model_archive: Path) -> dict[str, Any]:
    """The trained model registered in moto's Model Registry through the real adapter, and pinned in git."""
    registry = ModelRegistry(AwsSession(REGION), Settings(REGION, ROLE_ARN, BUCKET, "mlops"), REPO, "1.9-0")
    uri, digest = registry.store_artifact(model_archive)
    model = registry.register(GROUP, artifact_uri=uri, sha256=digest, evaluation={}, lineage={"git_commit": "abc"})
    write_pins(plan_pins(sm_repo / "config", ModelPin(version=model.version, package_arn=model.arn, sha256=digest)))
    return {"version": model.version, "arn": model.arn, "sha256": digest, "uri": uri}


def use(monkeypatch: pytest.MonkeyPatch, sagemaker: Any, clock: Any = None, **clients: Any) -> None:
    def batch(self: SageMakerBackend) -> TransformJobs:
        session = Session(sagemaker=sagemaker, **clients)
        timing = {"clock": clock} if clock else {}
        return TransformJobs(session, self.settings, poll_seconds=30, sleep=lambda s: None, **timing)

    monkeypatch.setattr(SageMakerBackend, "batch", batch)


def put_customers(rows: int, bad: dict[int, str] | None = None, *, ids: bool = True) -> list[str]:
    from ml.dataset import make_churn

    lines = make_churn(rows, 8).drop(columns="churned").to_csv(index=False, header=False).splitlines()
    lines = [(f"cust-{i}," if ids else "") + (bad or {}).get(i, line) for i, line in enumerate(lines, 1)]
    boto3.client("s3", region_name=REGION).put_object(
        Bucket=BUCKET, Key="in/nightly.csv", Body="\n".join(lines).encode()
    )
    return lines


def read(key: str) -> str:
    return boto3.client("s3", region_name=REGION).get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()


BATCH = ["batch", "--env", "prod", "--backend", "sagemaker", "--input", f"s3://{BUCKET}/in/",
         "--output", f"s3://{BUCKET}/out/"]  # fmt: skip


def test_clean_job_scores_every_line_with_the_id_passed_through(
    pinned: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    transform = Transform(tmp_path, REGION)
    use(monkeypatch, transform)
    put_customers(300)
    assert main([*BATCH, "--id-column", "customer_id"]) == 0
    request = transform.requests[0]
    assert request["TransformInput"]["SplitType"] == "Line" and request["BatchStrategy"] == "MultiRecord"
    assert request["TransformInput"]["ContentType"] == "text/csv" and request["MaxPayloadInMB"] == 6
    assert request["TransformOutput"] == {"S3OutputPath": f"s3://{BUCKET}/out/", "Accept": "text/csv",
                                          "AssembleWith": "Line"}  # fmt: skip
    assert request["TransformResources"] == {"InstanceType": "ml.m5.large", "InstanceCount": 1}
    assert request["DataProcessing"] == {"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$[0,-3,-2,-1]"}
    assert request["Environment"] == {"MLOPS_RECORD_ERRORS": "inline"}
    assert request["TransformJobName"].startswith("churn-prod-batch-v1-")
    out = read("out/nightly.csv.out").splitlines()
    assert len(out) == 300 and out[0].startswith("cust-1,") and all(line.endswith(",") for line in out)
    err = capsys.readouterr().err
    assert f"model '{request['ModelName']}' from {pinned['arn']}" in err and "Completed" in err


def test_the_model_a_deploy_made_is_reused(
    pinned: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    transform = Transform(tmp_path, REGION)
    use(monkeypatch, transform)
    put_customers(20, ids=False)
    assert main(["deploy", "--env", "prod", "--backend", "sagemaker"]) == 0
    deployed = {m["ModelName"] for m in transform.moto.list_models()["Models"]}
    assert main(BATCH) == 0
    assert {m["ModelName"] for m in transform.moto.list_models()["Models"]} == deployed
    assert transform.requests[0]["ModelName"] in deployed and "DataProcessing" not in transform.requests[0]
    assert "exists (made by a deploy of the same pin): reusing it" in capsys.readouterr().err


def test_bad_rows_under_the_threshold_are_listed_in_a_side_file_in_s3(
    pinned: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    use(monkeypatch, Transform(tmp_path, REGION))
    put_customers(200, {12: "1,2,3"})
    assert main([*BATCH, "--id-column", "customer_id"]) == 0
    listed = list(csv.DictReader(io.StringIO(read("out/batch-errors.csv"))))
    assert [(r["file"], r["line"], r["customer_id"]) for r in listed] == [("nightly.csv", "12", "cust-12")]
    assert listed[0]["reason"].startswith("3 columns; expected 10")


def test_bad_rows_over_the_threshold_fail_with_exit_17(
    pinned: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    use(monkeypatch, Transform(tmp_path, REGION))
    put_customers(50, {5: "x", 9: "y"})
    assert main([*BATCH, "--id-column", "customer_id"]) == 17
    assert "2 of 50 records (4.00%) could not be scored" in capsys.readouterr().err
    assert read("out/batch-errors.csv").count("\n") == 3


def failing_client(name_prefix: str, *statuses: str, reason: str = "") -> tuple[Any, Stubber]:
    client = boto3.client("sagemaker", region_name=REGION)
    stubber = Stubber(client)
    stubber.add_response("create_transform_job", {"TransformJobArn": f"arn:aws:sagemaker:{REGION}:1:transform-job/x"})
    for status in statuses:
        answer = {"TransformJobName": name_prefix, "TransformJobArn": f"arn:aws:sagemaker:{REGION}:1:transform-job/x",
                  "TransformJobStatus": status, "ModelName": "m", "CreationTime": "2026-01-01T00:00:00Z",
                  "TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/in"}}},
                  "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1}}  # fmt: skip
        if status == "Failed":
            answer["FailureReason"] = reason
        stubber.add_response("describe_transform_job", answer)
    return client, stubber


class Split:
    """moto for the model calls, the stubbed client for the transform job calls."""

    def __init__(self, stubbed: Any) -> None:
        self.moto, self.stubbed = boto3.client("sagemaker", region_name=REGION), stubbed

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stubbed if "transform_job" in name else self.moto, name)


def test_a_failed_job_reports_its_reason_and_log_stream(
    pinned: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    client, stubber = failing_client("j", "InProgress", "InProgress", "Failed",
                                     reason="ClientError: See job logs for more information")  # fmt: skip
    logs = boto3.client("logs", region_name=REGION)
    log_stubber = Stubber(logs)
    log_stubber.add_response("describe_log_streams", {"logStreams": [{"logStreamName": "churn-prod-batch/i-1-17"}]})
    use(monkeypatch, Split(client), logs=logs)
    put_customers(5)
    with stubber, log_stubber:
        assert main(BATCH) == 17
    err = capsys.readouterr().err
    assert "Failed: ClientError: See job logs for more information (log: /aws/sagemaker/TransformJobs" in err
    assert "churn-prod-batch/i-1-17" in err and "InProgress" in err


def test_progress_counts_the_files_scored_while_the_job_runs(
    pinned: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    client, stubber = failing_client("j", "InProgress", "InProgress", "InProgress", "Completed")
    s3 = boto3.client("s3", region_name=REGION)
    for name in ("a.csv", "b.csv"):
        s3.put_object(Bucket=BUCKET, Key=f"in/{name}", Body=b"1,2\n")
    finished = iter(["a.csv", "b.csv"])

    def transform_writes_a_file(seconds: float) -> None:
        name = next(finished, None)
        if name:
            s3.put_object(Bucket=BUCKET, Key=f"out/{name}.out", Body=b"0.5,1,\n")

    monkeypatch.setattr(SageMakerBackend, "batch", lambda self: TransformJobs(
        Session(sagemaker=Split(client)), self.settings, poll_seconds=30, sleep=transform_writes_a_file))  # fmt: skip
    with stubber:
        assert main(BATCH) == 0
    err = capsys.readouterr().err
    assert ": 1 of 2 file(s) scored after" in err and ": 2 of 2 file(s) scored after" in err
    assert "2 records through churn-classifier v1" in err


def test_a_job_past_its_runtime_is_stopped(pinned: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    client, stubber = failing_client("j", "InProgress")
    stubber.add_response("stop_transform_job", {})
    ticks = iter(range(0, 10**7, 100_000))  # each reading of the clock is 100,000 s later: past 86,400 s at once
    use(monkeypatch, Split(client), clock=lambda: next(ticks))
    put_customers(5)
    with stubber:
        assert main(BATCH) == 17
    stubber.assert_no_pending_responses()


def test_missing_package_and_sha256_mismatch_are_refused_before_any_job(
    sm_repo: Path, pinned: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    transform = Transform(tmp_path, REGION)
    use(monkeypatch, transform)
    put_customers(5)
    write_pins(plan_pins(sm_repo / "config", ModelPin(version=7, package_arn=None, sha256="a" * 64)))
    assert main(BATCH) == 17
    assert "config/prod.yaml:model.version: refusing to run a batch with: model 'churn-classifier' version 7" in (
        capsys.readouterr().err
    )
    write_pins(plan_pins(sm_repo / "config", ModelPin(version=pinned["version"], package_arn=pinned["arn"],
                                                      sha256=pinned["sha256"])))  # fmt: skip
    bucket, _, key = pinned["uri"].removeprefix("s3://").partition("/")
    boto3.client("s3", region_name=REGION).put_object(Bucket=bucket, Key=key, Body=b"tampered")
    assert main(BATCH) == 17
    assert "its model.tar.gz hashes to" in capsys.readouterr().err
    assert transform.requests == []


def test_locations_a_transform_job_cannot_use_are_config_errors(
    pinned: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["batch", "--env", "prod", "--backend", "sagemaker", "--input", "local.csv", "--output",
                 f"s3://{BUCKET}/out/"]) == 3  # fmt: skip
    assert "--input local.csv: a Batch Transform job reads and writes s3:// URIs" in capsys.readouterr().err
    assert main(["batch", "--env", "prod", "--backend", "sagemaker", "--input", f"s3://{BUCKET}/nothing/",
                 "--output", f"s3://{BUCKET}/out/"]) == 3  # fmt: skip
    assert "no objects under this prefix" in capsys.readouterr().err


def test_an_output_that_cannot_be_written_is_refused_before_the_paid_job(
    pinned: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    transform = Transform(tmp_path, REGION)
    use(monkeypatch, transform)
    put_customers(20)
    args = ["batch", "--env", "prod", "--backend", "sagemaker", "--input", f"s3://{BUCKET}/in/", "--id-column", "id"]
    assert main([*args, "--output", "s3://no-such-bucket-here/out/"]) == 3
    assert "--output s3://no-such-bucket-here/out/: cannot write there (NoSuchBucket)" in capsys.readouterr().err
    assert transform.requests == []  # no transform job was created
    # A writable output gets the side file's header first; it stays header only when nothing failed.
    assert main([*args, "--output", f"s3://{BUCKET}/out/"]) == 0
    assert read("out/batch-errors.csv") == "file,line,id,reason\n"
