"""Drift tests between a baseline profile and current values; runs in the processing container.

Every judgement needs two things: the change is *significant* (a two-sample test at level
``alpha``, so a few hundred noisy rows do not raise an alarm) and *large enough to matter*
(an effect size at or above the feature's threshold, so a million rows do not turn a
negligible wobble into drift). Effect sizes:

- numeric: ``wasserstein`` (default; earth mover's distance in units of the baseline's
  standard deviation, 0.1 = a tenth of a standard deviation), ``psi`` (population stability
  index over the baseline's deciles) or ``ks`` (the Kolmogorov-Smirnov statistic); the
  significance test is Kolmogorov-Smirnov. All three come from the baseline's percentiles.
- categorical: ``total_variation`` (default; the share of rows that would have to change
  category, 0.05 = five points), ``jensen_shannon`` (distance, natural log) or ``psi``; the
  significance test is chi-square on the two samples' counts, new values included.
- missing values: the rise of the missing share, tested one-sided (two proportions).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy import stats
from scipy.spatial import distance

from ml.profile import QUANTILE_POINTS

NUMERIC_TESTS = ("wasserstein", "psi", "ks")
CATEGORICAL_TESTS = ("total_variation", "jensen_shannon", "psi")
_EPSILON = 1e-4  # PSI's floor for an empty bin


def _verdict(test: str, statistic: float, threshold: float, p_value: float, alpha: float) -> dict[str, Any]:
    drift = bool(statistic >= threshold and p_value < alpha)
    return {
        "test": test,
        "statistic": round(float(statistic), 6),
        "threshold": threshold,
        "p_value": float(f"{p_value:.3g}"),
        "drift": drift,
    }


def _ref_cdf(quantiles: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The baseline's CDF at ``points``, read off its percentiles (exact at ties of discrete data)."""
    index = np.searchsorted(quantiles, points, side="right") - 1
    return np.where(index < 0, 0.0, QUANTILE_POINTS[np.clip(index, 0, len(QUANTILE_POINTS) - 1)])


def _psi(expected: np.ndarray, actual: np.ndarray) -> float:
    expected, actual = np.maximum(expected, _EPSILON), np.maximum(actual, _EPSILON)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def numeric_drift(
    baseline: Mapping[str, Any], values: np.ndarray, test: str = "wasserstein", threshold: float = 0.1, alpha=0.01
) -> dict[str, Any]:
    """Compare present ``values`` with a ``numerical_statistics`` block of ``statistics.json``."""
    quantiles = np.asarray(baseline["distribution"]["quantiles"], dtype=float)
    n_ref = int(baseline["common"]["num_present"])
    current = np.sort(values[~np.isnan(values)])
    n_cur = len(current)
    points = np.unique(quantiles)
    cdf_gap = np.abs(np.searchsorted(current, points, side="right") / n_cur - _ref_cdf(quantiles, points))
    ks = float(cdf_gap.max())
    p_value = float(stats.kstwobign.sf(ks * np.sqrt(n_ref * n_cur / (n_ref + n_cur))))
    if test == "ks":
        statistic = ks
    elif test == "psi":
        edges = np.unique(quantiles[10:-10:10])
        expected = np.diff(np.concatenate([[0.0], _ref_cdf(quantiles, edges), [1.0]]))
        actual = np.diff(np.concatenate([[0.0], np.searchsorted(current, edges, side="right") / n_cur, [1.0]]))
        statistic = _psi(expected, actual)
    else:
        gap = np.abs(quantiles - np.quantile(current, QUANTILE_POINTS))
        scale = float(baseline.get("std_dev") or 0.0) or max(abs(float(baseline.get("mean") or 0.0)), 1.0)
        statistic = float(np.trapezoid(gap, QUANTILE_POINTS)) / scale
    return _verdict(test, statistic, threshold, p_value, alpha)


def categorical_drift(
    baseline: Mapping[str, int], current: Mapping[str, int], test: str = "total_variation", threshold=0.05, alpha=0.01
) -> dict[str, Any]:
    """Compare value counts; values absent from the baseline count as their own categories."""
    names = sorted(set(baseline) | set(current))
    ref = np.array([baseline.get(n, 0) for n in names], dtype=float)
    cur = np.array([current.get(n, 0) for n in names], dtype=float)
    p, q = ref / ref.sum(), cur / cur.sum()
    if test == "jensen_shannon":
        statistic = float(distance.jensenshannon(p, q))
    elif test == "psi":
        statistic = _psi(p, q)
    else:
        statistic = float(0.5 * np.abs(p - q).sum())
    used = (ref + cur) > 0
    if used.sum() < 2:
        p_value = 1.0
    else:
        p_value = float(stats.chi2_contingency(np.vstack([ref[used], cur[used]]), correction=False).pvalue)
    return _verdict(test, statistic, threshold, p_value, alpha)


def rate_rise(
    ref_share: float, n_ref: int, cur_hits: int, n_cur: int, threshold: float, alpha: float, two_sided: bool = False
) -> dict[str, Any]:
    """A share (missing values, positive predictions) compared with the baseline's: z-test of two proportions."""
    cur_share = cur_hits / n_cur if n_cur else 0.0
    pooled = (ref_share * n_ref + cur_hits) / (n_ref + n_cur)
    spread = np.sqrt(pooled * (1 - pooled) * (1 / n_ref + 1 / max(n_cur, 1)))
    delta = cur_share - ref_share
    z = delta / spread if spread > 0 else (np.inf if delta > 0 else 0.0)
    p_value = float(2 * stats.norm.sf(abs(z))) if two_sided else float(stats.norm.sf(z))
    effect = abs(delta) if two_sided else delta
    verdict = _verdict("proportion", effect, threshold, p_value, alpha)
    verdict.update(baseline=round(ref_share, 6), current=round(cur_share, 6))
    return verdict
