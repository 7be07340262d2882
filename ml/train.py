"""Training step in SageMaker script mode; runs in the training container.

Hyperparameters arrive as the training toolkit writes them: ``--name value``, or ``-n value``
for one-letter names (``-C 1.0``); dashes or underscores; the data and
model folders come from ``SM_CHANNEL_TRAIN``, ``SM_CHANNEL_VALIDATION`` (optional) and
``SM_MODEL_DIR`` through ``ml.contract``. Writes ``model.joblib`` and ``model_info.json`` and
prints ``validation:auc=0.8731``-style lines for SageMaker metric definitions.

CLI: ``python -m ml.train [--algorithm logistic_regression|hist_gradient_boosting] [--C 1.0]
[--max-iter 200] [--learning-rate 0.1] [--max-depth 6] [--random-state 0]
[--numeric-features a,b] [--categorical-features x,y] [--label churned]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import sklearn
from sklearn.metrics import accuracy_score, roc_auc_score

from ml.artifact import save_model
from ml.contract import StepParser, UsageError, exit_process, run_step, training_paths
from ml.dataset import load_table
from ml.features import build_pipeline, resolve_hyperparameters
from ml.schema import DEFAULT_SCHEMA, CategoricalColumn, NumericColumn, Schema, validate

_HYPERPARAMETERS = ("algorithm", "C", "max_iter", "learning_rate", "max_depth", "random_state")


def _frame(folder: Path, schema: Schema) -> tuple[pd.DataFrame, pd.Series]:
    frame = load_table(folder)
    validate(frame, schema, extra_columns=True)  # the features chosen may be a subset of the columns
    return frame[list(schema.features)], pd.to_numeric(frame[schema.label]).astype("int64")


def _metrics(pipeline: Any, features: pd.DataFrame, labels: pd.Series) -> dict[str, float]:
    scores = pipeline.predict_proba(features)[:, 1]
    return {
        "auc": round(float(roc_auc_score(labels, scores)), 6),
        "accuracy": round(float(accuracy_score(labels, (scores >= 0.5).astype(int))), 6),
    }


def _model_info(params: dict[str, Any], schema: Schema, rows: int, metrics: dict[str, float]) -> dict[str, Any]:
    return {
        "algorithm": params["algorithm"],
        "hyperparameters": params,
        "numeric_features": schema.numeric_names,
        "categorical_features": schema.categorical_names,
        "features": list(schema.features),
        "label": schema.label,
        "threshold": 0.5,
        "sklearn_version": sklearn.__version__,
        "python_version": sys.version.split()[0],
        "training_rows": rows,
        "metrics": metrics,
    }


def train(
    train_dir: Path,
    model_dir: Path,
    hyperparameters: Mapping[str, Any],
    numeric: Sequence[str],
    categorical: Sequence[str],
    label: str,
    validation_dir: Path | None = None,
) -> dict[str, Any]:
    """Fit on the train channel, score the validation channel, write the model folder."""
    try:
        params = resolve_hyperparameters(hyperparameters)
    except ValueError as error:
        raise UsageError(str(error)) from error
    # Only structure is checked here (columns, numbers, binary label); ranges are preprocess's job.
    schema = Schema(
        label, tuple(NumericColumn(n) for n in numeric), tuple(CategoricalColumn(n) for n in categorical), 1.0
    )
    features, labels = _frame(Path(train_dir), schema)
    print(f"train: {len(features)} rows, {len(schema.features)} features, algorithm {params['algorithm']}")
    pipeline = build_pipeline(params, numeric, categorical)
    started = time.perf_counter()
    pipeline.fit(features, labels)
    print(f"train: fitted in {time.perf_counter() - started:.1f}s")
    metrics = {f"train:{k}": v for k, v in _metrics(pipeline, features, labels).items()}
    if validation_dir is not None:
        held_out = _frame(Path(validation_dir), schema)
        metrics |= {f"validation:{k}": v for k, v in _metrics(pipeline, *held_out).items()}
    for name, value in metrics.items():
        print(f"{name}={value:.4f}")
    info = _model_info(params, schema, len(features), metrics)
    save_model(pipeline, info, Path(model_dir))
    print(f"train: wrote model to {model_dir}")
    return info


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def _optional_int(text: str) -> int | None:
    return None if text.strip().lower() in {"", "none", "null"} else int(text)


def _parser() -> StepParser:
    parser = StepParser(prog="python -m ml.train", description=__doc__, allow_abbrev=False)
    parser.add_argument("--algorithm")
    # The training toolkit gives one-letter names a single dash: ``C`` arrives as ``-C``.
    parser.add_argument("-C", "--C", "--c", dest="C", type=float)
    parser.add_argument("--max-iter", "--max_iter", dest="max_iter", type=int)
    parser.add_argument("--learning-rate", "--learning_rate", dest="learning_rate", type=float)
    parser.add_argument("--max-depth", "--max_depth", dest="max_depth", type=_optional_int)
    parser.add_argument("--random-state", "--random_state", dest="random_state", type=int)
    parser.add_argument("--numeric-features", "--numeric_features", dest="numeric", type=_names)
    parser.add_argument("--categorical-features", "--categorical_features", dest="categorical", type=_names)
    parser.add_argument("--label", default=DEFAULT_SCHEMA.label)
    return parser


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = _parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        names = sorted(a for a in unknown if a.startswith("-")) or unknown
        raise UsageError(f"unknown hyperparameters {', '.join(names)}; known: {', '.join(_HYPERPARAMETERS)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    def step() -> None:
        args = parse_args(argv)
        paths = training_paths()
        train(
            paths.train_dir,
            paths.model_dir,
            {name: getattr(args, name) for name in _HYPERPARAMETERS},
            args.numeric or DEFAULT_SCHEMA.numeric_names,
            args.categorical or DEFAULT_SCHEMA.categorical_names,
            args.label,
            paths.validation_dir,
        )

    return run_step(step)


if __name__ == "__main__":
    exit_process(main())
