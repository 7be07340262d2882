"""Data sources: built-in sample, local files, and S3 objects fetched once for the local backend."""

from __future__ import annotations

import hashlib
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from deploy.config.schema import DataConfig
from deploy.errors import ConfigError
from deploy.pipeline import data
from tests.aws_account import use_fake_account


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    use_fake_account(monkeypatch, tmp_path, "us-east-1")
    with mock_aws():
        client = boto3.client("s3")
        client.create_bucket(Bucket="data")
        yield client


def test_s3_object_is_downloaded_once_per_etag(s3, tmp_path: Path) -> None:
    s3.put_object(Bucket="data", Key="churn/train.csv", Body=b"a,b\n1,2\n")
    resolved = data.resolve(DataConfig(source="s3://data/churn/train.csv"), tmp_path, tmp_path / "cache")
    assert (resolved.s3_uri, resolved.local_path, resolved.digest) == ("s3://data/churn/train.csv", None, None)
    fetched = data.fetch_s3(resolved, tmp_path / "cache", s3)
    assert fetched.local_path is not None and fetched.local_path.read_bytes() == b"a,b\n1,2\n"
    assert fetched.digest == hashlib.sha256(b"a,b\n1,2\n").hexdigest()
    fetched.local_path.write_bytes(b"cached copy")  # a second fetch of the same ETag reuses the file
    assert data.fetch_s3(resolved, tmp_path / "cache", s3).local_path.read_bytes() == b"cached copy"
    s3.put_object(Bucket="data", Key="churn/train.csv", Body=b"a,b\n3,4\n")
    assert data.fetch_s3(resolved, tmp_path / "cache", s3).local_path.read_bytes() == b"a,b\n3,4\n"


def test_s3_uri_needs_bucket_and_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="needs a bucket and a key"):
        data.resolve(DataConfig(source="s3://only-bucket"), tmp_path, tmp_path)


def test_local_path_must_exist_and_be_a_table(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        data.resolve(DataConfig(source="missing.csv"), tmp_path, tmp_path)
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ConfigError, match="is not CSV or Parquet"):
        data.resolve(DataConfig(source="notes.txt"), tmp_path, tmp_path)


def test_local_file_is_used_in_place_with_its_digest(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_bytes(b"x\n1\n")
    resolved = data.resolve(DataConfig(source="t.csv"), tmp_path, tmp_path / "cache")
    assert resolved.local_path == tmp_path / "t.csv"
    assert resolved.digest == hashlib.sha256(b"x\n1\n").hexdigest()


def test_builtin_sample_is_generated_once(tmp_path: Path) -> None:
    cfg = DataConfig(rows=200, seed=5)
    first = data.resolve(cfg, tmp_path, tmp_path / "cache")
    assert first.local_path == data.builtin_path(tmp_path / "cache", 200, 5)
    mtime = first.local_path.stat().st_mtime_ns
    second = data.resolve(cfg, tmp_path, tmp_path / "cache")
    assert second.digest == first.digest and second.local_path.stat().st_mtime_ns == mtime


def test_unknown_scheme_is_a_schema_error() -> None:
    with pytest.raises(ValueError, match="must be builtin://churn"):
        DataConfig(source="gs://bucket/key")
