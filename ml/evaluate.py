"""Evaluation step: score the trained model on the test split; runs in the processing container.

Unpacks ``model.tar.gz`` (checking every member), scores ``test.csv`` and writes
``<output_dir>/evaluation.json`` in SageMaker's model-quality shape::

    {"binary_classification_metrics": {"accuracy": {"value": v, "standard_deviation": s},
                                       "precision": ..., "recall": ..., "f1": ..., "auc": ...,
                                       "confusion_matrix": {"0": {"0": tn, "1": fp},
                                                            "1": {"0": fn, "1": tp}}},
     "dataset": {"test_rows": n, "test_sha256": "..."},
     "model": {"algorithm": ..., "threshold": 0.5},
     "feature_importance": {"method": "permutation", "metric": "auc", "repeats": 5, "rows": n,
                            "features": {"<name>": {"mean": m, "std": s, "rank": r}, ...}}}

The feature importance (``ml/importance.py``) is also written alone as ``importance.json``:
the SageMaker backend registers it as the model package's explainability report.

CLI: ``python -m ml.evaluate --model-dir DIR --test-dir DIR --output-dir DIR``.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from ml.artifact import extract_archive, find_archive, load_model
from ml.contract import PROCESSING_INPUT, PROCESSING_OUTPUT, DataError, StepParser, exit_process, run_step
from ml.dataset import find_table, load_table
from ml.importance import permutation_importance

BOOTSTRAP_RESAMPLES = 20
BOOTSTRAP_SEED = 0
_METRIC_NAMES = ("accuracy", "precision", "recall", "f1", "auc")


def _rates(y: np.ndarray, label: np.ndarray, score: np.ndarray) -> dict[str, float]:
    # Counting the confusion cells once is much cheaper than four sklearn metric calls per resample.
    tn, fp, fn, tp = np.bincount(2 * y + label, minlength=4).astype(float)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    both_classes = 0 < tp + fn < len(y)
    return {
        "accuracy": (tp + tn) / len(y),
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        "auc": float(roc_auc_score(y, score)) if both_classes else float("nan"),
    }


def _finite(value: float) -> float | None:
    # JSON has no NaN; a metric undefined on this split (AUC with one class) is null.
    return None if np.isnan(value) else round(float(value), 6)


def binary_metrics(y: np.ndarray, score: np.ndarray, threshold: float = 0.5) -> dict[str, Any]:
    """Metric values with bootstrap standard deviations, plus the confusion matrix.

    The standard deviation is that of each metric over ``BOOTSTRAP_RESAMPLES`` (20) resamples
    of the test rows with replacement, drawn from a generator seeded with ``BOOTSTRAP_SEED``:
    deterministic, and well under a second for 150k rows.
    """
    y = np.asarray(y, dtype=np.int64)
    label = (score >= threshold).astype(np.int64)
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    resamples = []
    for _ in range(BOOTSTRAP_RESAMPLES):
        rows = rng.integers(0, len(y), len(y))
        resamples.append(_rates(y[rows], label[rows], score[rows]))
    result: dict[str, Any] = {}
    for name, value in _rates(y, label, score).items():
        spread = np.array([sample[name] for sample in resamples])
        deviation = float(np.std(spread[~np.isnan(spread)])) if not np.isnan(spread).all() else float("nan")
        result[name] = {"value": _finite(value), "standard_deviation": _finite(deviation)}
    tn, fp, fn, tp = (int(n) for n in np.bincount(2 * y + label, minlength=4))
    result["confusion_matrix"] = {"0": {"0": tn, "1": fp}, "1": {"0": fn, "1": tp}}
    return result


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _labels(frame: pd.DataFrame, label: str, features: Sequence[str]) -> np.ndarray:
    missing = [name for name in (*features, label) if name not in frame]
    if missing:
        raise DataError(f"test data lacks columns {', '.join(missing)}")
    values = pd.to_numeric(frame[label], errors="coerce")
    if values.isna().any() or not values.isin([0, 1]).all():
        raise DataError(f"test column '{label}' (label) must hold only 0 and 1")
    return values.to_numpy(dtype=np.int64)


def evaluate(model_dir: Path, test_dir: Path, output_dir: Path) -> dict[str, Any]:
    """Score the model in ``model_dir`` on the test split; write and return the report."""
    test_file = find_table(Path(test_dir))
    with tempfile.TemporaryDirectory(prefix="model-") as unpacked:
        estimator, info = load_model(extract_archive(find_archive(Path(model_dir)), Path(unpacked)))
    frame = load_table(test_file)
    y = _labels(frame, info["label"], info["features"])
    score = estimator.predict_proba(frame[info["features"]])[:, 1]
    threshold = float(info.get("threshold", 0.5))
    report = {
        "binary_classification_metrics": binary_metrics(y, score, threshold),
        "dataset": {"test_rows": len(frame), "test_sha256": _sha256(test_file), "test_file": test_file.name},
        "model": {"algorithm": info.get("algorithm"), "threshold": threshold},
    }
    importance = permutation_importance(estimator, frame, y, info["features"])
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    if importance is not None:
        report["feature_importance"] = importance
        (output_dir / "importance.json").write_text(json.dumps(importance, indent=2) + "\n", encoding="utf-8")
    (output_dir / "evaluation.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    metrics = report["binary_classification_metrics"]
    print("evaluate: " + " ".join(f"test:{k}={metrics[k]['value']}" for k in _METRIC_NAMES))
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = StepParser(prog="python -m ml.evaluate", description=__doc__, allow_abbrev=False)
    parser.add_argument("--model-dir", type=Path, default=PROCESSING_INPUT / "model")
    parser.add_argument("--test-dir", type=Path, default=PROCESSING_INPUT / "test")
    parser.add_argument("--output-dir", type=Path, default=PROCESSING_OUTPUT / "evaluation")

    def step() -> None:
        args = parser.parse_args(argv)
        evaluate(args.model_dir, args.test_dir, args.output_dir)

    return run_step(step)


if __name__ == "__main__":
    exit_process(main())
