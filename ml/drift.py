"""Drift tests between a baseline profile and current values; runs in the processing container.

Every judgement needs two things: the change is *significant* (a two-sample test at level
``alpha``, so a few hundred noisy rows do not raise an alarm) and *large enough to matter*
(an effect size at or above the feature's threshold, so a million rows do not turn a
negligible wobble into drift). Effect sizes:

- numeric: ``wasserstein`` (default; earth mover's distance in units of the baseline's
  standard deviation, 0.1 = a tenth of a standard deviation), ``psi`` (population stability
  index over the baseline's deciles) or ``ks`` (the Kolmogorov-Smirnov statistic). PSI is
  tested with chi-square over the deciles, KS with its own distribution; the Wasserstein
  distance with both Kolmogorov-Smirnov (strong on a shift of location) and its own null
  distribution simulated from the baseline (strong on a change of spread, which KS misses in
  small windows), Bonferroni-corrected. All of it comes from the baseline's percentiles.
- categorical: ``total_variation`` (default; the share of rows that would have to change
  category, 0.05 = five points), ``jensen_shannon`` (distance, natural log) or ``psi``; the
  significance test is chi-square on the two samples' counts, new values included.
- missing values: the rise of the missing share, tested one-sided (two proportions).

The distributions come from `scipy.special` (Kolmogorov, chi-square, normal), which the
monitoring job imports in a fraction of the time `scipy.stats` takes; the tests check every
p-value and distance against `scipy.stats` and `scipy.spatial.distance`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy import special

from ml.profile import QUANTILE_POINTS

NUMERIC_TESTS = ("wasserstein", "psi", "ks")
CATEGORICAL_TESTS = ("total_variation", "jensen_shannon", "psi")
_EPSILON = 1e-4  # PSI's floor for an empty bin
NULL_DRAWS = 400  # Monte Carlo draws of the Wasserstein null: p-values down to 1/401
_NULL_ROWS = 50_000  # beyond this many rows the null is far below any threshold; draw this many


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


def kolmogorov_sf(x: float) -> float:
    """P(K > x) for the limiting Kolmogorov distribution (`scipy.stats.kstwobign.sf`)."""
    return float(special.kolmogorov(x))


def normal_sf(z: float) -> float:
    """P(Z > z) for a standard normal (`scipy.stats.norm.sf`)."""
    return float(special.ndtr(-z))


def chi2_independence_p(table: np.ndarray) -> float:
    """Pearson's chi-square test of independence, no continuity correction: its p-value.

    As `scipy.stats.chi2_contingency(table, correction=False).pvalue`, including its refusal of
    a table with an empty row or column (an expected count of zero).
    """
    table = np.asarray(table, dtype=float)
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    if (expected == 0).any():
        raise ValueError("The internally computed table of expected frequencies has a zero element")
    dof = (table.shape[0] - 1) * (table.shape[1] - 1)
    if dof == 0:
        return 1.0
    return float(special.chdtrc(dof, float(((table - expected) ** 2 / expected).sum())))


def jensen_shannon(p: np.ndarray, q: np.ndarray) -> float:
    """The Jensen-Shannon distance, natural log (`scipy.spatial.distance.jensenshannon`)."""
    p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
    p, q = p / p.sum(), q / q.sum()
    m = (p + q) / 2
    return float(np.sqrt((special.rel_entr(p, m).sum() + special.rel_entr(q, m).sum()) / 2))


def _psi(expected: np.ndarray, actual: np.ndarray) -> float:
    expected, actual = np.maximum(expected, _EPSILON), np.maximum(actual, _EPSILON)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def _wasserstein(quantiles: np.ndarray, values: np.ndarray, scale: float) -> float:
    # Between the 1st and the 99th percentile: the minimum and maximum of a heavy-tailed
    # feature swing from window to window and would dominate the distance on their own.
    inner = QUANTILE_POINTS[1:-1]
    gap = np.abs(quantiles[1:-1] - np.quantile(values, inner))
    return float(np.trapezoid(gap, inner)) / scale


def _wasserstein_p(quantiles: np.ndarray, observed: float, rows: int, scale: float) -> float:
    """P(distance ≥ observed) for `rows` values drawn from the baseline itself (seeded: repeatable)."""
    rng = np.random.default_rng(0)
    draws = rng.random((NULL_DRAWS, min(rows, _NULL_ROWS)))
    null = [_wasserstein(quantiles, np.interp(u, QUANTILE_POINTS, quantiles), scale) for u in draws]
    return (1 + sum(value >= observed for value in null)) / (1 + NULL_DRAWS)


def numeric_drift(
    baseline: Mapping[str, Any], values: np.ndarray, test: str = "wasserstein", threshold: float = 0.1, alpha=0.01
) -> dict[str, Any]:
    """Compare present ``values`` with a ``numerical_statistics`` block of ``statistics.json``."""
    quantiles = np.asarray(baseline["distribution"]["quantiles"], dtype=float)
    n_ref = int(baseline["common"]["num_present"])
    current = np.sort(values[~np.isnan(values)])
    n_cur = len(current)
    effective = n_ref * n_cur / (n_ref + n_cur)  # two samples' noise, as one sample of this size
    points = np.unique(quantiles)
    gaps = np.abs(np.searchsorted(current, points, side="right") / n_cur - _ref_cdf(quantiles, points))
    ks = float(gaps.max())
    ks_p = kolmogorov_sf(ks * np.sqrt(effective))
    if test == "wasserstein":
        scale = float(baseline.get("std_dev") or 0.0) or max(abs(float(baseline.get("mean") or 0.0)), 1.0)
        statistic = _wasserstein(quantiles, current, scale)
        p_value = min(1.0, 2 * ks_p)
        if statistic >= threshold and p_value >= alpha:  # the simulation only when it can change the verdict
            p_value = min(p_value, 2 * _wasserstein_p(quantiles, statistic, max(int(effective), 1), scale))
    elif test == "psi":
        edges = np.unique(quantiles[10:-10:10])
        expected = np.diff(np.concatenate([[0.0], _ref_cdf(quantiles, edges), [1.0]]))
        actual = np.diff(np.concatenate([[0.0], np.searchsorted(current, edges, side="right") / n_cur, [1.0]]))
        statistic = _psi(expected, actual)
        counts = np.vstack([expected * n_ref, actual * n_cur])
        p_value = chi2_independence_p(counts[:, counts.sum(axis=0) > 0])
    else:
        statistic, p_value = ks, ks_p
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
        statistic = jensen_shannon(p, q)
    elif test == "psi":
        statistic = _psi(p, q)
    else:
        statistic = float(0.5 * np.abs(p - q).sum())
    used = (ref + cur) > 0
    p_value = 1.0 if used.sum() < 2 else chi2_independence_p(np.vstack([ref[used], cur[used]]))
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
    p_value = 2 * normal_sf(abs(z)) if two_sided else normal_sf(z)
    effect = abs(delta) if two_sided else delta
    verdict = _verdict("proportion", effect, threshold, p_value, alpha)
    verdict.update(baseline=round(ref_share, 6), current=round(cur_share, 6))
    return verdict
