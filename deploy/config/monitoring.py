"""The `monitoring:` section of `config/<env>.yaml`: drift tests, thresholds, what to do on drift.

Runs on the control plane; `mlops monitor` hands these fields to the monitor step (`ml.monitor`)
as JSON. Every field has a default, so an environment without the section is monitored with
the defaults below. A drift needs both a significant change (at level `alpha`) and an effect
at or above the feature's threshold. `alarms:` declares CloudWatch alarms on the metrics the
monitor publishes (`deploy.sagemaker.monitor_metrics`), created by `mlops deploy`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from deploy.config.base import Comparison, RuleError, SageMakerName, Strict

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


# The monitor's metrics in namespace MLOps/Monitor, by the name an alarm declares them with.
MONITOR_METRICS = {
    "drift_score": "DriftScore",
    "feature_drift": "Drift",
    "drifted_features": "DriftedFeatures",
    "violations": "Violations",
    "captured_rows": "CapturedRows",
    "positive_rate": "PositiveRate",
    "prediction_drift": "PredictionDrift",
}
FEATURE_METRICS = ("drift_score", "feature_drift")  # published with the Feature dimension
MonitorMetric = Literal[tuple(MONITOR_METRICS)]  # type: ignore[valid-type]
MAX_PERIOD_SECONDS = 7 * 86400  # CloudWatch: Period × EvaluationPeriods at most 7 days


class MonitorAlarm(Strict):
    """A CloudWatch alarm on one monitor metric; `feature` names the feature of a per-feature metric."""

    name: SageMakerName
    metric: MonitorMetric
    feature: str | None = Field(None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    threshold: float
    comparison: Comparison = "GreaterThanOrEqualToThreshold"
    statistic: Literal["Maximum", "Minimum", "Average", "Sum"] = "Maximum"
    period_seconds: int = Field(86400, ge=60, le=86400, description="monitor runs are daily by default")
    evaluation_periods: int = Field(1, ge=1, le=100)

    @field_validator("period_seconds")
    @classmethod
    def _period(cls, value: int) -> int:
        if value % 60:
            raise ValueError("CloudWatch periods of monitor alarms are a multiple of 60 seconds")
        return value

    @model_validator(mode="after")
    def _feature_fits_metric(self) -> MonitorAlarm:
        if self.metric in FEATURE_METRICS and self.feature is None:
            raise RuleError("feature", f"{self.metric} is published per feature: name the feature")
        if self.metric not in FEATURE_METRICS and self.feature is not None:
            raise RuleError(
                "feature",
                f"{self.metric} is published per endpoint, not per feature "
                f"(per-feature metrics: {', '.join(FEATURE_METRICS)})",
            )
        if self.period_seconds * self.evaluation_periods > MAX_PERIOD_SECONDS:
            raise RuleError("evaluation_periods", "period_seconds × evaluation_periods must be at most 7 days")
        return self


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
    alarms: list[MonitorAlarm] = Field(default_factory=list, max_length=50)
    dashboard: bool = Field(True, description="SageMaker: the CloudWatch dashboard <endpoint>-mlops, put by deploy")

    @field_validator("alarms")
    @classmethod
    def _unique_alarms(cls, value: list[MonitorAlarm]) -> list[MonitorAlarm]:
        names = [a.name for a in value]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"alarm names appear twice: {', '.join(dupes)}")
        return value

    def step_settings(self) -> dict[str, Any]:
        """What `ml.monitor` reads (`--config`): the judging fields, overrides without unset keys."""
        data = self.model_dump(exclude={"window", "on_drift", "alarms", "dashboard"})
        data["features"] = {n: r.model_dump(exclude_none=True) for n, r in self.features.items()}
        return data
