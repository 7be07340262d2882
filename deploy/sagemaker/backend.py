"""The SageMaker backend: S3 for data and artifacts, Pipelines for jobs, the Model Registry (control plane).

boto3 is the control plane; sagemaker-core is used only for the image URI table. Nothing is
created or called until a command asks for it, and the setup (credentials, role, bucket,
group) is checked before the first upload.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from deploy.backends import Backend
from deploy.config.schema import DataConfig, EnvironmentConfig
from deploy.cost.prices import PRICE_LIST_REGION
from deploy.pipeline import data as data_sources
from deploy.sagemaker.inputs import stage_data
from deploy.sagemaker.pipeline import SageMakerPipeline
from deploy.sagemaker.preflight import Preflight
from deploy.sagemaker.registry import ModelRegistry
from deploy.sagemaker.s3 import ArtifactBucket
from deploy.sagemaker.session import AwsSession, translated
from deploy.sagemaker.settings import Settings

if TYPE_CHECKING:
    from deploy.batch import BatchBackend
    from deploy.endpoints import EndpointBackend
    from deploy.sagemaker.monitor_job import ProcessingMonitor


class SageMakerBackend(Backend):
    name = "sagemaker"

    @cached_property
    def settings(self) -> Settings:
        return Settings.resolve(self.pipeline.sagemaker)

    @cached_property
    def _session(self) -> AwsSession:
        return AwsSession(self.settings.region)

    def session(self) -> AwsSession:
        return self._session

    @cached_property
    def preflight(self) -> Preflight:
        return Preflight(self.session(), self.settings)

    @translated
    def resolve_data(self, data: DataConfig) -> data_sources.ResolvedData:
        """builtin → generated here, then uploaded; a local path → uploaded; s3:// → used as is."""
        self.preflight.check(self.pipeline.registry.model_package_group)
        ws = self.workspace.ensure()
        resolved = data_sources.resolve(data, ws.root, ws.data_cache)
        if resolved.s3_uri:
            return resolved
        bucket = ArtifactBucket(self.session().client("s3"), self.settings.artifacts_bucket(), self.settings.prefix)
        return stage_data(bucket, resolved)

    @cached_property
    def _registry(self) -> ModelRegistry:
        return ModelRegistry(
            self.session(), self.settings, self.workspace.root, self.pipeline.sagemaker.framework_version
        )

    def registry(self) -> ModelRegistry:
        return self._registry

    def pipeline_runner(self) -> SageMakerPipeline:
        return SageMakerPipeline(self.session(), self.settings, self.workspace.root, preflight=self.preflight)

    def price_list_client(self) -> Any:
        # The Price List API answers in us-east-1 (and two other regions), for the prices of every region.
        return self.session().boto.client("pricing", region_name=PRICE_LIST_REGION)

    def pricing_region(self) -> str:
        return self.settings.region

    def endpoints(self) -> EndpointBackend:
        from deploy.sagemaker.endpoints import SageMakerEndpoints

        return SageMakerEndpoints(self.session(), self.pipeline, self.registry())

    def batch(self) -> BatchBackend:
        from deploy.batch.transform import TransformJobs

        return TransformJobs(self.session(), self.settings, poll_seconds=self.pipeline.sagemaker.poll_seconds)

    def capture_location(self, env: EnvironmentConfig) -> str:
        """The endpoint's capture prefix: `<destination>/<endpoint>` (SageMaker adds the endpoint name)."""
        capture = env.endpoint.data_capture
        base = capture.destination_s3_uri or (
            f"s3://{self.settings.artifacts_bucket()}/{self.settings.prefix}/data-capture/{env.endpoint.name}"
        )
        return f"{base.rstrip('/')}/{env.endpoint.name}"

    def monitor_step(self) -> ProcessingMonitor:
        from deploy.sagemaker.monitor_job import ProcessingMonitor

        return ProcessingMonitor(self)

    def s3_client(self) -> Any:
        return self.session().client("s3")
