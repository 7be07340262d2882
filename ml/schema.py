"""The data schema and its validation; runs in the processing and training containers.

A schema is JSON (the control plane writes it from ``config/pipeline.yaml``)::

    {"label": "churned",
     "numeric": [{"name": "tenure_months", "min": 0, "max": 120}, ...],
     "categorical": [{"name": "contract", "values": ["month-to-month", ...]}, ...],
     "max_null_fraction": 0.2,
     "ignore_columns": ["customer_id"]}

``validate`` reports every problem at once. A column the schema does not name is an error,
unless it is listed in ``ignore_columns``: a new column in the data should be a decision
(a feature, or dropped on purpose), never silently left out of the model. Row numbers are
1-based data rows: row 1 is the first row after the header (line 2 of a CSV file).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ml.contract import DataError

_SHOWN_ROWS = 5
_SHOWN_VALUES = 10


class DataValidationError(DataError):
    """The data breaks the schema; ``problems`` holds one message per problem."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


class SchemaError(ValueError):
    """The schema itself is malformed (a configuration error, not a data error)."""


@dataclass(frozen=True)
class NumericColumn:
    name: str
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class CategoricalColumn:
    name: str
    values: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Schema:
    label: str
    numeric: tuple[NumericColumn, ...] = ()
    categorical: tuple[CategoricalColumn, ...] = ()
    max_null_fraction: float = 0.2
    ignore_columns: tuple[str, ...] = ()
    features: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "features", tuple(c.name for c in (*self.numeric, *self.categorical)))

    @property
    def numeric_names(self) -> list[str]:
        return [c.name for c in self.numeric]

    @property
    def categorical_names(self) -> list[str]:
        return [c.name for c in self.categorical]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Schema:
        try:
            numeric = tuple(NumericColumn(**spec) for spec in data.get("numeric", []))
            categorical = tuple(
                CategoricalColumn(spec["name"], tuple(spec["values"]) if spec.get("values") else None)
                for spec in data.get("categorical", [])
            )
            schema = cls(
                data["label"],
                numeric,
                categorical,
                float(data.get("max_null_fraction", 0.2)),
                tuple(data.get("ignore_columns") or ()),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise SchemaError(f"malformed schema: {error!r}") from error
        names = [schema.label, *schema.features]
        if len(set(names)) != len(names) or not schema.features or set(names) & set(schema.ignore_columns):
            raise SchemaError(f"schema needs distinct, non-empty feature and label names, got {names}")
        return schema

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("features")
        return data


DEFAULT_SCHEMA = Schema.from_dict(
    {
        "label": "churned",
        "numeric": [
            {"name": "tenure_months", "min": 0, "max": 120},
            {"name": "monthly_charges", "min": 0, "max": 1000},
            {"name": "total_charges", "min": 0},
            {"name": "support_calls", "min": 0, "max": 100},
            {"name": "age", "min": 18, "max": 120},
            {"name": "data_usage_gb", "min": 0},
        ],
        "categorical": [
            {"name": "contract", "values": ["month-to-month", "one-year", "two-year"]},
            {"name": "payment_method", "values": ["electronic_check", "mailed_check", "bank_transfer", "credit_card"]},
            {"name": "internet_service", "values": ["dsl", "fiber_optic", "none"]},
            {"name": "paperless_billing", "values": ["yes", "no"]},
        ],
        "max_null_fraction": 0.2,
    }
)


def load_schema(path: Path | str) -> Schema:
    """Read a schema JSON file."""
    try:
        return Schema.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, json.JSONDecodeError) as error:
        raise SchemaError(f"cannot read schema {path}: {error}") from error


def _rows(mask: np.ndarray) -> str:
    positions = np.flatnonzero(mask) + 1
    shown = ", ".join(str(p) for p in positions[:_SHOWN_ROWS])
    more = f" and {len(positions) - _SHOWN_ROWS} more" if len(positions) > _SHOWN_ROWS else ""
    return f"row{'s' if len(positions) > 1 else ''} {shown}{more}"


def _number(value: float | None, default: str) -> str:
    if value is None:
        return default
    return str(int(value)) if float(value).is_integer() else str(value)


def _null_problem(name: str, column: pd.Series, limit: float) -> list[str]:
    fraction = float(column.isna().mean())
    if fraction <= limit:
        return []
    return [f"column '{name}': {fraction:.0%} nulls exceeds max_null_fraction {limit:g}"]


def _check_numeric(column: pd.Series, spec: NumericColumn, limit: float) -> list[str]:
    problems = _null_problem(spec.name, column, limit)
    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    text = column.notna().to_numpy() & np.isnan(values)
    if text.any():
        example = column[text].iloc[0]
        problems.append(f"column '{spec.name}': {text.sum()} non-numeric values at {_rows(text)} (e.g. {example!r})")
    # inf and -inf pass a range check without bounds, then break scaling deep inside training.
    infinite = np.isinf(values)
    if infinite.any():
        problems.append(f"column '{spec.name}': {infinite.sum()} infinite values at {_rows(infinite)}")
        values = np.where(infinite, np.nan, values)
    low = -np.inf if spec.min is None else spec.min
    high = np.inf if spec.max is None else spec.max
    outside = (values < low) | (values > high)
    if outside.any():
        bounds = f"[{_number(spec.min, '-inf')}, {_number(spec.max, 'inf')}]"
        problems.append(f"column '{spec.name}': {outside.sum()} values out of range {bounds} at {_rows(outside)}")
    return problems


def _check_categorical(column: pd.Series, spec: CategoricalColumn, limit: float) -> list[str]:
    problems = _null_problem(spec.name, column, limit)
    if spec.values is None:
        return problems
    present = column.notna().to_numpy()
    unknown = present & ~column.astype(object).map(str).isin(spec.values).to_numpy()
    if unknown.any():
        found = sorted({str(v) for v in column[unknown]})[:_SHOWN_VALUES]
        problems.append(
            f"column '{spec.name}': {unknown.sum()} unknown values {found} at {_rows(unknown)} "
            f"(allowed: {', '.join(spec.values)})"
        )
    return problems


def _check_label(column: pd.Series, name: str) -> list[str]:
    problems = []
    nulls = column.isna().to_numpy()
    if nulls.any():
        problems.append(f"column '{name}' (label): {nulls.sum()} nulls at {_rows(nulls)}")
    values = pd.to_numeric(column, errors="coerce")
    bad = ~nulls & ~values.isin([0, 1]).to_numpy()
    if bad.any():
        found = sorted({v for v in column[~nulls]}, key=str)[:_SHOWN_VALUES]
        problems.append(f"column '{name}' (label): not binary, found values {found} at {_rows(bad)}")
    elif values[~nulls].nunique() < 2:
        problems.append(f"column '{name}' (label): only one class present, need both 0 and 1")
    return problems


def _column_problems(frame: pd.DataFrame, schema: Schema, extra_columns: bool) -> list[str]:
    names = [str(name) for name in frame.columns]
    twice = sorted({name for name in names if names.count(name) > 1})
    problems = [f"column '{name}' appears more than once" for name in twice]
    problems += [f"missing column '{name}'" for name in (*schema.features, schema.label) if name not in frame]
    known = {*schema.features, schema.label, *schema.ignore_columns}
    unknown = [name for name in dict.fromkeys(names) if name not in known]
    if unknown and not extra_columns:
        problems.append(
            f"unknown columns {', '.join(repr(n) for n in unknown)}: not a feature or the label "
            "(add them under features:, or list them in features.ignore_columns to drop them)"
        )
    return problems


def validate(frame: pd.DataFrame, schema: Schema | Mapping[str, Any], *, extra_columns: bool = False) -> None:
    """Raise DataValidationError listing every way ``frame`` breaks ``schema``.

    ``extra_columns=True`` lets columns the schema does not name pass (training on a chosen
    subset of the features); the data gate in preprocessing refuses them.
    """
    if not isinstance(schema, Schema):
        schema = Schema.from_dict(schema)
    if frame.empty:
        raise DataValidationError(["no data rows"])
    frame = frame.reset_index(drop=True)
    problems = _column_problems(frame, schema, extra_columns)
    if frame.columns.duplicated().any():  # a repeated name selects a frame, not a column: stop here
        raise DataValidationError(problems)
    for spec in schema.numeric:
        if spec.name in frame:
            problems += _check_numeric(frame[spec.name], spec, schema.max_null_fraction)
    for spec in schema.categorical:
        if spec.name in frame:
            problems += _check_categorical(frame[spec.name], spec, schema.max_null_fraction)
    if schema.label in frame:
        problems += _check_label(frame[schema.label], schema.label)
    if problems:
        raise DataValidationError(problems)
