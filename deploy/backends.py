"""The backend interface and how a name picks one (control plane).

A backend bundles the adapters of one platform: where data lives, who runs the jobs, which
registry holds models, and what serves endpoints. Commands take a `Backend` and never ask
for its name; adapters are created lazily so the local path never imports boto3.
"""

from __future__ import annotations

import importlib
import os
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

from deploy.errors import ConfigError
from deploy.workspace import Workspace

if TYPE_CHECKING:
    from deploy.batch import BatchBackend
    from deploy.config.schema import DataConfig, EnvironmentConfig, PipelineConfig
    from deploy.endpoints import EndpointBackend
    from deploy.monitor.run import MonitorStep
    from deploy.pipeline.data import ResolvedData
    from deploy.pipeline.runner import PipelineRunner
    from deploy.registry import Registry

BACKENDS = {
    "local": "deploy.local.backend:LocalBackend",
    "sagemaker": "deploy.sagemaker.backend:SageMakerBackend",
}
DEFAULT_BACKEND = "local"


class Backend(ABC):
    name: str

    def __init__(self, workspace: Workspace, pipeline: PipelineConfig) -> None:
        self.workspace = workspace
        self.pipeline = pipeline

    @abstractmethod
    def resolve_data(self, data: DataConfig) -> ResolvedData:
        """Make `data.source` readable by this backend's jobs."""

    @abstractmethod
    def registry(self) -> Registry: ...

    @abstractmethod
    def pipeline_runner(self) -> PipelineRunner: ...

    @abstractmethod
    def endpoints(self) -> EndpointBackend: ...

    def price_list_client(self) -> Any | None:
        """A `pricing` client when this backend has an AWS account to ask, else None (the price table)."""
        return None

    def pricing_region(self) -> str:
        """The region whose prices apply: the configured or ambient AWS region, else the table's."""
        ambient = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        return self.pipeline.sagemaker.region or ambient or ""

    @abstractmethod
    def batch(self) -> BatchBackend:
        """Batch scoring of files with a model (`mlops batch`)."""

    @abstractmethod
    def capture_location(self, env: EnvironmentConfig) -> str:
        """Where the endpoint's data capture lands: a local folder or an `s3://` prefix (`<endpoint>/` below it)."""

    def monitor_step(self) -> MonitorStep:
        """Where `ml.monitor` runs: a local subprocess here; a backend may run it as a job."""
        from deploy.monitor.run import MonitorStep

        return MonitorStep(self)

    def s3_client(self) -> Any:
        """A boto3 S3 client (imported here so the local path never needs boto3)."""
        import boto3  # only when something really lives in S3

        return boto3.client("s3")


def backend_name(explicit: str | None) -> str:
    name = explicit or os.environ.get("MLOPS_BACKEND") or DEFAULT_BACKEND
    if name not in BACKENDS:
        raise ConfigError(f"--backend/MLOPS_BACKEND: unknown backend '{name}' (allowed: {', '.join(BACKENDS)})")
    return name


def load_backend(name: str | None, workspace: Workspace, pipeline: PipelineConfig) -> Backend:
    module_name, _, class_name = BACKENDS[backend_name(name)].partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    return cls(workspace, pipeline)
