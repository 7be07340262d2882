"""Benchmark: detection and false-positive rates of the drift monitor against Evidently's default preset.

Run on demand (not collected by pytest):

    .venv/bin/python tests/bench/bench_drift.py [--seeds 20] [--rows 1000]

The reference is the training split of the sample data (14,000 rows). Each seed draws a
fresh window of ``--rows`` customers and applies one shift of the suite below; a detector
*detects* when it flags the shifted feature, and a flag on any other feature, or on any
feature of the unshifted window, is a *false positive*. Evidently (a benchmark-only peer,
``pip install evidently``) runs its default ``DataDriftPreset`` on the same frames when it
is installed; otherwise only this monitor's figures are printed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from sklearn.model_selection import train_test_split  # noqa: E402

from ml.baseline import constraints  # noqa: E402
from ml.capture import Capture  # noqa: E402
from ml.dataset import make_churn  # noqa: E402
from ml.monitor import monitor, settings  # noqa: E402
from ml.profile import feature_statistics  # noqa: E402
from ml.schema import DEFAULT_SCHEMA  # noqa: E402

FEATURES = list(DEFAULT_SCHEMA.features)
Shift = Callable[[pd.DataFrame, np.random.Generator, pd.DataFrame], pd.DataFrame]


def _mean(sigmas: float) -> Shift:
    def shift(frame: pd.DataFrame, rng: np.random.Generator, ref: pd.DataFrame) -> pd.DataFrame:
        frame["monthly_charges"] = frame["monthly_charges"] + sigmas * ref["monthly_charges"].std()
        return frame

    return shift


def _variance(frame: pd.DataFrame, rng: np.random.Generator, ref: pd.DataFrame) -> pd.DataFrame:
    centre = ref["monthly_charges"].mean()
    frame["monthly_charges"] = (centre + 1.5 * (frame["monthly_charges"] - centre)).clip(lower=0)
    return frame


def _share(points: float) -> Shift:
    def shift(frame: pd.DataFrame, rng: np.random.Generator, ref: pd.DataFrame) -> pd.DataFrame:
        # Move `points` of all rows from month-to-month (55 %) to one-year (25 %).
        moving = (frame["contract"] == "month-to-month").to_numpy() & (rng.random(len(frame)) < points / 0.55)
        frame.loc[moving, "contract"] = "one-year"
        return frame

    return shift


def _new_category(frame: pd.DataFrame, rng: np.random.Generator, ref: pd.DataFrame) -> pd.DataFrame:
    frame.loc[rng.random(len(frame)) < 0.10, "payment_method"] = "crypto"
    return frame


def _nulls(frame: pd.DataFrame, rng: np.random.Generator, ref: pd.DataFrame) -> pd.DataFrame:
    frame.loc[rng.random(len(frame)) < 0.20, "age"] = np.nan
    return frame


SUITE: dict[str, tuple[str | None, Shift | None]] = {
    "no shift": (None, None),
    "mean +0.25σ (monthly_charges)": ("monthly_charges", _mean(0.25)),
    "mean +1σ (monthly_charges)": ("monthly_charges", _mean(1.0)),
    "variance ×1.5² (monthly_charges)": ("monthly_charges", _variance),
    "share moved 10 pts (contract)": ("contract", _share(0.10)),
    "share moved 30 pts (contract)": ("contract", _share(0.30)),
    "new category 10 % (payment_method)": ("payment_method", _new_category),
    "nulls 3 % → 20 % (age)": ("age", _nulls),
}


def reference() -> pd.DataFrame:
    data = make_churn(20000, 42)
    rest, _ = train_test_split(data, test_size=0.15, stratify=data["churned"], random_state=7)
    train, _ = train_test_split(rest, test_size=0.15 / 0.85, stratify=rest["churned"], random_state=7)
    return train[FEATURES].reset_index(drop=True)


class Ours:
    name = "this monitor"

    def __init__(self, ref: pd.DataFrame) -> None:
        categorical = set(DEFAULT_SCHEMA.categorical_names)
        self.stats = {
            "version": 0.0,
            "dataset": {"item_count": len(ref)},
            "features": [feature_statistics(n, ref[n], n in categorical) for n in FEATURES],
        }
        self.constraints = constraints(self.stats, DEFAULT_SCHEMA)
        self.cfg = settings(None)

    def flagged(self, current: pd.DataFrame) -> set[str]:
        result, _, _ = monitor(self.stats, self.constraints, Capture(current, len(current), 1), self.cfg)
        return set(result["drifted_features"])


class Evidently:
    name = "Evidently DataDriftPreset"

    def __init__(self, ref: pd.DataFrame) -> None:
        from evidently.legacy.metric_preset import DataDriftPreset
        from evidently.legacy.pipeline.column_mapping import ColumnMapping
        from evidently.legacy.report import Report

        self.ref, self.preset, self.report = ref, DataDriftPreset, Report
        self.mapping = ColumnMapping(
            numerical_features=DEFAULT_SCHEMA.numeric_names, categorical_features=DEFAULT_SCHEMA.categorical_names
        )

    def flagged(self, current: pd.DataFrame) -> set[str]:
        report = self.report(metrics=[self.preset()])
        report.run(reference_data=self.ref, current_data=current, column_mapping=self.mapping)
        for metric in report.as_dict()["metrics"]:
            columns = metric["result"].get("drift_by_columns")
            if columns:
                return {name for name, item in columns.items() if item["drift_detected"]}
        raise RuntimeError("no drift_by_columns in Evidently's report")


def detectors(ref: pd.DataFrame) -> list[Ours | Evidently]:
    found: list[Ours | Evidently] = [Ours(ref)]
    try:
        found.append(Evidently(ref))
    except ImportError:
        print("Evidently is not installed: only this monitor's figures (pip install evidently)\n")
    return found


def run(seeds: int, rows: int) -> None:
    ref = reference()
    tools = detectors(ref)
    print(f"reference {len(ref):,} rows; windows of {rows:,} rows; {seeds} seeds per shift\n")
    header = "".join(f" | {t.name} detection | false positives" for t in tools)
    print(f"shift{header}")
    for label, (feature, shift) in SUITE.items():
        hits = {t.name: 0 for t in tools}
        false = {t.name: 0 for t in tools}
        for seed in range(seeds):
            current = make_churn(rows, 1000 + seed)[FEATURES]
            if shift is not None:
                current = shift(current.copy(), np.random.default_rng(seed), ref)
            for tool in tools:
                flagged = tool.flagged(current)
                hits[tool.name] += feature in flagged
                false[tool.name] += len(flagged - {feature})
        others = len(FEATURES) - (feature is not None)
        cells = ""
        for tool in tools:
            detection = f"{hits[tool.name] / seeds:.0%}" if feature else "-"
            cells += f" | {detection} | {false[tool.name] / (seeds * others):.1%}"
        print(f"{label}{cells}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--rows", type=int, default=1000)
    args = parser.parse_args(argv)
    run(args.seeds, args.rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
