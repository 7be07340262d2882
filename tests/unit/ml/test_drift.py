"""The drift tests: significant and large enough, or no drift."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.drift import categorical_drift, numeric_drift, rate_rise
from ml.profile import numeric_profile

RNG = np.random.default_rng(0)
REFERENCE = numeric_profile(RNG.normal(50, 10, 20000))


@pytest.mark.parametrize("test", ["wasserstein", "psi", "ks"])
def test_same_distribution_is_not_drift(test: str) -> None:
    threshold = {"wasserstein": 0.1, "psi": 0.1, "ks": 0.1}[test]
    verdict = numeric_drift(REFERENCE, np.random.default_rng(1).normal(50, 10, 3000), test, threshold)
    assert verdict["drift"] is False and verdict["statistic"] < threshold / 2


@pytest.mark.parametrize("test", ["wasserstein", "psi", "ks"])
def test_one_sigma_shift_is_drift(test: str) -> None:
    verdict = numeric_drift(REFERENCE, np.random.default_rng(1).normal(60, 10, 3000), test, 0.1)
    assert verdict["drift"] is True and verdict["p_value"] <= 0.005  # about the smallest p of 200 null draws (1/201)


def test_wasserstein_is_in_baseline_standard_deviations() -> None:
    verdict = numeric_drift(REFERENCE, np.random.default_rng(1).normal(55, 10, 50000))
    assert verdict["statistic"] == pytest.approx(0.5 * 0.98, abs=0.03)  # the 1st to the 99th percentile


def test_a_handful_of_rows_is_never_significant() -> None:
    verdict = numeric_drift(REFERENCE, np.array([70.0, 75.0, 60.0]))
    assert verdict["statistic"] > 1 and verdict["drift"] is False


def test_discrete_values_are_compared_at_their_ties() -> None:
    reference = numeric_profile(np.random.default_rng(2).poisson(1.2, 20000).astype(float))
    same = numeric_drift(reference, np.random.default_rng(3).poisson(1.2, 5000).astype(float), "ks", 0.05)
    assert same["statistic"] < 0.03 and not same["drift"]
    more = numeric_drift(reference, np.random.default_rng(3).poisson(2.0, 5000).astype(float), "ks", 0.05)
    assert more["drift"]


def test_categorical_share_moved_and_new_value() -> None:
    reference = {"a": 5500, "b": 2500, "c": 2000}
    assert not categorical_drift(reference, {"a": 1090, "b": 510, "c": 400})["drift"]
    moved = categorical_drift(reference, {"a": 900, "b": 700, "c": 400})
    assert moved["drift"] and moved["statistic"] == pytest.approx(0.1)
    new = categorical_drift(reference, {"a": 990, "b": 450, "c": 360, "z": 200})
    assert new["drift"] and new["statistic"] == pytest.approx(0.1)
    js = categorical_drift(reference, {"a": 900, "b": 700, "c": 400}, "jensen_shannon", 0.1)
    assert 0.05 < js["statistic"] < 0.1 and not js["drift"]


def test_missing_share_rise_is_one_sided() -> None:
    assert rate_rise(0.03, 14000, 500, 2000, 0.05, 0.01)["drift"]
    assert not rate_rise(0.03, 14000, 0, 2000, 0.05, 0.01)["drift"]
    assert not rate_rise(0.03, 14000, 70, 2000, 0.05, 0.01)["drift"]
    both = rate_rise(0.27, 3000, 300, 2000, 0.05, 0.01, two_sided=True)
    assert both["drift"] and both["current"] == 0.15


def test_empty_categorical_reference_column() -> None:
    verdict = categorical_drift({"a": 10}, pd.Series(["a"] * 5).value_counts().to_dict())
    assert verdict["p_value"] == 1.0 and not verdict["drift"]


def test_the_distributions_agree_with_scipy_stats() -> None:
    """The monitoring job reads its p-values and distances off scipy.special; scipy.stats is the reference."""
    from scipy import stats
    from scipy.spatial import distance

    from ml.drift import chi2_independence_p, jensen_shannon, kolmogorov_sf, normal_sf

    rng = np.random.default_rng(5)
    for x in (0.0, 0.3, 0.8, 1.36, 2.5, 6.0):
        assert kolmogorov_sf(x) == pytest.approx(stats.kstwobign.sf(x), rel=1e-12, abs=1e-300)
    for z in (-np.inf, -3.0, -0.5, 0.0, 1.0, 4.0, 9.0, np.inf):
        assert normal_sf(z) == pytest.approx(stats.norm.sf(z), rel=1e-12, abs=1e-300)
    for shape in ((2, 2), (2, 3), (2, 11), (3, 4)):
        table = rng.integers(1, 400, shape).astype(float)
        assert chi2_independence_p(table) == pytest.approx(
            stats.chi2_contingency(table, correction=False).pvalue, rel=1e-9, abs=1e-300
        )
        p, q = rng.random(shape[1]), rng.random(shape[1])
        assert jensen_shannon(p, q) == pytest.approx(distance.jensenshannon(p, q), rel=1e-12)
    assert chi2_independence_p(np.array([[3.0], [5.0]])) == stats.chi2_contingency([[3.0], [5.0]]).pvalue == 1.0
    for empty in ([[0.0, 0.0], [1.0, 2.0]], [[0.0, 4.0], [0.0, 2.0]]):
        with pytest.raises(ValueError, match="zero element"):
            stats.chi2_contingency(empty, correction=False)
        with pytest.raises(ValueError, match="zero element"):
            chi2_independence_p(np.array(empty))
