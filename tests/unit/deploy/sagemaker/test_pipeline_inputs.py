"""Code, data and schema staged in S3: reproducible sourcedir, content-addressed keys, no re-upload."""

from __future__ import annotations

import io
import shutil
import tarfile
from pathlib import Path

import boto3

from deploy.config import load_pipeline
from deploy.pipeline.data import ResolvedData
from deploy.sagemaker.inputs import stage_data, stage_inputs
from deploy.sagemaker.s3 import ArtifactBucket
from deploy.sagemaker.sourcedir import pack_sourcedir

from .conftest import BUCKET, REGION

REPO = Path(__file__).resolve().parents[4]


def test_sourcedir_is_reproducible_and_holds_the_entry_files(tmp_path: Path) -> None:
    ml = tmp_path / "ml"
    shutil.copytree(REPO / "ml", ml, ignore=shutil.ignore_patterns("__pycache__"))
    first = pack_sourcedir(ml)
    (ml / "__pycache__").mkdir()
    (ml / "__pycache__" / "train.cpython-311.pyc").write_bytes(b"cache")  # caches are never packed
    assert pack_sourcedir(ml) == first == pack_sourcedir(REPO / "ml")
    with tarfile.open(fileobj=io.BytesIO(first)) as tar:
        members = tar.getmembers()
        names = [m.name for m in members]
        train = tar.extractfile("train.py").read().decode()  # type: ignore[union-attr]
    assert names == sorted(names) and {"train.py", "inference.py", "ml/train.py", "ml/inference.py"} <= set(names)
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    assert {m.mtime for m in members} == {0} and "from ml.train import main" in train


def test_inputs_are_uploaded_once_under_their_digest(aws_setup: dict[str, str], tmp_path: Path) -> None:
    cfg = load_pipeline(REPO / "config")
    data_file = tmp_path / "churn.csv"
    data_file.write_text("a,b\n1,2\n")
    data = ResolvedData(str(data_file), data_file, None, None)
    bucket = ArtifactBucket(boto3.client("s3", region_name=REGION), BUCKET, "mlops")
    inputs = stage_inputs(bucket, cfg, data, REPO)
    assert len(bucket.uploaded) == 4  # data, schema, and the code folder's archive and runner
    assert inputs.code.folder_uri.startswith(f"s3://{BUCKET}/mlops/code/") and inputs.code.folder_uri.endswith("/")
    assert inputs.sourcedir_uri == inputs.code.folder_uri + "sourcedir.tar.gz"
    assert sorted(k.rsplit("/", 1)[-1] for k in bucket.uploaded if "/code/" in k) == ["runproc.sh", "sourcedir.tar.gz"]
    assert inputs.data_uri.endswith("/churn.csv") and "/mlops/data/" in inputs.data_uri
    again = ArtifactBucket(boto3.client("s3", region_name=REGION), BUCKET, "mlops")
    assert stage_inputs(again, cfg, data, REPO) == inputs and again.uploaded == []


def test_s3_data_is_used_as_is_and_folders_are_uploaded_file_by_file(aws_setup: dict[str, str], tmp_path: Path) -> None:
    bucket = ArtifactBucket(boto3.client("s3", region_name=REGION), BUCKET, "mlops")
    remote = ResolvedData("s3://data/churn.csv", None, "s3://data/churn.csv", None)
    assert stage_data(bucket, remote) is remote
    folder = tmp_path / "parts"
    folder.mkdir()
    (folder / "a.csv").write_text("x\n1\n")
    (folder / "b.csv").write_text("x\n2\n")
    staged = stage_data(bucket, ResolvedData(str(folder), folder, None, None))
    assert staged.s3_uri == f"s3://{BUCKET}/mlops/data/tree/{staged.digest}/"
    assert [k.rsplit("/", 1)[-1] for k in bucket.uploaded] == ["a.csv", "b.csv"]
