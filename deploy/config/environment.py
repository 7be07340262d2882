"""The schema of `config/<env>.yaml`: model pin, endpoint, deployment policy, alarms, smoke test, batch.

Runs on the control plane. Both backends read these fields; the `local` block only tunes the
local endpoints. The limits are SageMaker's (DeploymentConfig ranges, instance counts), so a
bad change fails in the pull request, not in the deploy.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field, field_validator, model_validator

from deploy.config.base import (
    SHA256_PATTERN,
    Comparison,
    InstanceType,
    RuleError,
    SageMakerName,
    Seconds3600,
    Strict,
)
from deploy.config.monitoring import MonitoringConfig


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


class Serverless(Strict):
    """A serverless variant (SageMaker's ProductionVariantServerlessConfig): billed per request, nothing idle."""

    memory_size_mb: Literal[1024, 2048, 3072, 4096, 5120, 6144] = Field(description="memory in 1 GB steps")
    max_concurrency: int = Field(ge=1, le=200, description="concurrent invocations it scales to")
    provisioned_concurrency: int | None = Field(
        None, ge=1, le=200, description="invocations kept warm (billed all the time); at most max_concurrency"
    )

    @model_validator(mode="after")
    def _provisioned_fits(self) -> Serverless:
        if self.provisioned_concurrency is not None and self.provisioned_concurrency > self.max_concurrency:
            raise RuleError(
                "provisioned_concurrency",
                f"{self.provisioned_concurrency} exceeds max_concurrency {self.max_concurrency} "
                f"(allowed: 1–{self.max_concurrency})",
            )
        return self

    @property
    def memory_gb(self) -> float:
        return self.memory_size_mb / 1024


class EndpointConfig(Strict):
    name: SageMakerName
    variant_name: SageMakerName = Field("AllTraffic", description="kept across updates (SageMaker rule)")
    instance_type: InstanceType = "ml.m5.large"
    instance_count: int = Field(1, ge=1, le=100)
    serverless: Serverless | None = Field(
        None, description="a serverless endpoint instead of instances (no instance settings, canary, data capture)"
    )
    data_capture: DataCapture = Field(default_factory=DataCapture)
    autoscaling: Autoscaling = Field(default_factory=Autoscaling)
    keep_previous: int = Field(3, ge=1, le=50, description="superseded models/configs kept for rollback")

    @model_validator(mode="after")
    def _serverless_alone(self) -> EndpointConfig:
        """What SageMaker does not accept on a serverless variant, rejected before merge."""
        if self.serverless is None:
            return self
        for key in ("instance_type", "instance_count"):
            if key in self.model_fields_set:
                raise RuleError(
                    key,
                    f"a serverless endpoint has no instances: remove endpoint.{key} "
                    "(endpoint.serverless sets memory_size_mb and max_concurrency instead)",
                )
        if self.autoscaling.enabled:
            raise RuleError(
                "autoscaling.enabled",
                "instance autoscaling does not apply to a serverless endpoint "
                "(allowed: false; endpoint.serverless.max_concurrency bounds how far it scales)",
            )
        if self.data_capture.enabled:
            raise RuleError(
                "data_capture.enabled", "SageMaker serverless endpoints do not support data capture (allowed: false)"
            )
        return self


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
        self.check_timeout(len(self.traffic_steps()))
        return self

    def check_timeout(self, steps: int) -> None:
        """SageMaker needs the timeout to exceed every bake plus the termination wait."""
        waits = self.wait_seconds * steps + self.termination_wait_seconds
        if waits >= self.max_execution_timeout_seconds:
            raise ValueError(
                f"the bake steps ({steps} × {self.wait_seconds} s) and the termination wait "
                f"({self.termination_wait_seconds} s) need {waits} s, more than max_execution_timeout_seconds "
                f"{self.max_execution_timeout_seconds} allows (SageMaker requires the timeout to exceed them)"
            )

    def traffic_steps(self) -> list[int]:
        """Percent of traffic on the new (green) variant after each step, as configured."""
        if self.strategy == "canary":
            return [self.canary_percent, 100]
        if self.strategy == "linear":
            return list(range(self.linear_step_percent, 101, self.linear_step_percent))
        return [100]

    def step_instances(self, fleet: int) -> int:
        """Whole instances of a `fleet`-instance variant that one canary or linear step activates.

        The configured percent rounded to the nearest instance, kept within SageMaker's limits
        (at least one, at most half the fleet; a linear step at least 10 %).
        """
        percent = self.canary_percent if self.strategy == "canary" else self.linear_step_percent
        lowest = 1 if self.strategy == "canary" else math.ceil(fleet / 10)
        nearest = math.floor(percent * fleet / 100 + 0.5)
        return max(1, min(max(nearest, lowest), fleet // 2))

    def fleet_steps(self, fleet: int) -> list[float]:
        """Percent of traffic on the new fleet after each step, in whole instances of `fleet`."""
        if self.strategy == "all_at_once" or fleet < 2:
            return [100.0]
        size = self.step_instances(fleet)
        if self.strategy == "canary":
            return [100 * size / fleet, 100.0]
        return [100 * min(step * size, fleet) / fleet for step in range(1, math.ceil(fleet / size) + 1)]


AlarmMetric = Literal["Invocation5XXErrors", "Invocation4XXErrors", "Invocations", "ModelLatency", "OverheadLatency"]
# SageMaker publishes these as one datapoint per request: 1 for an error (or an invocation), else 0.
# Percentiles of 0/1 datapoints say nothing useful, and their Average, Minimum and Maximum lie in [0, 1].
COUNT_METRICS = ("Invocation5XXErrors", "Invocation4XXErrors", "Invocations")
COUNT_STATISTICS = ("Sum", "Average", "Maximum", "Minimum", "SampleCount")


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

    @model_validator(mode="after")
    def _statistic_fits_metric(self) -> AlarmConfig:
        if self.metric not in COUNT_METRICS:
            return self
        if self.statistic not in COUNT_STATISTICS:
            raise ValueError(
                f"statistic {self.statistic} does not apply to {self.metric}, a count of 0/1 datapoints "
                f"(allowed: {', '.join(COUNT_STATISTICS)}; percentiles are for ModelLatency and OverheadLatency)"
            )
        if self.statistic in ("Average", "Maximum", "Minimum") and self.threshold > 1:
            raise ValueError(
                f"threshold {self.threshold:g} is out of range for the {self.statistic} of {self.metric}, "
                "which lies between 0 and 1 (a fraction of requests); use Sum for a count"
            )
        return self


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
    idle_timeout_seconds: int = Field(
        600,
        ge=1,
        le=86400,
        description="serverless endpoints: stop the model server after this long without requests (× time_scale)",
    )


class BatchConfig(Strict):
    """`mlops batch`: the Batch Transform job's compute and the record-level error policy (both backends)."""

    instance_type: InstanceType = "ml.m5.large"
    instance_count: int = Field(1, ge=1, le=100, description="locally: input files scored in parallel")
    max_payload_mb: int = Field(6, ge=1, le=100, description="MaxPayloadInMB: size of one mini-batch of lines")
    max_concurrent_transforms: int | None = Field(None, ge=1, le=64, description="requests per instance at once")
    invocation_timeout_seconds: int = Field(600, ge=1, le=3600, description="ModelClientConfig, per mini-batch")
    max_runtime_seconds: int = Field(18000, ge=60, le=259200, description="stopped after this long (batch.yml: 6 h)")
    max_failed_share: float = Field(
        0.01, ge=0, le=1, description="the job fails when more than this share of records could not be scored"
    )


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
    batch: BatchConfig = Field(default_factory=BatchConfig)
    monitoring: MonitoringConfig = Field(default_factory=MonitoringConfig)

    @model_validator(mode="after")
    def _policy_fits_endpoint(self) -> EnvironmentConfig:
        strategy = self.deployment.strategy
        if self.endpoint.serverless is not None and strategy != "all_at_once":
            raise RuleError(
                "deployment.strategy",
                f"SageMaker shifts traffic to a serverless endpoint all at once: {strategy} is not supported "
                "with endpoint.serverless (allowed: all_at_once)",
            )
        if strategy != "all_at_once" and self.endpoint.instance_count < 2:
            raise ValueError(
                f"a {strategy} deployment needs endpoint.instance_count ≥ 2 (found {self.endpoint.instance_count})"
            )
        scaling = self.endpoint.autoscaling
        if strategy != "all_at_once" and scaling.enabled and scaling.min_capacity < 2:
            raise ValueError(
                f"a {strategy} deployment needs endpoint.autoscaling.min_capacity ≥ 2 (found {scaling.min_capacity}): "
                "the new fleet starts at the scaled instance count"
            )
        if strategy != "all_at_once" and not self.alarms:
            raise ValueError(f"a {strategy} deployment needs at least one alarm to roll back on")
        for fleet in self.fleet_sizes():
            self.deployment.check_timeout(len(self.deployment.fleet_steps(fleet)))
        names = [a.name for a in self.alarms]
        if len(set(names)) != len(names):
            raise ValueError("alarm names must be unique")
        shared = sorted(set(names) & {a.name for a in self.monitoring.alarms})
        if shared:
            raise RuleError("monitoring.alarms", f"{', '.join(shared)} also named in alarms: names must be unique")
        return self

    def dashboard_name(self) -> str | None:
        """The environment's CloudWatch dashboard, None when `monitoring.dashboard` is off."""
        return f"{self.endpoint.name}-mlops" if self.monitoring.dashboard else None

    def local_idle_seconds(self) -> float | None:
        """How long a local serverless endpoint keeps its model processes without requests; None: always."""
        if self.endpoint.serverless is None:
            return None
        return self.local.idle_timeout_seconds * self.local.time_scale

    def fleet_sizes(self) -> list[int]:
        """Every instance count the variant can have when a deploy starts (autoscaling moves it)."""
        scaling = self.endpoint.autoscaling
        if not scaling.enabled:
            return [self.endpoint.instance_count]
        return sorted({self.endpoint.instance_count, *range(scaling.min_capacity, scaling.max_capacity + 1)})
