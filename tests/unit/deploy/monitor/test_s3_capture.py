"""The S3 side of capture: SageMaker's capture prefix, and fetching only the window's hour folders (moto)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest

from deploy.config import load_environment, load_pipeline
from deploy.errors import DataError
from deploy.monitor.s3_capture import download_capture
from deploy.sagemaker.backend import SageMakerBackend
from deploy.workspace import Workspace
from tests.aws_account import use_fake_account

REGION, BUCKET = "eu-west-1", "churn-artifacts-test"
PREFIX = "mlops/data-capture/churn-prod/churn-prod"


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[object]:
    use_fake_account(monkeypatch, tmp_path, REGION)
    from moto import mock_aws

    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        yield client


def test_sagemaker_capture_location_adds_the_endpoint_name(monkeypatch: pytest.MonkeyPatch, repo_copy: Path) -> None:
    monkeypatch.setenv("MLOPS_BUCKET", BUCKET)
    monkeypatch.setenv("AWS_REGION", REGION)
    backend = SageMakerBackend(Workspace(repo_copy), load_pipeline(repo_copy / "config"))
    env = load_environment(repo_copy / "config", "prod")
    assert backend.capture_location(env) == f"s3://{BUCKET}/{PREFIX}"
    custom = env.model_copy(deep=True)
    custom.endpoint.data_capture.destination_s3_uri = "s3://elsewhere/capture/"
    assert backend.capture_location(custom) == "s3://elsewhere/capture/churn-prod"


def test_only_hours_in_the_window_are_downloaded(s3, tmp_path: Path) -> None:
    for hour in ("2026/03/01/09", "2026/03/01/11", "2026/03/02/00"):
        s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/AllTraffic/{hour}/00-00-000-a.jsonl", Body=b"{}\n")
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/AllTraffic/notes.txt", Body=b"x")
    since = datetime(2026, 3, 1, 11, 30, tzinfo=UTC)
    folder = download_capture(s3, f"s3://{BUCKET}/{PREFIX}", since, tmp_path / "copy")
    found = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.jsonl"))
    assert found == ["AllTraffic/2026/03/01/11/00-00-000-a.jsonl", "AllTraffic/2026/03/02/00/00-00-000-a.jsonl"]


def test_unreadable_bucket_is_a_data_error(s3, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot read the data capture at s3://no-such-bucket/x: NoSuchBucket"):
        download_capture(s3, "s3://no-such-bucket/x", None, tmp_path)
    with pytest.raises(DataError, match="not an s3:// URI"):
        download_capture(s3, "s3:///x", None, tmp_path)
