"""The preprocess step: validation first, then a stratified split and a data report."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from ml.contract import EXIT_DATA_ERROR, EXIT_FAILURE, EXIT_OK
from ml.dataset import make_churn, write_table
from ml.preprocess import main, preprocess
from ml.schema import DataValidationError


def test_split_sizes_and_stratification(prepared: Path, churn: pd.DataFrame) -> None:
    parts = {name: pd.read_csv(prepared / name / f"{name}.csv") for name in ("train", "validation", "test")}
    assert {name: len(part) for name, part in parts.items()} == {"train": 2800, "validation": 600, "test": 600}
    overall = churn["churned"].mean()
    for part in parts.values():
        assert abs(part["churned"].mean() - overall) < 0.005
        assert list(part.columns) == list(churn.columns)


def test_data_report(prepared: Path, churn: pd.DataFrame) -> None:
    report = json.loads((prepared / "report" / "data_report.json").read_text())
    assert report["rows"] == {"input": 4000, "train": 2800, "validation": 600, "test": 600}
    assert report["null_counts"]["age"] == int(churn["age"].isna().sum())
    assert sum(report["label"]["counts"]["train"].values()) == 2800
    assert report["dropped_columns"] == []


def test_same_seed_same_split(tmp_path: Path, schema_file: Path) -> None:
    write_table(make_churn(600, 1), tmp_path / "raw" / "data.parquet")
    for out in ("a", "b"):
        preprocess(tmp_path / "raw", schema_file, tmp_path / out, 0.2, 0.2, 5)
    assert (tmp_path / "a/test/test.csv").read_bytes() == (tmp_path / "b/test/test.csv").read_bytes()


def test_invalid_data_writes_nothing(tmp_path: Path, schema_file: Path) -> None:
    frame = make_churn(200, 1)
    frame.loc[[9, 19], "tenure_months"] = 500
    write_table(frame, tmp_path / "raw" / "data.csv")
    with pytest.raises(DataValidationError, match=r"'tenure_months': 2 values out of range \[0, 120\] at rows 10, 20"):
        preprocess(tmp_path / "raw", schema_file, tmp_path / "out", 0.15, 0.15, 0)
    assert not (tmp_path / "out").exists()


def _args(tmp_path: Path, schema_file: Path, *extra: str) -> list[str]:
    return [
        "--input-dir",
        str(tmp_path / "raw"),
        "--schema",
        str(schema_file),
        "--output-dir",
        str(tmp_path / "out"),
        *extra,
    ]


def test_main_succeeds(tmp_path: Path, schema_file: Path) -> None:
    write_table(make_churn(300, 2), tmp_path / "raw" / "data.csv")
    assert main(_args(tmp_path, schema_file, "--validation-fraction", "0.2", "--test-fraction", "0.1")) == EXIT_OK
    assert len(pd.read_csv(tmp_path / "out/test/test.csv")) == 30


def test_main_exits_3_on_bad_data(tmp_path: Path, schema_file: Path, read_failure) -> None:
    frame = make_churn(300, 2).drop(columns="contract")
    write_table(frame, tmp_path / "raw" / "data.csv")
    assert main(_args(tmp_path, schema_file)) == EXIT_DATA_ERROR
    assert read_failure() == "data error: missing column 'contract'"


def test_main_exits_3_on_too_few_rows(tmp_path: Path, schema_file: Path, churn: pd.DataFrame, read_failure) -> None:
    complete = churn.dropna()
    tiny = pd.concat([complete[complete["churned"] == 0].head(5), complete[complete["churned"] == 1].head(1)])
    write_table(tiny, tmp_path / "raw" / "data.csv")
    assert main(_args(tmp_path, schema_file)) == EXIT_DATA_ERROR
    assert "cannot split 6 rows" in read_failure()


def test_main_exits_1_on_bad_fractions(tmp_path: Path, schema_file: Path, read_failure) -> None:
    write_table(make_churn(50, 2), tmp_path / "raw" / "data.csv")
    assert main(_args(tmp_path, schema_file, "--test-fraction", "0.9")) == EXIT_FAILURE
    assert "fractions" in read_failure()
