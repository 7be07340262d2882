"""The local backend: everything on this machine, no AWS account needed (control plane)."""

from __future__ import annotations

from functools import cached_property

from deploy.backends import Backend
from deploy.config.schema import DataConfig, EnvironmentConfig
from deploy.local.data_capture import CAPTURE_DIR
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

            # A fresh session reads the credential chain now, not what an earlier call cached.
            client = boto3.session.Session().client("s3")
            resolved = data_sources.fetch_s3(resolved, ws.data_cache, client)
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

    def batch(self):
        from deploy.batch.local import LocalBatch

        return LocalBatch(self.workspace)

    def capture_location(self, env: EnvironmentConfig) -> str:
        """`.mlops/capture/<endpoint>`: the local endpoints write their capture files there."""
        return str(self.workspace.state / CAPTURE_DIR / env.endpoint.name)
