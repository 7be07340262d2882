"""The endpoint interface both backends implement, and the shapes the commands share (control plane).

`mlops plan`, `mlops deploy`, `mlops smoke` and `mlops invoke` are written once against
`EndpointBackend`: an adapter reports the live state in the same `LiveState` shape, carries
out a deploy with the environment's policy, and sends one invocation.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Protocol

from deploy.config.schema import EnvironmentConfig
from deploy.registry import ModelVersion


@dataclass(frozen=True)
class LiveState:
    """What is running now, normalised to the fields of the desired state."""

    endpoint_name: str
    status: str  # InService, Creating, Updating, RollingBack, Failed, UpdateRollbackFailed, OutOfService
    model_version: int | None
    model_sha256: str | None
    package_arn: str | None = None
    instance_type: str | None = None
    instance_count: int | None = None
    serverless: dict[str, Any] | None = None  # Serverless.model_dump() of a serverless variant
    data_capture: dict[str, Any] | None = None
    deployment: dict[str, Any] | None = None  # DeploymentPolicy.model_dump() as last deployed
    alarms: list[dict[str, Any]] = field(default_factory=list)  # AlarmConfig.model_dump() each
    monitoring_alarms: list[dict[str, Any]] = field(default_factory=list)  # MonitorAlarm.model_dump() each
    dashboard: str | None = None  # the dashboard's name, marked when it differs from git's
    autoscaling: dict[str, Any] | None = None
    config_name: str | None = None  # endpoint config (SageMaker) or deployment id (local)
    failure_reason: str | None = None


@dataclass(frozen=True)
class DesiredState:
    """What git says for one environment, with the pinned model resolved in the registry."""

    env: str
    config: EnvironmentConfig
    model: ModelVersion
    commit: str


class DeployReporter(Protocol):
    def event(self, message: str) -> None:
        """A milestone: config created, traffic shifted, alarm fired, …"""

    def traffic(self, snapshot: dict[str, Any]) -> None:
        """Live weights and per-variant requests, errors, p99 (shape is the adapter's)."""


@dataclass
class DeployOutcome:
    summary: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Invocation:
    status: int
    body: bytes
    content_type: str
    latency_ms: float
    variant: str | None = None


class EndpointBackend(ABC):
    # True if the deploy's traffic snapshots say (`judging`) when the new fleet is judged, so
    # `mlops deploy --traffic` sends requests only then.
    replay_while_judged: bool = False

    @abstractmethod
    def describe(self, env: str, cfg: EnvironmentConfig) -> LiveState | None:
        """The live state of the environment's endpoint, or None if it does not exist."""

    @abstractmethod
    def deploy(self, desired: DesiredState, live: LiveState | None, reporter: DeployReporter) -> DeployOutcome:
        """Reconcile to `desired`; raise RollbackError/DeployError if the new model does not end up serving."""

    @abstractmethod
    def invoke(
        self,
        env: str,
        cfg: EnvironmentConfig,
        body: bytes,
        content_type: str,
        accept: str = "application/json",
        inference_id: str | None = None,
    ) -> Invocation:
        """Send one request to the endpoint and time it; `inference_id` is recorded by data capture."""

    @abstractmethod
    def teardown(self, env: str, cfg: EnvironmentConfig, *, dry_run: bool) -> list[str]:
        """Remove what deploys created for the environment (with `dry_run`, only find it); one line per thing."""

    def test_split(self, model: ModelVersion) -> str | None:
        """The CSV text of the test split `model` was evaluated on, where only this backend can reach it."""
        return None
