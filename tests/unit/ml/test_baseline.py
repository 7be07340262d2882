"""The baseline step: Model Monitor-shaped statistics and constraints of the training split."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ml.baseline import baseline, main
from ml.dataset import write_table
from ml.profile import category_counts, completeness


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory, prepared: Path, archive_dir: Path, schema_file: Path) -> Path:
    out = tmp_path_factory.mktemp("baseline")
    baseline(prepared / "train", prepared / "test", archive_dir, schema_file, out)
    return out


def load(folder: Path, name: str) -> dict:
    return json.loads((folder / f"{name}.json").read_text())


def test_numeric_feature_profile_matches_the_training_split(written: Path, prepared: Path) -> None:
    train = pd.read_csv(prepared / "train" / "train.csv")
    stats = load(written, "statistics")
    entries = {f["name"]: f for f in stats["features"]}
    assert stats["dataset"]["item_count"] == len(train)
    tenure = entries["tenure_months"]
    assert tenure["inferred_type"] == "Integral"
    numbers = tenure["numerical_statistics"]
    assert numbers["mean"] == pytest.approx(train["tenure_months"].mean())
    assert numbers["min"] == train["tenure_months"].min() and numbers["max"] == train["tenure_months"].max()
    buckets = numbers["distribution"]["kll"]["buckets"]
    assert len(buckets) == 10 and sum(b["count"] for b in buckets) == len(train)
    quantiles = numbers["distribution"]["quantiles"]
    assert len(quantiles) == 101 and quantiles[50] == pytest.approx(train["tenure_months"].median())
    age = entries["age"]
    assert age["numerical_statistics"]["common"]["num_missing"] == int(train["age"].isna().sum()) > 0
    assert completeness(age) == pytest.approx(train["age"].notna().mean())
    assert entries["monthly_charges"]["inferred_type"] == "Fractional"


def test_categorical_profile_label_balance_and_scores(written: Path, prepared: Path) -> None:
    train = pd.read_csv(prepared / "train" / "train.csv")
    stats = load(written, "statistics")
    payment = next(f for f in stats["features"] if f["name"] == "payment_method")
    assert payment["inferred_type"] == "String"
    assert category_counts(payment) == train["payment_method"].value_counts().to_dict()
    assert stats["label"]["positive_fraction"] == pytest.approx(train["churned"].mean(), abs=1e-6)
    assert sum(stats["label"]["counts"].values()) == len(train)
    prediction = stats["prediction"]
    test_rows = len(pd.read_csv(prepared / "test" / "test.csv"))
    assert prediction["item_count"] == test_rows
    assert 0 < prediction["positive_rate"] < 1
    scores = prediction["numerical_statistics"]
    assert 0 <= scores["min"] < scores["max"] <= 1


def test_constraints_suggest_completeness_domains_and_ranges(written: Path) -> None:
    constraints = load(written, "constraints")
    entries = {f["name"]: f for f in constraints["features"]}
    assert entries["contract"]["string_constraints"]["domains"] == ["month-to-month", "one-year", "two-year"]
    assert entries["age"]["num_constraints"] == {"is_non_negative": True, "range": {"min": 18, "max": 120}}
    assert entries["total_charges"]["num_constraints"]["range"] == {"min": 0, "max": None}
    assert 0.9 < entries["age"]["completeness"] < 1.0
    assert constraints["monitoring_config"]["evaluate_constraints"] == "Enabled"


def test_same_inputs_give_identical_files(
    tmp_path: Path, prepared: Path, archive_dir: Path, schema_file: Path, written: Path
) -> None:
    baseline(prepared / "train", prepared / "test", archive_dir, schema_file, tmp_path)
    for name in ("statistics.json", "constraints.json"):
        assert (tmp_path / name).read_bytes() == (written / name).read_bytes()


def test_missing_training_column_is_a_data_error(
    tmp_path: Path, prepared: Path, archive_dir: Path, schema_file: Path, read_failure: Callable[[], str]
) -> None:
    train = pd.read_csv(prepared / "train" / "train.csv").drop(columns=["age"])
    write_table(train, tmp_path / "train" / "train.csv")
    args = ["--train-dir", str(tmp_path / "train"), "--test-dir", str(prepared / "test")]
    args += ["--model-dir", str(archive_dir), "--schema", str(schema_file), "--output-dir", str(tmp_path / "out")]
    assert main(args) == 3
    assert read_failure() == "data error: training data lacks columns age"
    assert not (tmp_path / "out").exists()


def test_constant_and_empty_columns_give_valid_json() -> None:
    from ml.profile import feature_statistics

    constant = feature_statistics("x", pd.Series([5.0] * 4), categorical=False)
    assert constant["numerical_statistics"]["std_dev"] == 0.0
    empty = feature_statistics("y", pd.Series([np.nan] * 3), categorical=False)
    assert empty["inferred_type"] == "Unknown"
    assert empty["numerical_statistics"] == {"common": {"num_present": 0, "num_missing": 3}}
    json.dumps([constant, empty], allow_nan=False)
