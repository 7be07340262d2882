"""Names and tags of what a SageMaker deploy creates, and how they read back (control plane).

Models and endpoint configs get deterministic names, `<endpoint>-v<version>-<hash>`, where the
hash covers every field that shapes the resource: the same desired state always maps to the
same name, so a redeploy (or a `git revert` to a pin whose config is still kept) reuses it.
Every resource is tagged with the environment, endpoint, model version, sha256, package ARN
and git commit; the endpoint also carries the deployment policy it was last deployed with.
Tag values allow only letters, digits, spaces and `_.:/=+-@`, so the policy is written as
`key=value` words rather than JSON.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import ValidationError

from deploy.config.schema import DataCapture, DeploymentPolicy, EndpointConfig, EnvironmentConfig, Serverless

MAX_NAME = 63
MANAGED_BY = "sagemaker-gitops"
TAG_MANAGED = "mlops:managed-by"
TAG_ENV = "mlops:env"
TAG_ENDPOINT = "mlops:endpoint"
TAG_VERSION = "mlops:model-version"
TAG_SHA256 = "mlops:model-sha256"
TAG_PACKAGE = "mlops:package-arn"
TAG_COMMIT = "mlops:git-commit"
TAG_POLICY = "mlops:deployment"
CAPTURE_CONTENT_TYPES = {"CsvContentTypes": ["text/csv"], "JsonContentTypes": ["application/json"]}


def short_hash(*parts: Any) -> str:
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def versioned_name(endpoint: str, version: int, digest: str) -> str:
    """`<endpoint>-v<version>-<digest>`, the endpoint part shortened to stay within 63 characters."""
    suffix = f"-v{version}-{digest}"
    return endpoint[: MAX_NAME - len(suffix)].rstrip("-") + suffix


def model_name(cfg: EnvironmentConfig, version: int, package_arn: str, sha256: str, role: str) -> str:
    return versioned_name(cfg.endpoint.name, version, short_hash(package_arn, sha256, role))


def config_name(cfg: EnvironmentConfig, version: int, model: str, capture: dict[str, Any] | None) -> str:
    endpoint = cfg.endpoint
    shape: tuple[Any, ...] = (model, endpoint.variant_name, endpoint.instance_type, endpoint.instance_count, capture)
    if endpoint.serverless is not None:  # appended only when set, so instance configs keep their names
        shape = (model, endpoint.variant_name, None, None, capture, endpoint.serverless.model_dump())
    return versioned_name(endpoint.name, version, short_hash(*shape))


def variant_sizing(endpoint: EndpointConfig) -> dict[str, Any]:
    """How the production variant is sized: `ServerlessConfig`, or instance type and count."""
    serverless = endpoint.serverless
    if serverless is None:
        return {"InitialInstanceCount": endpoint.instance_count, "InstanceType": endpoint.instance_type}
    config = {"MemorySizeInMB": serverless.memory_size_mb, "MaxConcurrency": serverless.max_concurrency}
    if serverless.provisioned_concurrency is not None:
        config["ProvisionedConcurrency"] = serverless.provisioned_concurrency
    return {"ServerlessConfig": config}


def serverless_state(variant: dict[str, Any]) -> dict[str, Any] | None:
    """A live variant's `ServerlessConfig` in `Serverless.model_dump()` shape; None for an instance variant."""
    config = variant.get("ServerlessConfig")
    if not config:
        return None
    return {
        "memory_size_mb": config.get("MemorySizeInMB"),
        "max_concurrency": config.get("MaxConcurrency"),
        "provisioned_concurrency": config.get("ProvisionedConcurrency"),
    }


def sizing_text(endpoint: EndpointConfig) -> str:
    """`2 × ml.m5.large`, or `serverless 2048 MB, max concurrency 5` for the deploy log."""
    return (
        serverless_text(endpoint.serverless)
        if endpoint.serverless
        else (f"{endpoint.instance_count} × {endpoint.instance_type}")
    )


def serverless_text(serverless: Serverless) -> str:
    text = f"serverless {serverless.memory_size_mb} MB, max concurrency {serverless.max_concurrency}"
    if serverless.provisioned_concurrency is not None:
        text += f", provisioned concurrency {serverless.provisioned_concurrency}"
    return text


def tag_list(values: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in values.items()]


def tag_dict(tags: list[dict[str, str]]) -> dict[str, str]:
    """Tags as a dict; a key written twice keeps its last value."""
    return {tag["Key"]: tag["Value"] for tag in tags}


def resource_tags(env: str, endpoint: str, version: int, sha256: str, package_arn: str, commit: str) -> dict[str, str]:
    return {
        TAG_MANAGED: MANAGED_BY,
        TAG_ENV: env,
        TAG_ENDPOINT: endpoint,
        TAG_VERSION: str(version),
        TAG_SHA256: sha256,
        TAG_PACKAGE: package_arn[:256],
        TAG_COMMIT: commit[:256],
    }


def managed_for(tags: dict[str, str], endpoint: str) -> bool:
    """Whether this tool created the resource for `endpoint` (nothing else is ever deleted)."""
    return tags.get(TAG_MANAGED) == MANAGED_BY and tags.get(TAG_ENDPOINT) == endpoint


def encode_policy(policy: DeploymentPolicy) -> str:
    return " ".join(f"{key}={value}" for key, value in policy.model_dump().items())


def decode_policy(text: str | None) -> dict[str, Any] | None:
    """The policy's `model_dump()` back from its tag; None if missing or not a valid policy."""
    if not text:
        return None
    try:
        fields = dict(word.split("=", 1) for word in text.split())
        return DeploymentPolicy.model_validate(fields).model_dump()
    except (ValueError, ValidationError):
        return None


def capture_request(capture: DataCapture, default_uri: str | None) -> dict[str, Any] | None:
    """DataCaptureConfig of the endpoint config, or None when capture is off."""
    if not capture.enabled:
        return None
    return {
        "EnableCapture": True,
        "InitialSamplingPercentage": capture.sampling_percentage,
        "DestinationS3Uri": capture.destination_s3_uri or default_uri,
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        "CaptureContentTypeHeader": CAPTURE_CONTENT_TYPES,
    }


def capture_state(live: dict[str, Any] | None, desired: DataCapture, default_uri: str | None) -> dict[str, Any]:
    """The live DataCaptureConfig in `DataCapture.model_dump()` shape.

    When capture is off the other fields have no effect, so they read as git's values; a
    destination equal to the default one reads as unset, as it is written in git.
    """
    if not live or not live.get("EnableCapture"):
        return {**desired.model_dump(), "enabled": False}
    destination = live.get("DestinationS3Uri")
    if desired.destination_s3_uri is None and destination == default_uri:
        destination = None
    return {
        "enabled": True,
        "sampling_percentage": live.get("InitialSamplingPercentage"),
        "destination_s3_uri": destination,
    }
