"""Processing step: validate the raw table and split it; runs in the processing container.

Reads one CSV or Parquet file, validates it against the schema (nothing is written when it
fails), keeps the schema's columns, and writes a stratified split::

    <output_dir>/train/train.csv
    <output_dir>/validation/validation.csv
    <output_dir>/test/test.csv
    <output_dir>/report/data_report.json

CLI: ``python -m ml.preprocess --input-dir DIR --schema FILE --output-dir DIR
--validation-fraction 0.15 --test-fraction 0.15 --seed 0``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.model_selection import train_test_split

from ml.contract import (
    PROCESSING_INPUT,
    PROCESSING_OUTPUT,
    DataError,
    StepParser,
    UsageError,
    exit_process,
    run_step,
    write_json,
)
from ml.dataset import find_table, load_table
from ml.schema import Schema, load_schema, validate

SPLITS = ("train", "validation", "test")


def _split(
    frame: pd.DataFrame, label: str, validation_fraction: float, test_fraction: float, seed: int
) -> dict[str, pd.DataFrame]:
    try:
        rest, test = train_test_split(frame, test_size=test_fraction, stratify=frame[label], random_state=seed)
        share = validation_fraction / (1 - test_fraction)
        train, validation = train_test_split(rest, test_size=share, stratify=rest[label], random_state=seed)
    except ValueError as error:
        # sklearn refuses a stratified split when a class has too few rows for every split.
        raise DataError(f"cannot split {len(frame)} rows into train/validation/test: {error}") from error
    return {"train": train, "validation": validation, "test": test}


def _report(
    source: Path, raw: pd.DataFrame, schema: Schema, splits: dict[str, pd.DataFrame], params: dict[str, Any]
) -> dict[str, Any]:
    label = schema.label
    return {
        "source": source.name,
        "rows": {"input": len(raw), **{name: len(part) for name, part in splits.items()}},
        "null_counts": {name: int(count) for name, count in raw.isna().sum().items()},
        "label": {
            "name": label,
            "counts": {name: _counts(part[label]) for name, part in splits.items()},
            "positive_fraction": {name: round(float(part[label].mean()), 6) for name, part in splits.items()},
        },
        "dropped_columns": [name for name in raw.columns if name not in (*schema.features, label)],
        "schema": schema.to_dict(),
        "parameters": params,
    }


def _counts(labels: pd.Series) -> dict[str, int]:
    return {str(value): int(count) for value, count in labels.value_counts().sort_index().items()}


def _check_fractions(validation_fraction: float, test_fraction: float) -> None:
    if not (0 < validation_fraction < 1 and 0 < test_fraction < 1 and validation_fraction + test_fraction < 1):
        raise UsageError(
            f"fractions must be in (0, 1) and sum below 1, got validation {validation_fraction}, test {test_fraction}"
        )


def preprocess(
    input_dir: Path,
    schema_path: Path,
    output_dir: Path,
    validation_fraction: float = 0.15,
    test_fraction: float = 0.15,
    seed: int = 0,
) -> dict[str, Any]:
    """Validate, split and write; returns the data report that was written."""
    _check_fractions(validation_fraction, test_fraction)
    schema = load_schema(schema_path)
    source = find_table(Path(input_dir))
    raw = load_table(source)
    validate(raw, schema)
    frame = raw[[*schema.features, schema.label]].copy()
    frame[schema.label] = pd.to_numeric(frame[schema.label]).astype("int64")
    splits = _split(frame, schema.label, validation_fraction, test_fraction, seed)
    params = {"validation_fraction": validation_fraction, "test_fraction": test_fraction, "seed": seed}
    report = _report(source, raw, schema, splits, params)
    output_dir = Path(output_dir)
    for name, part in splits.items():
        (output_dir / name).mkdir(parents=True, exist_ok=True)
        part.to_csv(output_dir / name / f"{name}.csv", index=False)
    (output_dir / "report").mkdir(parents=True, exist_ok=True)
    write_json(output_dir / "report" / "data_report.json", report)
    for name in SPLITS:
        print(f"preprocess: wrote {report['rows'][name]} rows to {output_dir / name / f'{name}.csv'}")
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = StepParser(prog="python -m ml.preprocess", description=__doc__, allow_abbrev=False)
    parser.add_argument("--input-dir", type=Path, default=PROCESSING_INPUT / "raw")
    parser.add_argument("--schema", type=Path, default=PROCESSING_INPUT / "schema" / "schema.json")
    parser.add_argument("--output-dir", type=Path, default=PROCESSING_OUTPUT)
    parser.add_argument("--validation-fraction", type=float, default=0.15)
    parser.add_argument("--test-fraction", type=float, default=0.15)
    parser.add_argument("--seed", type=int, default=0)

    def step() -> None:
        args = parser.parse_args(argv)
        preprocess(
            args.input_dir, args.schema, args.output_dir, args.validation_fraction, args.test_fraction, args.seed
        )

    return run_step(step)


if __name__ == "__main__":
    exit_process(main())
