"""Building blocks of the SageMaker endpoint tests: configs, packages in moto, stubbed clients, a fake clock.

moto has no UpdateEndpoint, so an update is tested with `SplitClient`: moto answers every
SageMaker call except UpdateEndpoint and, once that was sent, DescribeEndpoint, which a
`botocore.stub.Stubber` answers with the sequence under test (and validates against the
service model).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import boto3
from botocore.stub import Stubber

from deploy.config import load_environment, load_pipeline
from deploy.config.schema import EnvironmentConfig, ModelPin, PipelineConfig
from deploy.endpoints import DesiredState
from deploy.registry import ModelVersion
from deploy.sagemaker.endpoints import SageMakerEndpoints

from .conftest import GROUP, REGION

REPO = Path(__file__).resolve().parents[4]
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def environment(env: str = "prod", version: int = 1, arn: str | None = None, **endpoint: Any) -> EnvironmentConfig:
    """config/<env>.yaml of the repository with `version` pinned and endpoint fields overridden."""
    data = load_environment(REPO / "config", env).model_dump()
    data["model"] = ModelPin(version=version, package_arn=arn, sha256=sha(f"model-{version}")).model_dump()
    data["endpoint"].update(endpoint)
    return EnvironmentConfig.model_validate(data)


def pipeline() -> PipelineConfig:
    return load_pipeline(REPO / "config")


def package(version: int, arn: str) -> ModelVersion:
    return ModelVersion(
        GROUP,
        version,
        "PendingManualApproval",
        f"s3://b/model-{version}.tar.gz",
        sha(f"model-{version}"),
        {},
        {},
        "2025-01-01T00:00:00",
        arn,
    )


def register_packages(count: int) -> list[str]:
    """`count` model packages in moto's registry (the group exists: `aws_setup`); their ARNs."""
    sm = boto3.client("sagemaker", region_name=REGION)
    spec = {
        "Containers": [{"Image": "sklearn:1.9-0", "ModelDataUrl": "s3://b/model.tar.gz"}],
        "SupportedContentTypes": ["text/csv"],
        "SupportedResponseMIMETypes": ["application/json"],
    }
    return [
        sm.create_model_package(ModelPackageGroupName=GROUP, InferenceSpecification=spec)["ModelPackageArn"]
        for _ in range(count)
    ]


def desired(cfg: EnvironmentConfig, arn: str, env: str = "prod") -> DesiredState:
    assert cfg.model.version is not None
    return DesiredState(env, cfg, package(cfg.model.version, arn), COMMIT)


class Reporter:
    def __init__(self) -> None:
        self.events: list[str] = []
        self.snapshots: list[dict[str, Any]] = []

    def event(self, message: str) -> None:
        self.events.append(message)

    def traffic(self, snapshot: dict[str, Any]) -> None:
        self.snapshots.append(snapshot)


class Clock:
    """time.monotonic and time.sleep for the follow loop: sleeping moves the clock, nothing waits."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class Session:
    """What the adapter needs of `AwsSession`: one client per service (given ones first, else moto's)."""

    def __init__(self, **clients: Any) -> None:
        self.clients = {name.replace("_", "-"): client for name, client in clients.items()}

    def client(self, service: str) -> Any:
        if service not in self.clients:
            self.clients[service] = boto3.client(service, region_name=REGION)
        return self.clients[service]


class SplitClient:
    """moto's SageMaker client, except UpdateEndpoint and the DescribeEndpoint calls after it (stubbed)."""

    def __init__(self) -> None:
        self.moto = boto3.client("sagemaker", region_name=REGION)
        self.stubbed = boto3.client("sagemaker", region_name=REGION)
        self.stubber = Stubber(self.stubbed)
        self.updated = False

    def update_endpoint(self, **kwargs: Any) -> dict[str, Any]:
        self.updated = True
        return self.stubbed.update_endpoint(**kwargs)

    def describe_endpoint(self, **kwargs: Any) -> dict[str, Any]:
        return (self.stubbed if self.updated else self.moto).describe_endpoint(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.moto, name)


def endpoints(session: Session, clock: Clock) -> SageMakerEndpoints:
    return SageMakerEndpoints(session, pipeline(), None, poll_seconds=15, sleep=clock.sleep, clock=clock)


def variant_status(status: str, message: str = "") -> list[dict[str, Any]]:
    return [{"Status": status, "StatusMessage": message}]


def described(
    endpoint: str,
    arn: str,
    config: str,
    status: str,
    *,
    pending: str | None = None,
    new_status: str | None = None,
    reason: str | None = None,
    weight: float = 1.0,
) -> dict[str, Any]:
    """A DescribeEndpoint answer: the serving fleet, and the new one while a deployment is pending."""
    answer: dict[str, Any] = {
        "EndpointName": endpoint,
        "EndpointArn": arn,
        "EndpointConfigName": config,
        "EndpointStatus": status,
        "CreationTime": "2025-01-01T00:00:00Z",
        "LastModifiedTime": "2025-01-01T00:00:00Z",
        "ProductionVariants": [
            {
                "VariantName": "AllTraffic",
                "CurrentWeight": 1.0,
                "DesiredWeight": 1.0,
                "CurrentInstanceCount": 2,
                "DesiredInstanceCount": 2,
            }
        ],
    }
    if pending:
        answer["PendingDeploymentSummary"] = {
            "EndpointConfigName": pending,
            "ProductionVariants": [
                {
                    "VariantName": "AllTraffic",
                    "CurrentWeight": weight,
                    "DesiredWeight": 1.0,
                    "CurrentInstanceCount": 2,
                    "DesiredInstanceCount": 2,
                    "VariantStatus": variant_status(new_status or "Creating"),
                }
            ],
        }
    if reason:
        answer["FailureReason"] = reason
    return answer
