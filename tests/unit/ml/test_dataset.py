"""Synthetic churn data: determinism, shape, signal, and table loading."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ml.contract import EXIT_FAILURE, EXIT_OK, DataError
from ml.dataset import load_table, main, make_churn, write_table
from ml.schema import DEFAULT_SCHEMA, validate


def test_same_rows_and_seed_give_identical_csv_bytes(tmp_path: Path) -> None:
    write_table(make_churn(2000, 3), tmp_path / "a.csv")
    write_table(make_churn(2000, 3), tmp_path / "b.csv")
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


def test_other_seed_gives_other_data() -> None:
    assert not make_churn(500, 1).equals(make_churn(500, 2))


def test_columns_label_and_missing_values(churn: pd.DataFrame) -> None:
    assert list(churn.columns) == [*DEFAULT_SCHEMA.features, "churned"]
    assert set(churn["churned"].unique()) == {0, 1}
    assert 0.15 < churn["churned"].mean() < 0.45
    nulls = churn.isna().mean()
    assert 0.005 < nulls["age"] < 0.08
    assert 0.005 < nulls["payment_method"] < 0.08
    assert nulls["churned"] == 0
    assert churn["tenure_months"].between(0, 120).all()


def test_generated_data_satisfies_default_schema(churn: pd.DataFrame) -> None:
    validate(churn, DEFAULT_SCHEMA)


def test_signal_is_learnable_but_not_perfect(model_dir: Path) -> None:
    import json

    info = json.loads((model_dir / "model_info.json").read_text())
    assert 0.78 < info["metrics"]["validation:auc"] < 0.95


def test_large_data_set_is_fast() -> None:
    import time

    started = time.perf_counter()
    frame = make_churn(200_000, 0)
    assert len(frame) == 200_000
    assert time.perf_counter() - started < 2.0


def test_load_table_reads_csv_and_parquet_files_and_folders(tmp_path: Path) -> None:
    frame = make_churn(50, 0)
    write_table(frame, tmp_path / "csv" / "data.csv")
    write_table(frame, tmp_path / "pq" / "data.parquet")
    for path in (tmp_path / "csv", tmp_path / "csv" / "data.csv", tmp_path / "pq"):
        loaded = load_table(path)
        assert len(loaded) == 50
        np.testing.assert_allclose(loaded["monthly_charges"], frame["monthly_charges"])


@pytest.mark.parametrize("files", [[], ["a.csv", "b.parquet"]])
def test_load_table_wants_exactly_one_table(tmp_path: Path, files: list[str]) -> None:
    for name in files:
        write_table(make_churn(5, 0), tmp_path / name)
    with pytest.raises(DataError, match="exactly one"):
        load_table(tmp_path)


def test_load_table_reports_missing_path(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no data"):
        load_table(tmp_path / "absent")


def test_main_writes_file_by_suffix(tmp_path: Path) -> None:
    assert main(["--rows", "30", "--seed", "1", "--output", str(tmp_path / "d.parquet")]) == EXIT_OK
    assert len(pd.read_parquet(tmp_path / "d.parquet")) == 30


def test_main_rejects_unknown_suffix(tmp_path: Path, read_failure) -> None:
    assert main(["--rows", "30", "--output", str(tmp_path / "d.txt")]) == EXIT_FAILURE
    assert "d.txt" in read_failure()


def test_repeated_header_names_are_refused_not_renamed(tmp_path: Path) -> None:
    """pandas would read the second 'age' as 'age.1' and the data would pass with a column nobody wrote."""
    path = tmp_path / "data.csv"
    path.write_text("age,tenure_months,age,churned\n30,5,31,1\n40,6,41,0\n")
    with pytest.raises(DataError, match=r"data.csv: header names a column more than once: 'age' in columns 1, 3"):
        load_table(path)


def test_a_csv_that_is_not_utf8_is_a_data_error(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes("city,churned\nZ\u00fcrich,1\n".encode("latin-1"))
    with pytest.raises(DataError, match="cannot read"):
        load_table(path)
