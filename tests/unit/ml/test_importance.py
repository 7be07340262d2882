"""Permutation feature importance: the signal ranks first, noise near zero, deterministic, bounded rows."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from ml.evaluate import evaluate
from ml.importance import permutation_importance


@pytest.fixture(scope="module")
def fitted() -> tuple[LogisticRegression, pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {"signal": rng.normal(size=2000), "weak": rng.normal(size=2000), "noise": rng.normal(size=2000)}
    )
    y = (frame["signal"] + 0.3 * frame["weak"] + rng.normal(scale=0.3, size=2000) > 0).astype(int).to_numpy()
    return LogisticRegression().fit(frame, y), frame, y


def test_the_signal_ranks_first_and_noise_is_near_zero(fitted) -> None:
    model, frame, y = fitted
    result = permutation_importance(model, frame, y, ["signal", "weak", "noise"])
    features = result["features"]
    assert [name for name, _ in sorted(features.items(), key=lambda kv: kv[1]["rank"])] == ["signal", "weak", "noise"]
    assert features["signal"]["mean"] > 0.3 and abs(features["noise"]["mean"]) < 0.01
    assert all(value["std"] >= 0 for value in features.values())
    assert result | {"features": None} == {"method": "permutation", "metric": "auc", "repeats": 5, "rows": 2000,
                                          "features": None}  # fmt: skip


def test_deterministic_and_subsampled(fitted) -> None:
    model, frame, y = fitted
    first = permutation_importance(model, frame, y, ["signal", "weak", "noise"], max_rows=500)
    assert first == permutation_importance(model, frame, y, ["signal", "weak", "noise"], max_rows=500)
    assert first["rows"] == 500


def test_one_class_has_no_importance(fitted) -> None:
    model, frame, _ = fitted
    assert permutation_importance(model, frame, np.zeros(len(frame), dtype=int), ["signal"]) is None


def test_evaluate_writes_importance_beside_the_evaluation(archive_dir: Path, prepared: Path, tmp_path: Path) -> None:
    report = evaluate(archive_dir, prepared / "test", tmp_path)
    importance = report["feature_importance"]
    assert json.loads((tmp_path / "importance.json").read_text()) == importance
    assert json.loads((tmp_path / "evaluation.json").read_text())["feature_importance"] == importance
    ranks = sorted(v["rank"] for v in importance["features"].values())
    assert ranks == list(range(1, len(importance["features"]) + 1)) and len(ranks) == 10
