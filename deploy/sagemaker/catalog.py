"""The SageMaker resources behind one endpoint: looked up, tagged, and created once (control plane).

A desired state maps to one model (from the model package, with the execution role) and one
endpoint config (the kept variant name, instance type and count, data capture) under
deterministic names (`deploy.sagemaker.resources`); a serverless variant carries its
`ServerlessConfig` instead of instances. Both are created only if missing, so a
retried or reverted deploy reuses what is there. Reads of the live endpoint config and its
tags for `mlops plan` live here too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from deploy.config.schema import EnvironmentConfig
from deploy.endpoints import DeployReporter, DesiredState
from deploy.sagemaker import resources as res
from deploy.sagemaker.settings import Settings


@dataclass(frozen=True)
class Resources:
    """The model and endpoint config a desired state maps to."""

    model_name: str
    config_name: str
    capture: dict[str, Any] | None
    tags: dict[str, str]


def not_found(exc: ClientError) -> bool:
    error = exc.response.get("Error", {})
    return error.get("Code") == "ValidationException" and "Could not find" in str(error.get("Message", ""))


class Catalog:
    def __init__(self, sagemaker: Any, settings: Settings) -> None:
        self.sagemaker = sagemaker
        self.settings = settings

    def find(self, operation: Callable[..., dict[str, Any]], **kwargs: Any) -> dict[str, Any] | None:
        """The description, or None when SageMaker says the resource does not exist."""
        try:
            return operation(**kwargs)
        except ClientError as exc:
            if not_found(exc):
                return None
            raise

    def tags(self, arn: str) -> dict[str, str]:
        paginator = self.sagemaker.get_paginator("list_tags")
        return res.tag_dict([t for page in paginator.paginate(ResourceArn=arn) for t in page.get("Tags", [])])

    def capture_uri(self, cfg: EnvironmentConfig, *, required: bool) -> str | None:
        """The default data capture destination under the artifacts bucket (None if not needed/known)."""
        capture = cfg.endpoint.data_capture
        if required and (not capture.enabled or capture.destination_s3_uri):
            return None
        bucket = self.settings.artifacts_bucket() if required else self.settings.bucket
        return f"s3://{bucket}/{self.settings.prefix}/data-capture/{cfg.endpoint.name}" if bucket else None

    def plan(self, desired: DesiredState) -> Resources:
        cfg, model = desired.config, desired.model
        capture = res.capture_request(cfg.endpoint.data_capture, self.capture_uri(cfg, required=True))
        model_name = res.model_name(cfg, model.version, model.arn, model.sha256, self.settings.role())
        tags = res.resource_tags(desired.env, cfg.endpoint.name, model.version, model.sha256, model.arn, desired.commit)
        return Resources(model_name, res.config_name(cfg, model.version, model_name, capture), capture, tags)

    def ensure(self, desired: DesiredState, plan: Resources, reporter: DeployReporter) -> None:
        """Create the model and endpoint config of `plan` unless they exist."""
        endpoint, tags = desired.config.endpoint, res.tag_list(plan.tags)
        if self.find(self.sagemaker.describe_model, ModelName=plan.model_name) is None:
            self.sagemaker.create_model(
                ModelName=plan.model_name,
                ExecutionRoleArn=self.settings.role(),
                Containers=[{"ModelPackageName": desired.model.arn}],
                Tags=tags,
            )
            reporter.event(f"model '{plan.model_name}' from {desired.model.arn}")
        if self.find(self.sagemaker.describe_endpoint_config, EndpointConfigName=plan.config_name) is not None:
            reporter.event(f"endpoint config '{plan.config_name}' exists already: reusing it")
            return
        variant = {
            "VariantName": endpoint.variant_name,
            "ModelName": plan.model_name,
            **res.variant_sizing(endpoint),
            "InitialVariantWeight": 1.0,
        }
        capture = {"DataCaptureConfig": plan.capture} if plan.capture else {}
        self.sagemaker.create_endpoint_config(
            EndpointConfigName=plan.config_name, ProductionVariants=[variant], Tags=tags, **capture
        )
        reporter.event(
            f"endpoint config '{plan.config_name}': {res.sizing_text(endpoint)}, variant '{endpoint.variant_name}'"
        )

    def live_config(self, endpoint: dict[str, Any], cfg: EnvironmentConfig) -> dict[str, Any]:
        """LiveState fields read from the endpoint's config and its tags."""
        config = self.find(self.sagemaker.describe_endpoint_config, EndpointConfigName=endpoint["EndpointConfigName"])
        config = config or {}
        variants = config.get("ProductionVariants", [])
        variant = next((v for v in variants if v["VariantName"] == cfg.endpoint.variant_name), {})
        tags = self.tags(config["EndpointConfigArn"]) if config else {}
        version = tags.get(res.TAG_VERSION)
        live_capture = config.get("DataCaptureConfig")
        return {
            "model_version": int(version) if version and version.isdigit() else None,
            "model_sha256": tags.get(res.TAG_SHA256),
            "package_arn": tags.get(res.TAG_PACKAGE),
            "instance_type": variant.get("InstanceType"),
            "instance_count": variant.get("InitialInstanceCount"),
            "serverless": res.serverless_state(variant),
            "data_capture": res.capture_state(
                live_capture, cfg.endpoint.data_capture, self.capture_uri(cfg, required=False)
            ),
        }
