"""Synthetic customer-churn data and table loading; runs in the container or locally.

``make_churn`` draws a deterministic data set with a real but noisy signal (a good model
reaches an AUC of about 0.85, never 1.0) and a few percent of missing values, so the whole
loop can run without downloading anything. ``load_table`` reads the CSV or Parquet file a
channel or processing input holds.
"""

from __future__ import annotations

import argparse
import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ml.contract import DataError, StepParser, exit_process, run_step

LABEL = "churned"
CONTRACTS = ("month-to-month", "one-year", "two-year")
PAYMENT_METHODS = ("electronic_check", "mailed_check", "bank_transfer", "credit_card")
INTERNET_SERVICES = ("dsl", "fiber_optic", "none")
PAPERLESS = ("yes", "no")
TABLE_SUFFIXES = (".csv", ".parquet")


def _categories(rng: np.random.Generator, values: Sequence[str], p: Sequence[float], rows: int) -> np.ndarray:
    return rng.choice(len(values), size=rows, p=p)


def _with_nulls(rng: np.random.Generator, values: np.ndarray, fraction: float) -> np.ndarray:
    out = values.astype(float)
    out[rng.random(values.shape[0]) < fraction] = np.nan
    return out


def _labels(rng: np.random.Generator, codes: np.ndarray, labels: Sequence[str], null_fraction: float) -> np.ndarray:
    out = np.asarray(labels, dtype=object)[codes]
    out[rng.random(codes.shape[0]) < null_fraction] = None
    return out


def _churn_logit(
    contract: np.ndarray,
    payment: np.ndarray,
    internet: np.ndarray,
    paperless: np.ndarray,
    tenure: np.ndarray,
    monthly: np.ndarray,
    support: np.ndarray,
    age: np.ndarray,
) -> np.ndarray:
    # Mostly additive effects plus one threshold (young customers), so a linear model does well
    # and the Bernoulli draw keeps the best reachable AUC near 0.84.
    return (
        -1.7
        + np.array([1.1, -0.4, -1.6])[contract]
        - 0.03 * tenure
        + 0.015 * (monthly - 65)
        + 0.30 * support
        + np.array([0.0, 0.45, -0.5])[internet]
        + 0.45 * (payment == 0)
        + 0.35 * (age < 30)
        + 0.15 * (paperless == 0)
    )


def make_churn(rows: int, seed: int) -> pd.DataFrame:
    """Draw ``rows`` customers; the same ``rows`` and ``seed`` always give the same bytes."""
    if rows < 1:
        raise ValueError(f"rows must be at least 1, got {rows}")
    rng = np.random.default_rng(seed)
    contract = _categories(rng, CONTRACTS, (0.55, 0.25, 0.20), rows)
    payment = _categories(rng, PAYMENT_METHODS, (0.35, 0.20, 0.22, 0.23), rows)
    internet = _categories(rng, INTERNET_SERVICES, (0.35, 0.45, 0.20), rows)
    paperless = _categories(rng, PAPERLESS, (0.6, 0.4), rows)
    # Longer contracts go with longer tenure, as in real subscriber bases.
    tenure = np.minimum(120, np.floor(rng.exponential(12 + 18 * contract))).astype(np.int64)
    monthly = np.round(20 + 25 * (internet == 1) + rng.gamma(4.0, 9.0, rows) * (internet != 2), 2)
    total = np.round(tenure * monthly * rng.normal(1.0, 0.05, rows), 2).clip(min=0)
    support = np.minimum(15, rng.poisson(1.2 + 0.8 * (internet == 1))).astype(np.int64)
    age = np.clip(np.round(rng.normal(45, 15, rows)), 18, 90)
    usage = np.round(rng.lognormal(3.0, 0.8, rows) * (internet != 2), 1)
    logit = _churn_logit(contract, payment, internet, paperless, tenure, monthly, support, age)
    churned = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    return pd.DataFrame(
        {
            "tenure_months": tenure,
            "monthly_charges": monthly,
            "total_charges": _with_nulls(rng, total, 0.02),
            "support_calls": support,
            "age": _with_nulls(rng, age, 0.03),
            "data_usage_gb": usage,
            "contract": _labels(rng, contract, CONTRACTS, 0.0),
            "payment_method": _labels(rng, payment, PAYMENT_METHODS, 0.02),
            "internet_service": _labels(rng, internet, INTERNET_SERVICES, 0.01),
            "paperless_billing": _labels(rng, paperless, PAPERLESS, 0.0),
            LABEL: churned,
        }
    )


def find_table(path: Path) -> Path:
    """The one CSV or Parquet file at ``path`` (a file, or a folder holding exactly one)."""
    path = Path(path)
    if path.is_file():
        return path
    if not path.is_dir():
        raise DataError(f"no data at {path}: neither a file nor a folder")
    tables = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in TABLE_SUFFIXES)
    if len(tables) != 1:
        found = ", ".join(p.name for p in tables) or "none"
        raise DataError(f"expected exactly one .csv or .parquet file in {path}, found {found}")
    return tables[0]


def load_table(path: Path | str) -> pd.DataFrame:
    """Read a CSV or Parquet table from a file or from a folder holding exactly one."""
    table = find_table(Path(path))
    suffix = table.suffix.lower()
    try:
        if suffix == ".parquet":
            return pd.read_parquet(table)
        if suffix == ".csv":
            _check_csv_header(table)
            return pd.read_csv(table)
    except (ValueError, OSError, csv.Error) as error:
        raise DataError(f"cannot read {table}: {error}") from error
    raise DataError(f"unsupported file type {table.name}: expected .csv or .parquet")


def _check_csv_header(table: Path) -> None:
    """Refuse repeated header names: pandas would rename the second 'age' to 'age.1' and carry on."""
    with table.open(encoding="utf-8", newline="") as handle:
        header = next(csv.reader(handle), [])
    names = [name.strip() for name in header]
    twice = {name: [i for i, n in enumerate(names, 1) if n == name] for name in names if names.count(name) > 1}
    if twice:
        where = "; ".join(f"'{name}' in columns {', '.join(map(str, spots))}" for name, spots in twice.items())
        raise DataError(f"{table.name}: header names a column more than once: {where}")


def write_table(frame: pd.DataFrame, path: Path) -> None:
    """Write CSV or Parquet by suffix; CSV without the index so bytes depend only on data."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".parquet":
        frame.to_parquet(path, index=False)
    elif path.suffix.lower() == ".csv":
        frame.to_csv(path, index=False)
    else:
        raise ValueError(f"unsupported output {path.name}: use .csv or .parquet")


def main(argv: Sequence[str] | None = None) -> int:
    parser = StepParser(prog="python -m ml.dataset", description="Write a synthetic churn data set.")
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, required=True, help="file ending in .csv or .parquet")

    def step() -> None:
        args: argparse.Namespace = parser.parse_args(argv)
        write_table(make_churn(args.rows, args.seed), args.output)

    return run_step(step)


if __name__ == "__main__":
    exit_process(main())
