"""What every command needs: the workspace, the parsed pipeline config and the backend."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import typer

from deploy.backends import Backend, load_backend
from deploy.config import load_environment, load_pipeline
from deploy.config.schema import EnvironmentConfig, PipelineConfig
from deploy.workspace import Workspace

BackendOption = typer.Option(
    None, "--backend", "-b", help="local (default) or sagemaker; also MLOPS_BACKEND", show_default=False
)


@dataclass
class Context:
    backend_name: str | None = None
    pipeline_override: PipelineConfig | None = None  # e.g. `pipeline run --data …`

    @cached_property
    def workspace(self) -> Workspace:
        return Workspace.discover()

    @cached_property
    def pipeline(self) -> PipelineConfig:
        return self.pipeline_override or load_pipeline(self.workspace.config_dir)

    @cached_property
    def backend(self) -> Backend:
        return load_backend(self.backend_name, self.workspace, self.pipeline)

    def environment(self, env: str) -> EnvironmentConfig:
        return load_environment(self.workspace.config_dir, env)

    @property
    def group(self) -> str:
        return self.pipeline.registry.model_package_group
