"""The `monitoring:` section of `config/<env>.yaml`: drift tests, thresholds, what to do on drift.

Runs on the control plane; `mlops monitor` hands these fields to the monitor step (`ml.monitor`)
as JSON. Every field has a default, so an environment without the section is monitored with
the defaults below. A drift needs both a significant change (at level `alpha`) and an effect
at or above the feature's threshold.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from deploy.config.base import Strict

NumericTest = Literal["wasserstein", "psi", "ks"]
CategoricalTest = Literal["total_variation", "jensen_shannon", "psi"]
NUMERIC_TESTS: tuple[str, ...] = NumericTest.__args__  # type: ignore[attr-defined]
CATEGORICAL_TESTS: tuple[str, ...] = CategoricalTest.__args__  # type: ignore[attr-defined]


class NumericRule(Strict):
    test: NumericTest = Field("wasserstein", description="wasserstein: in baseline standard deviations")
    threshold: float = Field(0.1, gt=0)


class CategoricalRule(Strict):
    test: CategoricalTest = Field("total_variation", description="total_variation: share of rows moved")
    threshold: float = Field(0.05, gt=0)


class FeatureRule(Strict):
    """A per-feature override; the test must suit the feature's kind (numeric or categorical)."""

    test: NumericTest | CategoricalTest | None = None
    threshold: float | None = Field(None, gt=0)


class PredictionRule(Strict):
    test: NumericTest = "wasserstein"
    threshold: float = Field(0.1, gt=0)
    positive_rate_threshold: float = Field(0.05, gt=0, lt=1, description="absolute change of the positive rate")


class MonitoringConfig(Strict):
    window: str = Field("24h", pattern=r"^[1-9][0-9]*[mhd]$", description="default --since: 90m, 24h, 7d")
    min_rows: int = Field(100, ge=1, description="fewer captured rows are reported, not judged")
    alpha: float = Field(0.01, gt=0, lt=0.5, description="significance level of every test")
    missing_threshold: float = Field(0.05, gt=0, lt=1, description="rise of a feature's missing share")
    numeric: NumericRule = Field(default_factory=NumericRule)
    categorical: CategoricalRule = Field(default_factory=CategoricalRule)
    features: dict[str, FeatureRule] = Field(default_factory=dict)
    prediction: PredictionRule = Field(default_factory=PredictionRule)
    on_drift: Literal["issue", "retrain"] = Field("issue", description="retrain: monitor.yml dispatches train.yml")

    def step_settings(self) -> dict[str, Any]:
        """What `ml.monitor` reads (`--config`): the judging fields, overrides without unset keys."""
        data = self.model_dump(exclude={"window", "on_drift"})
        data["features"] = {n: r.model_dump(exclude_none=True) for n, r in self.features.items()}
        return data
