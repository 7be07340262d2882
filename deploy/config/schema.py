"""The desired-state schema: one pydantic model per config file (control plane).

`config/pipeline.yaml` is read as `PipelineConfig`; every other `config/<env>.yaml` as
`EnvironmentConfig`. The models enforce SageMaker's limits (DeploymentConfig ranges, name
patterns, instance counts) so a bad change fails in the pull request, not in the deploy.
Both backends read the same fields; the `local` block only tunes the local endpoints.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# SageMaker resource names: alphanumerics and hyphens, at most 63 characters.
NAME_PATTERN = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"
INSTANCE_TYPE_PATTERN = r"^ml\.[a-z0-9]+\.[a-z0-9]+$"
SHA256_PATTERN = r"^[0-9a-f]{64}$"

SageMakerName = Annotated[str, Field(pattern=NAME_PATTERN, max_length=63)]
InstanceType = Annotated[str, Field(pattern=INSTANCE_TYPE_PATTERN)]
Seconds3600 = Annotated[int, Field(ge=0, le=3600)]


class Strict(BaseModel):
    """Unknown keys are errors: a typo must not silently fall back to a default."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


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

    @model_validator(mode="after")
    def _unique(self) -> FeaturesConfig:
        names = [f.name for f in self.numeric] + [f.name for f in self.categorical]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"feature names appear twice: {', '.join(dupes)}")
        if self.label in names:
            raise ValueError(f"label '{self.label}' is also listed as a feature")
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
        return value


MetricName = Literal["accuracy", "precision", "recall", "f1", "auc"]


class GateRule(Strict):
    direction: Literal["higher", "lower"] = Field("higher", description="which way is better")
    threshold: float | None = Field(None, description="absolute bound the candidate must meet")
    min_improvement: float = Field(
        0.0, description="required change over the champion in the better direction (may be negative)"
    )
    improvement: Literal["absolute", "relative"] = Field(
        "absolute", description="min_improvement in metric units, or as a fraction of the champion"
    )


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


# --------------------------------------------------------------------------- <env>.yaml


class ModelPin(Strict):
    """What `mlops promote` writes; empty until the first promotion."""

    version: int | None = Field(None, ge=1)
    package_arn: str | None = Field(None, pattern=r"^(arn:aws[a-z-]*:sagemaker:.+|local://.+)$")
    sha256: str | None = Field(None, pattern=SHA256_PATTERN)

    @model_validator(mode="after")
    def _complete(self) -> ModelPin:
        if (self.version is None) != (self.sha256 is None):
            raise ValueError("version and sha256 are pinned together: set both or neither")
        return self

    @property
    def pinned(self) -> bool:
        return self.version is not None


class DataCapture(Strict):
    enabled: bool = False
    sampling_percentage: int = Field(20, ge=0, le=100)
    destination_s3_uri: str | None = Field(None, pattern=r"^s3://.+")


class Autoscaling(Strict):
    enabled: bool = False
    min_capacity: int = Field(1, ge=1)
    max_capacity: int = Field(4, ge=1)
    target_invocations_per_instance: float = Field(1000, gt=0)
    scale_in_cooldown_seconds: int = Field(300, ge=0)
    scale_out_cooldown_seconds: int = Field(60, ge=0)

    @model_validator(mode="after")
    def _bounds(self) -> Autoscaling:
        if self.min_capacity > self.max_capacity:
            raise ValueError(f"min_capacity {self.min_capacity} exceeds max_capacity {self.max_capacity}")
        return self


class EndpointConfig(Strict):
    name: SageMakerName
    variant_name: SageMakerName = Field("AllTraffic", description="kept across updates (SageMaker rule)")
    instance_type: InstanceType = "ml.m5.large"
    instance_count: int = Field(1, ge=1, le=100)
    data_capture: DataCapture = Field(default_factory=DataCapture)
    autoscaling: Autoscaling = Field(default_factory=Autoscaling)
    keep_previous: int = Field(3, ge=1, le=50, description="superseded models/configs kept for rollback")


Strategy = Literal["all_at_once", "canary", "linear"]


class DeploymentPolicy(Strict):
    strategy: Strategy = "all_at_once"
    canary_percent: int = Field(10, ge=1, le=50, description="CANARY: share of capacity, ≤ 50 %")
    linear_step_percent: int = Field(20, ge=10, le=50, description="LINEAR: step, 10–50 %")
    wait_seconds: Seconds3600 = Field(300, description="bake per step (WaitIntervalInSeconds)")
    termination_wait_seconds: Seconds3600 = 120
    max_execution_timeout_seconds: int = Field(1800, ge=600, le=28800)

    @model_validator(mode="after")
    def _arithmetic(self) -> DeploymentPolicy:
        if self.strategy == "linear" and 100 % self.linear_step_percent:
            raise ValueError(
                f"linear_step_percent {self.linear_step_percent} does not divide 100 "
                "(allowed: 10, 20, 25, 50); the last step would never reach full traffic"
            )
        if self.total_bake_seconds() > self.max_execution_timeout_seconds:
            raise ValueError(
                f"the bake steps need {self.total_bake_seconds()} s, more than "
                f"max_execution_timeout_seconds {self.max_execution_timeout_seconds}"
            )
        return self

    def traffic_steps(self) -> list[int]:
        """Percent of traffic on the new (green) variant after each step."""
        if self.strategy == "canary":
            return [self.canary_percent, 100]
        if self.strategy == "linear":
            return list(range(self.linear_step_percent, 101, self.linear_step_percent))
        return [100]

    def total_bake_seconds(self) -> int:
        return self.wait_seconds * len(self.traffic_steps())


AlarmMetric = Literal["Invocation5XXErrors", "Invocation4XXErrors", "Invocations", "ModelLatency", "OverheadLatency"]
Comparison = Literal[
    "GreaterThanOrEqualToThreshold", "GreaterThanThreshold", "LessThanThreshold", "LessThanOrEqualToThreshold"
]


class AlarmConfig(Strict):
    """One CloudWatch alarm on the endpoint variant (AWS/SageMaker namespace).

    Latency metrics are in microseconds, as CloudWatch reports them.
    """

    name: SageMakerName
    metric: AlarmMetric
    statistic: str = Field("Sum", pattern=r"^(Sum|Average|Maximum|Minimum|SampleCount|p\d{1,2}(\.\d+)?)$")
    threshold: float = Field(ge=0)
    comparison: Comparison = "GreaterThanOrEqualToThreshold"
    period_seconds: int = Field(60, ge=10, le=86400)
    evaluation_periods: int = Field(1, ge=1, le=100)

    @field_validator("period_seconds")
    @classmethod
    def _period(cls, value: int) -> int:
        if value not in (10, 30) and value % 60:
            raise ValueError("CloudWatch periods are 10, 30 or a multiple of 60 seconds")
        return value


class SmokePayload(Strict):
    name: str
    content_type: Literal["application/json", "text/csv"] = "application/json"
    body: str | dict | list
    expect_rows: int = Field(1, ge=1)


class SmokeConfig(Strict):
    payloads: list[SmokePayload] = Field(min_length=1)
    requests: int = Field(20, ge=1, le=10000, description="requests per payload for the latency budget")
    p95_latency_ms: float = Field(300, gt=0)


class LocalConfig(Strict):
    """How the local backend plays this environment on one machine."""

    port: int = Field(ge=1024, le=65535)
    time_scale: float = Field(
        0.01, gt=0, le=1, description="local bake and alarm periods = configured seconds × time_scale"
    )
    workers: int = Field(2, ge=1, le=32)


class EnvironmentConfig(Strict):
    model: ModelPin = Field(default_factory=ModelPin)
    endpoint: EndpointConfig
    deployment: DeploymentPolicy = Field(default_factory=DeploymentPolicy)
    alarms: list[AlarmConfig] = Field(default_factory=list, max_length=10)
    smoke: SmokeConfig
    approve_on_deploy: bool = Field(
        False, description="mark the model package Approved after a successful deploy (prod)"
    )
    local: LocalConfig

    @model_validator(mode="after")
    def _policy_fits_endpoint(self) -> EnvironmentConfig:
        strategy = self.deployment.strategy
        if strategy != "all_at_once" and self.endpoint.instance_count < 2:
            raise ValueError(
                f"a {strategy} deployment needs endpoint.instance_count ≥ 2 (found {self.endpoint.instance_count})"
            )
        if strategy != "all_at_once" and not self.alarms:
            raise ValueError(f"a {strategy} deployment needs at least one alarm to roll back on")
        names = [a.name for a in self.alarms]
        if len(set(names)) != len(names):
            raise ValueError("alarm names must be unique")
        return self
