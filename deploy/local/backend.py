"""The local backend: everything on this machine, no AWS account needed (control plane)."""

from __future__ import annotations

from functools import cached_property

from deploy.backends import Backend
from deploy.config.schema import DataConfig
from deploy.local.jobs import LocalJobs
from deploy.local.registry import SqliteRegistry
from deploy.pipeline import data as data_sources


class LocalBackend(Backend):
    name = "local"

    def resolve_data(self, data: DataConfig) -> data_sources.ResolvedData:
        ws = self.workspace.ensure()
        resolved = data_sources.resolve(data, ws.root, ws.data_cache)
        if resolved.s3_uri and resolved.local_path is None:
            import boto3  # only when the data really lives in S3

            resolved = data_sources.fetch_s3(resolved, ws.data_cache, boto3.client("s3"))
        return resolved

    @cached_property
    def _registry(self) -> SqliteRegistry:
        ws = self.workspace.ensure()
        return SqliteRegistry(ws.registry_db, ws.artifacts)

    def registry(self) -> SqliteRegistry:
        return self._registry

    def pipeline_runner(self) -> LocalJobs:
        return LocalJobs(self.workspace.root, self.workspace.ensure().runs)

    def endpoints(self):
        from deploy.local.endpoints import LocalEndpoints

        return LocalEndpoints(self.workspace, self.registry())
