"""Data-quality checks of captured traffic against ``constraints.json``; runs in the processing container.

Each violation is one entry of Model Monitor's ``constraint_violations.json``
(``feature_name``, ``constraint_check_type``, ``description``). The check types are Model
Monitor's (``missing_column_check``, ``extra_column_check``, ``data_type_check``,
``categorical_values_check``, ``completeness_check``) plus ``range_check`` for values outside
the bounds of the data schema, which the format leaves to containers that extend it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ml.capture import Capture
from ml.profile import STRING, as_numbers, as_text

_SHOWN = 5


def violation(feature: str, check: str, description: str) -> dict[str, str]:
    return {"feature_name": feature, "constraint_check_type": check, "description": description}


def frame_violations(
    frame: pd.DataFrame, features: Sequence[str], capture: Capture, ignore: Iterable[Any]
) -> list[dict[str, str]]:
    """Columns the baseline has and the traffic lacks, and columns it sends that no model reads."""
    found: list[dict[str, str]] = []
    absent = [name for name in features if name not in frame or name in capture.missing_columns]
    for name in absent:
        found.append(violation(name, "missing_column_check", f"column '{name}' of the baseline is missing"))
    known = {*features, *ignore}
    extra = sorted({str(c) for c in frame.columns if c not in known} | capture.extra_columns)
    for name in extra:
        found.append(violation(name, "extra_column_check", f"column '{name}' is not in the baseline"))
    return found


def feature_violations(entry: dict[str, Any], constraint: dict[str, Any], column: pd.Series) -> list[dict[str, str]]:
    name = entry["name"]
    if entry["inferred_type"] == STRING:
        return _domain(name, constraint, column)
    values, text = as_numbers(column)
    found = []
    if text:
        examples = column[column.notna() & np.isnan(values)].astype(str).unique()[:_SHOWN].tolist()
        message = f"{text} non-numeric values, expected {entry['inferred_type']} (e.g. {examples})"
        found.append(violation(name, "data_type_check", message))
    found += _range(name, constraint, values)
    return found


def _domain(name: str, constraint: dict[str, Any], column: pd.Series) -> list[dict[str, str]]:
    domains = constraint.get("string_constraints", {}).get("domains")
    if not domains:
        return []
    values = as_text(column).dropna()
    unknown = values[~values.isin(domains)]
    if unknown.empty:
        return []
    counts = unknown.value_counts()
    shown = ", ".join(f"'{v}' ({c})" for v, c in counts.head(_SHOWN).items())
    share = len(unknown) / max(len(column), 1)
    return [
        violation(
            name,
            "categorical_values_check",
            f"{len(unknown)} values ({share:.1%}) outside the baseline's domain: {shown}",
        )
    ]


def _range(name: str, constraint: dict[str, Any], values: np.ndarray) -> list[dict[str, str]]:
    numbers = constraint.get("num_constraints", {})
    bounds = numbers.get("range", {})
    low = bounds.get("min")
    if low is None and numbers.get("is_non_negative"):
        low = 0
    high = bounds.get("max")
    present = values[~np.isnan(values)]
    below = int((present < low).sum()) if low is not None else 0
    above = int((present > high).sum()) if high is not None else 0
    if not below + above:
        return []
    where = f"[{_text(low, '-inf')}, {_text(high, 'inf')}]"
    return [violation(name, "range_check", f"{below + above} values outside {where} ({below} below, {above} above)")]


def _text(value: float | None, default: str) -> str:
    if value is None:
        return default
    return str(int(value)) if float(value).is_integer() else str(value)
