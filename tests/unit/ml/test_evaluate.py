"""The evaluation step: SageMaker model-quality JSON, dataset fingerprint, safe unpacking."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pytest

from ml.artifact import ArtifactError, extract_archive
from ml.contract import EXIT_DATA_ERROR, EXIT_FAILURE, EXIT_OK
from ml.dataset import load_table, write_table
from ml.evaluate import binary_metrics, evaluate, main

METRICS = ("accuracy", "precision", "recall", "f1", "auc")


@pytest.fixture(scope="module")
def report(archive_dir: Path, prepared: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    return evaluate(archive_dir, prepared / "test", tmp_path_factory.mktemp("evaluation"))


def test_model_quality_shape_and_values(report: dict) -> None:
    metrics = report["binary_classification_metrics"]
    for name in METRICS:
        assert set(metrics[name]) == {"value", "standard_deviation"}
        assert 0 <= metrics[name]["value"] <= 1
        assert 0 < metrics[name]["standard_deviation"] < 0.1
    assert metrics["auc"]["value"] > 0.7
    matrix = metrics["confusion_matrix"]
    assert sum(matrix[a][b] for a in "01" for b in "01") == 600


def test_dataset_fingerprint(report: dict, prepared: Path) -> None:
    test_file = prepared / "test" / "test.csv"
    assert report["dataset"]["test_rows"] == 600
    assert report["dataset"]["test_sha256"] == hashlib.sha256(test_file.read_bytes()).hexdigest()


def test_written_file_matches_and_is_deterministic(
    archive_dir: Path, prepared: Path, tmp_path: Path, report: dict
) -> None:
    assert (
        main(["--model-dir", str(archive_dir), "--test-dir", str(prepared / "test"), "--output-dir", str(tmp_path)])
        == EXIT_OK
    )
    assert json.loads((tmp_path / "evaluation.json").read_text()) == report


def test_single_class_auc_is_null() -> None:
    metrics = binary_metrics(np.zeros(50, dtype=int), np.linspace(0, 1, 50))
    assert metrics["auc"] == {"value": None, "standard_deviation": None}
    assert metrics["accuracy"]["value"] == 0.5


def _archive(path: Path, name: str, kind: bytes = tarfile.REGTYPE) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        member = tarfile.TarInfo(name)
        member.type = kind
        payload = b"x"
        member.size = len(payload) if kind == tarfile.REGTYPE else 0
        if kind == tarfile.SYMTYPE:
            member.linkname = "/etc/passwd"
        tar.addfile(member, io.BytesIO(payload) if kind == tarfile.REGTYPE else None)
    return path


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("../evil.txt", tarfile.REGTYPE),
        ("a/../../evil.txt", tarfile.REGTYPE),
        ("/tmp/evil.txt", tarfile.REGTYPE),
        ("link", tarfile.SYMTYPE),
    ],
)
def test_unsafe_archive_members_are_refused(tmp_path: Path, name: str, kind: bytes) -> None:
    archive = _archive(tmp_path / "model.tar.gz", name, kind)
    with pytest.raises(ArtifactError, match="refusing archive member"):
        extract_archive(archive, tmp_path / "target")
    assert not (tmp_path / "evil.txt").exists()
    assert list((tmp_path / "target").iterdir()) == []


def test_main_exits_1_on_unsafe_archive(tmp_path: Path, prepared: Path, read_failure) -> None:
    _archive(tmp_path / "model.tar.gz", "../evil.txt")
    argv = ["--model-dir", str(tmp_path), "--test-dir", str(prepared / "test"), "--output-dir", str(tmp_path / "out")]
    assert main(argv) == EXIT_FAILURE
    assert "refusing archive member '../evil.txt'" in read_failure()


def test_main_exits_3_when_test_data_lacks_the_label(
    archive_dir: Path, prepared: Path, tmp_path: Path, read_failure
) -> None:
    write_table(load_table(prepared / "test").drop(columns="churned"), tmp_path / "test" / "test.csv")
    argv = [
        "--model-dir",
        str(archive_dir),
        "--test-dir",
        str(tmp_path / "test"),
        "--output-dir",
        str(tmp_path / "out"),
    ]
    assert main(argv) == EXIT_DATA_ERROR
    assert read_failure() == "data error: test data lacks columns churned"
    assert not (tmp_path / "out").exists()
