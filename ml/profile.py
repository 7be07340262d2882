"""Column profiles in SageMaker Model Monitor's ``statistics.json`` shape; runs in the container.

The baseline step profiles the training split with these functions and the monitor profiles
the captured traffic with the same ones, so both sides of a comparison are computed alike.
A numeric profile holds Model Monitor's fields (``common``, mean, sum, std_dev, min, max and a
ten-bucket histogram under ``distribution.kll.buckets``) plus the 101 percentiles under
``distribution.quantiles``, which is what the drift tests compare (a Wasserstein distance and
a Kolmogorov-Smirnov statistic both follow from the quantile function). A categorical
profile holds every value's count under ``distribution.categorical.buckets``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

HISTOGRAM_BUCKETS = 10
QUANTILE_POINTS = np.linspace(0.0, 1.0, 101)
INTEGRAL, FRACTIONAL, STRING, UNKNOWN = "Integral", "Fractional", "String", "Unknown"


def _round(value: float) -> float | None:
    # JSON has no NaN or infinity: an undefined statistic is null.
    return round(float(value), 9) if np.isfinite(value) else None


def as_numbers(column: pd.Series) -> tuple[np.ndarray, int]:
    """Float values (NaN for missing) and how many present values were not numbers."""
    if column.dtype.kind in "fiub":
        return column.to_numpy(dtype=float, na_value=np.nan), 0
    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    text = int((column.notna().to_numpy() & np.isnan(values)).sum())
    return values, text


def as_text(column: pd.Series, strip: bool = False) -> pd.Series:
    """Category values as strings (missing stays missing), as the serving container reads them.

    A column that is all text already is returned as it is, or stripped with ``strip``: the
    monitor strips captured text once and then compares it many times.
    """
    if column.dtype == object and pd.api.types.infer_dtype(column, skipna=True) == "string":
        return column.str.strip() if strip else column
    present = column.notna()
    out = column.astype(object).where(~present, None)
    out[present] = column[present].map(_category_text)
    return out


def _category_text(value: Any) -> str:
    # A CSV reader turns "1" into 1 and 1.0 alike; categories are compared as text.
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def infer_type(column: pd.Series) -> str:
    """Model Monitor's inferred type: Integral, Fractional, String, or Unknown (no values)."""
    present = column.dropna()
    if present.empty:
        return UNKNOWN
    values, text = as_numbers(present)
    if text:
        return STRING
    return INTEGRAL if np.all(np.mod(values, 1) == 0) else FRACTIONAL


def _common(rows: int, present: int) -> dict[str, int]:
    return {"num_present": int(present), "num_missing": int(rows - present)}


def numeric_profile(values: np.ndarray) -> dict[str, Any]:
    """Model Monitor's ``numerical_statistics`` for float values with NaN for missing."""
    present = values[~np.isnan(values)]
    profile: dict[str, Any] = {"common": _common(len(values), len(present))}
    if not len(present):
        return profile
    low, high = float(present.min()), float(present.max())
    counts, edges = np.histogram(present, bins=HISTOGRAM_BUCKETS, range=(low, high if high > low else low + 1))
    buckets = [
        {"lower_bound": _round(edges[i]), "upper_bound": _round(edges[i + 1]), "count": int(c)}
        for i, c in enumerate(counts)
    ]
    profile.update(
        mean=_round(present.mean()),
        sum=_round(present.sum()),
        std_dev=_round(present.std()),
        min=_round(low),
        max=_round(high),
        distribution={
            "kll": {"buckets": buckets},
            "quantiles": [_round(q) for q in np.quantile(present, QUANTILE_POINTS)],
        },
    )
    return profile


def categorical_profile(values: pd.Series) -> dict[str, Any]:
    """Model Monitor's ``string_statistics`` with every value's count, most frequent first."""
    present = values.dropna()
    counts = present.value_counts(sort=False)
    ordered = sorted(counts.items(), key=lambda item: (-item[1], str(item[0])))
    return {
        "common": _common(len(values), len(present)),
        "distinct_count": len(counts),
        "distribution": {"categorical": {"buckets": [{"value": str(v), "count": int(c)} for v, c in ordered]}},
    }


def feature_statistics(name: str, column: pd.Series, categorical: bool) -> dict[str, Any]:
    """One entry of ``statistics.json``'s ``features`` list."""
    if categorical:
        return {"name": name, "inferred_type": STRING, "string_statistics": categorical_profile(as_text(column))}
    values, _ = as_numbers(column)
    return {"name": name, "inferred_type": infer_type(column), "numerical_statistics": numeric_profile(values)}


def category_counts(entry: dict[str, Any]) -> dict[str, int]:
    """``{value: count}`` of a categorical entry of ``statistics.json``."""
    buckets = entry["string_statistics"]["distribution"]["categorical"]["buckets"]
    return {b["value"]: int(b["count"]) for b in buckets}


def completeness(entry: dict[str, Any]) -> float:
    """Share of present values of a ``statistics.json`` entry (1.0 for an empty column)."""
    block = entry.get("numerical_statistics") or entry.get("string_statistics") or {}
    common = block.get("common", {})
    total = common.get("num_present", 0) + common.get("num_missing", 0)
    return common.get("num_present", 0) / total if total else 1.0
