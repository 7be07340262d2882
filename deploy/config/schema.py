"""The desired-state schema: one pydantic model per config file (control plane).

This module holds the pipeline models and re-exports the environment models
(`deploy/config/environment.py`) and the shared building blocks (`deploy/config/base.py`).

`config/pipeline.yaml` is read as `PipelineConfig`; every other `config/<env>.yaml` as
`EnvironmentConfig`. The models enforce SageMaker's limits (DeploymentConfig ranges, name
patterns, instance counts) so a bad change fails in the pull request, not in the deploy.
Both backends read the same fields; the `local` block only tunes the local endpoints.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, PositiveFloat, field_validator, model_validator

from deploy.config.base import (  # noqa: F401 - re-exported for callers of deploy.config.schema
    INSTANCE_TYPE_PATTERN,
    NAME_PATTERN,
    SHA256_PATTERN,
    InstanceType,
    RuleError,
    SageMakerName,
    Seconds3600,
    Strict,
)
from deploy.config.environment import (  # noqa: F401 - re-exported
    AlarmConfig,
    Autoscaling,
    BatchConfig,
    DataCapture,
    DeploymentPolicy,
    EndpointConfig,
    EnvironmentConfig,
    LocalConfig,
    ModelPin,
    Serverless,
    SmokeConfig,
    SmokePayload,
)
from ml.hyperparameters import resolve as resolve_hyperparameters

# --------------------------------------------------------------------------- pipeline.yaml


class DataConfig(Strict):
    source: str = Field(
        "builtin://churn",
        description="builtin://churn (synthetic sample), a local CSV/Parquet path, or an s3:// URI",
    )
    rows: int = Field(5000, ge=100, le=50_000_000, description="rows of the built-in sample")
    seed: int = Field(42, ge=0, description="seed of the built-in sample")
    validation_fraction: float = Field(0.15, gt=0, lt=0.5)
    test_fraction: float = Field(0.15, gt=0, lt=0.5)
    split_seed: int = Field(7, ge=0)

    @field_validator("source")
    @classmethod
    def _source_scheme(cls, value: str) -> str:
        if "://" in value and not value.startswith(("builtin://", "s3://", "file://")):
            raise ValueError("must be builtin://churn, a local path, file://… or s3://bucket/key")
        if value.startswith("builtin://") and value != "builtin://churn":
            raise ValueError("the only built-in data set is builtin://churn")
        return value


class NumericFeature(Strict):
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _range(self) -> NumericFeature:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is greater than max {self.max}")
        return self


class CategoricalFeature(Strict):
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    values: list[str] | None = Field(None, min_length=1, description="allowed values; any if omitted")


class FeaturesConfig(Strict):
    label: str = Field("churned", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    max_null_fraction: float = Field(0.2, ge=0, le=1)
    numeric: list[NumericFeature] = Field(min_length=0)
    categorical: list[CategoricalFeature] = Field(default_factory=list)
    ignore_columns: list[str] = Field(
        default_factory=list,
        description="columns of the data the model does not use (ids, notes); any other unknown column is an error",
    )

    @model_validator(mode="after")
    def _unique(self) -> FeaturesConfig:
        names = [f.name for f in self.numeric] + [f.name for f in self.categorical]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"feature names appear twice: {', '.join(dupes)}")
        if self.label in names:
            raise ValueError(f"label '{self.label}' is also listed as a feature")
        used = sorted(set(self.ignore_columns) & {*names, self.label})
        if used:
            raise ValueError(f"ignore_columns lists {', '.join(used)}, which the model uses")
        if not names:
            raise ValueError("at least one numeric or categorical feature is needed")
        return self

    def schema_document(self) -> dict:
        """The schema file handed to `ml.preprocess` (the container never reads YAML)."""
        return self.model_dump(mode="json")


HyperparameterValue = str | int | float | bool


class TrainingConfig(Strict):
    hyperparameters: dict[str, HyperparameterValue] = Field(default_factory=dict)

    @field_validator("hyperparameters")
    @classmethod
    def _names(cls, value: dict[str, HyperparameterValue]) -> dict[str, HyperparameterValue]:
        # SageMaker: at most 100 hyperparameters, names ≤ 256 chars, values ≤ 2500 chars.
        if len(value) > 100:
            raise ValueError("SageMaker accepts at most 100 hyperparameters")
        for name, item in value.items():
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,255}", name):
                raise ValueError(f"hyperparameter name '{name}' must be an identifier")
            if len(str(item)) > 2500:
                raise ValueError(f"hyperparameter '{name}' is longer than 2500 characters")
        # The training script's own rules (pure Python), so a typo fails here and not in the job.
        resolve_hyperparameters(value)
        return value


MetricName = Literal["accuracy", "precision", "recall", "f1", "auc"]


class GateRule(Strict):
    """One metric's rule; every gate metric (accuracy, precision, recall, f1, auc) lies in [0, 1]."""

    direction: Literal["higher", "lower"] = Field("higher", description="which way is better")
    threshold: float | None = Field(None, ge=0, le=1, description="absolute bound the candidate must meet, 0–1")
    min_improvement: float = Field(
        0.0,
        ge=-1,
        description="required change over the champion in the better direction (may be negative); "
        "absolute: -1 to 1, relative: a fraction of the champion's value, at least -1",
    )
    improvement: Literal["absolute", "relative"] = Field(
        "absolute", description="min_improvement in metric units, or as a fraction of the champion"
    )

    @model_validator(mode="after")
    def _reachable(self) -> GateRule:
        if self.improvement == "absolute" and self.min_improvement > 1:
            raise ValueError(
                f"min_improvement {self.min_improvement:g} can never be met: the metric lies in [0, 1], "
                "so an absolute improvement is at most 1"
            )
        return self


class GateConfig(Strict):
    metrics: dict[MetricName, GateRule] = Field(min_length=1)
    champion_environment: str = Field(
        "prod", pattern=r"^[a-z0-9][a-z0-9_-]*$", description="config/<env>.yaml whose pin is the champion"
    )
    on_split_mismatch: Literal["compare", "fail"] = Field(
        "compare",
        description="a champion evaluated on another test split: compare anyway (noted) or refuse",
    )


class RegistryConfig(Strict):
    model_package_group: SageMakerName = "churn-classifier"


class CostConfig(Strict):
    """Where instance prices come from for the cost lines of plans and promotion reports."""

    prices: Literal["auto", "api", "table"] = Field(
        "auto",
        description="auto: the AWS Price List API on the sagemaker backend, the repository's dated table on local",
    )
    price_overrides: dict[Literal["hosting", "training", "processing"], dict[InstanceType, PositiveFloat]] = Field(
        default_factory=dict, description="USD per hour by use and instance type, e.g. negotiated prices"
    )
    serverless_price_overrides: dict[Literal["compute_gb_second", "provisioned_gb_second"], PositiveFloat] = Field(
        default_factory=dict, description="serverless inference, USD per GB-second of memory"
    )


class JobCompute(Strict):
    instance_type: InstanceType = "ml.m5.large"
    instance_count: int = Field(1, ge=1, le=100)
    volume_size_gb: int = Field(30, ge=1, le=16384)
    max_runtime_seconds: int = Field(3600, ge=60, le=432000)


class TrainingCompute(JobCompute):
    spot: bool = Field(False, description="managed spot training")
    max_wait_seconds: int = Field(7200, ge=60, le=432000, description="spot: runtime plus waiting")

    @model_validator(mode="after")
    def _spot_wait(self) -> TrainingCompute:
        if self.spot and self.max_wait_seconds < self.max_runtime_seconds:
            raise ValueError("max_wait_seconds must be ≥ max_runtime_seconds when spot is on")
        return self


class SageMakerConfig(Strict):
    region: str | None = Field(None, description="defaults to AWS_REGION")
    role_arn: str | None = Field(
        None, pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$", description="defaults to SAGEMAKER_ROLE_ARN"
    )
    bucket: str | None = Field(
        None, pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", description="defaults to MLOPS_BUCKET"
    )
    prefix: str = Field("mlops", pattern=r"^[A-Za-z0-9!_.*'()/-]{1,200}$")
    framework_version: str = Field("1.9-0", description="scikit-learn container version")
    pipeline_name: SageMakerName = "churn-training"
    processing: JobCompute = Field(default_factory=JobCompute)
    training: TrainingCompute = Field(default_factory=TrainingCompute)
    poll_seconds: float = Field(15, gt=0, le=300)


class PipelineConfig(Strict):
    project: SageMakerName = Field("churn", description="prefix of every resource name")
    data: DataConfig = Field(default_factory=DataConfig)
    features: FeaturesConfig
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    gate: GateConfig
    registry: RegistryConfig = Field(default_factory=RegistryConfig)
    sagemaker: SageMakerConfig = Field(default_factory=SageMakerConfig)
    cost: CostConfig = Field(default_factory=CostConfig)
