"""Hand-made `statistics.json` baselines for the report tests (SageMaker Model Monitor's shape)."""

from __future__ import annotations

from typing import Any


def numeric(name: str, low: float, high: float, std: float, missing: int = 0, rows: int = 1000) -> dict[str, Any]:
    quantiles = [low + (high - low) * i / 100 for i in range(101)]
    return {
        "name": name,
        "inferred_type": "Fractional",
        "numerical_statistics": {
            "common": {"num_present": rows - missing, "num_missing": missing},
            "std_dev": std,
            "distribution": {"quantiles": quantiles},
        },
    }


def categorical(name: str, counts: dict[str, int], missing: int = 0) -> dict[str, Any]:
    return {
        "name": name,
        "inferred_type": "String",
        "string_statistics": {
            "common": {"num_present": sum(counts.values()), "num_missing": missing},
            "distribution": {"categorical": {"buckets": [{"value": k, "count": v} for k, v in counts.items()]}},
        },
    }


def statistics(rows: int, positive: float, *features: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": 0.0,
        "dataset": {"item_count": rows},
        "features": list(features),
        "label": {"name": "churned", "positive_fraction": positive},
    }


CHAMPION_STATS = statistics(
    16_800,
    0.262,
    numeric("tenure_months", 1, 72, 20.0),
    numeric("monthly_charges", 20, 100, 23.0),
    categorical("contract", {"month-to-month": 500, "one-year": 300, "two-year": 200}),
    numeric("age", 18, 80, 15.0, missing=50),
)
CANDIDATE_STATS = statistics(
    17_150,
    0.281,
    numeric("tenure_months", 1, 72, 20.0),
    numeric("monthly_charges", 30, 110, 23.0),
    categorical("contract", {"month-to-month": 400, "one-year": 300, "two-year": 300}),
    numeric("age", 18, 80, 15.0, missing=120),
)
