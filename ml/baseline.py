"""Baseline step: profile the training split and suggest constraints; runs in the processing container.

Writes two files in SageMaker Model Monitor's shapes, which the registry keeps with the model
version and the monitor compares captured traffic against::

    <output_dir>/statistics.json   per feature: inferred type, completeness, mean/std/min/max,
                                   a histogram and percentiles (numeric) or value counts
                                   (categorical); plus "label" (class balance of the training
                                   split) and "prediction" (the model's scores on the test split)
    <output_dir>/constraints.json  per feature: inferred type, completeness, is_non_negative and
                                   the schema's range, the allowed values (domains)

CLI: ``python -m ml.baseline --train-dir DIR --test-dir DIR --model-dir DIR --schema FILE
--output-dir DIR``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ml.artifact import extract_archive, find_archive, load_model
from ml.contract import PROCESSING_INPUT, PROCESSING_OUTPUT, DataError, StepParser, exit_process, run_step, write_json
from ml.dataset import load_table
from ml.profile import STRING, completeness, feature_statistics, numeric_profile
from ml.schema import Schema, load_schema

STATISTICS_FILE = "statistics.json"
CONSTRAINTS_FILE = "constraints.json"
# Model Monitor's monitoring_config; the monitor reads its own tests and thresholds from
# config/<env>.yaml, these fields keep the file readable by tools that know the format.
MONITORING_CONFIG = {
    "evaluate_constraints": "Enabled",
    "emit_metrics": "Enabled",
    "datatype_check_threshold": 1.0,
    "domain_content_threshold": 1.0,
    "distribution_constraints": {"perform_comparison": "Enabled", "comparison_threshold": 0.1},
}


def _label_balance(frame: pd.DataFrame, label: str) -> dict[str, Any]:
    values = pd.to_numeric(frame[label], errors="coerce").dropna().astype(np.int64)
    counts = {str(k): int(v) for k, v in values.value_counts().sort_index().items()}
    return {"name": label, "counts": counts, "positive_fraction": round(float(values.mean()), 6)}


def _prediction(model_dir: Path, test: pd.DataFrame) -> dict[str, Any]:
    """The candidate's scores on the test split: what prediction drift is measured against."""
    with tempfile.TemporaryDirectory(prefix="model-") as unpacked:
        estimator, info = load_model(extract_archive(find_archive(Path(model_dir)), Path(unpacked)))
    missing = [name for name in info["features"] if name not in test]
    if missing:
        raise DataError(f"test data lacks columns {', '.join(missing)}")
    scores = estimator.predict_proba(test[info["features"]])[:, 1]
    threshold = float(info.get("threshold", 0.5))
    return {
        "name": "probability",
        "threshold": threshold,
        "item_count": len(scores),
        "positive_rate": round(float(np.mean(scores >= threshold)), 6),
        "numerical_statistics": numeric_profile(scores.astype(float)),
    }


def statistics(train: pd.DataFrame, schema: Schema, prediction: dict[str, Any]) -> dict[str, Any]:
    missing = [name for name in (*schema.features, schema.label) if name not in train]
    if missing:
        raise DataError(f"training data lacks columns {', '.join(missing)}")
    categorical = set(schema.categorical_names)
    return {
        "version": 0.0,
        "dataset": {"item_count": len(train)},
        "features": [feature_statistics(n, train[n], n in categorical) for n in schema.features],
        "label": _label_balance(train, schema.label),
        "prediction": prediction,
    }


def _feature_constraint(entry: dict[str, Any], schema: Schema) -> dict[str, Any]:
    name = entry["name"]
    constraint: dict[str, Any] = {
        "name": name,
        "inferred_type": entry["inferred_type"],
        "completeness": round(completeness(entry), 6),
    }
    if entry["inferred_type"] == STRING:
        spec = next(c for c in schema.categorical if c.name == name)
        buckets = entry["string_statistics"]["distribution"]["categorical"]["buckets"]
        domains = list(spec.values) if spec.values else sorted(b["value"] for b in buckets)
        constraint["string_constraints"] = {"domains": domains}
        return constraint
    spec = next(c for c in schema.numeric if c.name == name)
    low = entry["numerical_statistics"].get("min")
    numbers: dict[str, Any] = {"is_non_negative": bool(low is not None and low >= 0)}
    # The schema's bounds, not the observed ones: a value outside them cannot be valid input.
    numbers["range"] = {"min": spec.min, "max": spec.max}
    constraint["num_constraints"] = numbers
    return constraint


def constraints(stats: dict[str, Any], schema: Schema) -> dict[str, Any]:
    return {
        "version": 0.0,
        "features": [_feature_constraint(entry, schema) for entry in stats["features"]],
        "monitoring_config": MONITORING_CONFIG,
    }


def baseline(train_dir: Path, test_dir: Path, model_dir: Path, schema_path: Path, output_dir: Path) -> dict[str, Any]:
    """Profile the training split and the model's test scores; write both files, return the statistics."""
    schema = load_schema(schema_path)
    train, test = load_table(train_dir), load_table(test_dir)
    stats = statistics(train, schema, _prediction(model_dir, test))
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    for name, document in ((STATISTICS_FILE, stats), (CONSTRAINTS_FILE, constraints(stats, schema))):
        write_json(output_dir / name, document)
    print(
        f"baseline: profiled {len(train)} training rows and {len(test)} test scores "
        f"(positive rate {stats['prediction']['positive_rate']}) into {output_dir}"
    )
    return stats


def main(argv: Sequence[str] | None = None) -> int:
    parser = StepParser(prog="python -m ml.baseline", description=__doc__, allow_abbrev=False)
    parser.add_argument("--train-dir", type=Path, default=PROCESSING_INPUT / "train")
    parser.add_argument("--test-dir", type=Path, default=PROCESSING_INPUT / "test")
    parser.add_argument("--model-dir", type=Path, default=PROCESSING_INPUT / "model")
    parser.add_argument("--schema", type=Path, default=PROCESSING_INPUT / "schema" / "schema.json")
    parser.add_argument("--output-dir", type=Path, default=PROCESSING_OUTPUT / "baseline")

    def step() -> None:
        args = parser.parse_args(argv)
        baseline(args.train_dir, args.test_dir, args.model_dir, args.schema, args.output_dir)

    return run_step(step)


if __name__ == "__main__":
    exit_process(main())
