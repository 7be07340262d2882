"""The monitor step: in-distribution traffic is quiet, shifted traffic names what moved."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ml.artifact import load_model
from ml.baseline import baseline
from ml.dataset import make_churn, write_table
from ml.monitor import main, run_monitor

from .capture_files import shifted, write_capture


@pytest.fixture(scope="module")
def baseline_dir(
    tmp_path_factory: pytest.TempPathFactory, prepared: Path, archive_dir: Path, schema_file: Path
) -> Path:
    out = tmp_path_factory.mktemp("baseline")
    baseline(prepared / "train", prepared / "test", archive_dir, schema_file, out)
    return out


@pytest.fixture(scope="module")
def score(model_dir: Path) -> Callable[[pd.DataFrame], np.ndarray]:
    estimator, info = load_model(model_dir)
    return lambda frame: estimator.predict_proba(frame[info["features"]])[:, 1]


def traffic(seed: int, rows: int = 2000) -> pd.DataFrame:
    return make_churn(rows, seed).drop(columns=["churned"])


def run(baseline_dir: Path, tmp_path: Path, frame: pd.DataFrame, scores: np.ndarray, **kw) -> dict:
    write_capture(tmp_path / "capture", frame, scores, **kw)
    return run_monitor(baseline_dir, tmp_path / "capture", tmp_path / "out")


def violations(tmp_path: Path) -> list[dict]:
    return json.loads((tmp_path / "out" / "constraint_violations.json").read_text())["violations"]


def test_in_distribution_traffic_is_ok(baseline_dir: Path, tmp_path: Path, score) -> None:
    frame = traffic(11)
    result = run(baseline_dir, tmp_path, frame, score(frame), rows_per_request=4)
    assert result["status"] == "ok", result
    assert result["drifted_features"] == [] and violations(tmp_path) == []
    assert result["volume"]["rows"] == 2000 and result["volume"]["requests"] == 500
    assert result["prediction"]["drift"] is False
    written = json.loads((tmp_path / "out" / "monitor_result.json").read_text())
    assert written == json.loads(json.dumps(result))
    current = json.loads((tmp_path / "out" / "statistics.json").read_text())
    assert current["dataset"]["item_count"] == 2000 and len(current["features"]) == 10


def test_shifted_traffic_names_exactly_the_shifted_features(baseline_dir: Path, tmp_path: Path, score) -> None:
    frame = shifted(traffic(12), 12)
    result = run(baseline_dir, tmp_path, frame, score(frame))
    assert result["status"] == "drift"
    assert sorted(result["drifted_features"]) == ["age", "monthly_charges", "payment_method"]
    by_name = {f["name"]: f for f in result["features"]}
    assert by_name["age"]["missing"]["drift"] and not by_name["age"].get("distribution", {}).get("drift")
    assert by_name["monthly_charges"]["distribution"]["test"] == "wasserstein"
    checks = {(v["feature_name"], v["constraint_check_type"]) for v in violations(tmp_path)}
    assert checks == {("payment_method", "categorical_values_check"), ("age", "completeness_check")}
    (new_value,) = [v for v in violations(tmp_path) if v["feature_name"] == "payment_method"]
    assert "'crypto'" in new_value["description"]


def test_schema_violations_from_a_table(baseline_dir: Path, tmp_path: Path) -> None:
    frame = traffic(13, 500)
    frame = frame.drop(columns=["support_calls"]).assign(coupon="x")
    frame["age"] = frame["age"].astype(object)
    frame.loc[:4, "age"] = "old"
    frame.loc[5:7, "tenure_months"] = 500
    write_table(frame, tmp_path / "traffic.csv")
    result = run_monitor(baseline_dir, tmp_path / "traffic.csv", tmp_path / "out")
    checks = {(v["feature_name"], v["constraint_check_type"]) for v in violations(tmp_path)}
    assert checks == {
        ("support_calls", "missing_column_check"),
        ("coupon", "extra_column_check"),
        ("age", "data_type_check"),
        ("tenure_months", "range_check"),
    }
    assert result["status"] == "drift" and result["prediction"] is None


def test_too_few_rows_is_not_judged(baseline_dir: Path, tmp_path: Path, score) -> None:
    frame = shifted(traffic(14, 50), 14)
    result = run(baseline_dir, tmp_path, frame, score(frame))
    assert result["status"] == "insufficient_data" and result["features"] == []
    assert "fewer than monitoring.min_rows (100)" in result["reason"]


def test_thresholds_and_tests_per_feature_come_from_the_config(baseline_dir: Path, tmp_path: Path, score) -> None:
    frame = shifted(traffic(15), 15)
    write_capture(tmp_path / "capture", frame, score(frame))
    config = tmp_path / "monitoring.json"
    config.write_text(json.dumps({"features": {"monthly_charges": {"test": "psi", "threshold": 50}}}))
    result = run_monitor(baseline_dir, tmp_path / "capture", tmp_path / "out", config)
    charges = next(f for f in result["features"] if f["name"] == "monthly_charges")
    assert charges["distribution"]["test"] == "psi" and charges["drift"] is False
    assert "monthly_charges" not in result["drifted_features"]


def test_unreadable_baseline_is_a_data_error(tmp_path: Path, read_failure) -> None:
    args = ["--baseline-dir", str(tmp_path), "--data", str(tmp_path), "--output-dir", str(tmp_path / "o")]
    assert main(args) == 3
    assert read_failure().startswith(f"data error: cannot read the baseline in {tmp_path}")
