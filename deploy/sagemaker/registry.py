"""The SageMaker Model Registry behind the `Registry` interface (control plane).

A version is a model package in the configured group: the scikit-learn inference image with
the `model.tar.gz` and the packaged `ml/` (`SAGEMAKER_PROGRAM=inference.py`), the evaluation
as ModelQuality statistics in S3, the data-quality baseline (`statistics.json`,
`constraints.json`) as DriftCheckBaselines.ModelDataQuality, and the lineage and approval audit as
CustomerMetadataProperties
(encoded as the service allows, see `metadata.py`). A `model.tar.gz` trained elsewhere is
registered only if its scikit-learn is the image's (`images.check_trained_version`). The group is
never created here (see `preflight.py`).
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import replace
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from deploy.errors import RegistryError
from deploy.registry import BASELINE_FILES, ModelVersion, Registry, Status, check_status
from deploy.sagemaker.images import check_trained_version, sklearn_image
from deploy.sagemaker.inputs import stage_code
from deploy.sagemaker.metadata import decode, encode
from deploy.sagemaker.preflight import Preflight, error_code
from deploy.sagemaker.s3 import ArtifactBucket, read_json, stream_sha256
from deploy.sagemaker.session import SETUP_CODES, AwsSession, translated
from deploy.sagemaker.settings import Settings
from deploy.sagemaker.sourcedir import CODE_DIR, SERVING_PROGRAM

CONTENT_TYPES = ["text/csv", "application/json"]
MAX_DESCRIPTION = 1024
SHA_KEY = "artifact_sha256"


def description_text(text: str) -> str:
    """A description the service accepts: one line, no control characters (they become spaces), ≤ 1024."""
    return "".join(" " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch for ch in text)[:MAX_DESCRIPTION]


def _json_file(uri: str) -> dict[str, str]:
    return {"ContentType": "application/json", "S3Uri": uri}


def _baselines(package: dict[str, Any]) -> dict[str, str]:
    quality = package.get("DriftCheckBaselines", {}).get("ModelDataQuality", {})
    keys = dict(zip(BASELINE_FILES, ("Statistics", "Constraints"), strict=True))
    return {name: quality[key]["S3Uri"] for name, key in keys.items() if key in quality}


class ModelRegistry(Registry):
    def __init__(self, session: AwsSession, settings: Settings, root: Path, framework_version: str) -> None:
        self.session = session
        self.settings = settings
        self.root = Path(root)
        self.framework_version = framework_version
        self.preflight = Preflight(session, settings)
        self.sagemaker = session.client("sagemaker")
        self.s3 = session.client("s3")

    def bucket(self) -> ArtifactBucket:
        return ArtifactBucket(self.s3, self.settings.artifacts_bucket(), self.settings.prefix)

    @translated
    def register(
        self,
        group: str,
        *,
        artifact_uri: str,
        sha256: str,
        evaluation: dict[str, Any],
        lineage: dict[str, Any],
        description: str = "",
        baselines: dict[str, str] | None = None,
    ) -> ModelVersion:
        self.preflight.check_group(group)
        self.preflight.check_bucket()
        bucket = self.bucket()
        evaluation_uri = (
            lineage.get("evaluation_uri")
            or bucket.put_bytes(
                "evaluation", "evaluation.json", json.dumps(evaluation, indent=2, sort_keys=True).encode()
            )[0]
        )
        sourcedir_uri = lineage.get("sourcedir_uri") or stage_code(bucket, self.root).sourcedir_uri
        props = encode({**lineage, SHA_KEY: sha256, "evaluation_uri": evaluation_uri, "sourcedir_uri": sourcedir_uri})
        request: dict[str, Any] = {
            "ModelPackageGroupName": group,
            "ModelPackageDescription": description_text(description),
            "InferenceSpecification": self.inference_specification(artifact_uri, sourcedir_uri),
            "ModelMetrics": self._model_metrics(bucket, evaluation, evaluation_uri),
            "CustomerMetadataProperties": props,
            "ModelApprovalStatus": "PendingManualApproval",
        }
        if baselines:
            request["DriftCheckBaselines"] = {
                "ModelDataQuality": {
                    "Statistics": _json_file(baselines["statistics"]),
                    "Constraints": _json_file(baselines["constraints"]),
                }
            }
        arn = self._call(self.sagemaker.create_model_package, **request)["ModelPackageArn"]
        return self._version(self._call(self.sagemaker.describe_model_package, ModelPackageName=arn))

    @staticmethod
    def _model_metrics(bucket: Any, evaluation: dict[str, Any], evaluation_uri: str) -> dict[str, Any]:
        """Model quality from `evaluation.json`; the permutation importance as the explainability report."""
        metrics: dict[str, Any] = {"ModelQuality": {"Statistics": _json_file(evaluation_uri)}}
        importance = evaluation.get("feature_importance")
        if importance:
            data = json.dumps(importance, indent=2, sort_keys=True).encode()
            metrics["Explainability"] = {
                "Report": _json_file(bucket.put_bytes("explainability", "importance.json", data)[0])
            }
        return metrics

    def inference_specification(self, artifact_uri: str, sourcedir_uri: str) -> dict[str, Any]:
        image = sklearn_image(self.settings.region, self.framework_version, "inference")
        environment = {
            "SAGEMAKER_PROGRAM": SERVING_PROGRAM,
            "SAGEMAKER_SUBMIT_DIRECTORY": sourcedir_uri,
            "SAGEMAKER_REGION": self.settings.region,
            "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
            "PYTHONPATH": CODE_DIR,  # `inference.py` imports `ml.inference` from the extracted code
            # The serving toolkit `pip install`s the code at start; with build isolation pip would
            # fetch setuptools from PyPI, which an endpoint without internet access cannot reach.
            "PIP_NO_BUILD_ISOLATION": "false",
        }
        return {
            "Containers": [{"Image": image, "ModelDataUrl": artifact_uri, "Environment": environment}],
            "SupportedContentTypes": CONTENT_TYPES,
            "SupportedResponseMIMETypes": ["application/json", "text/csv"],
        }

    @translated
    def list(self, group: str) -> list[ModelVersion]:
        summaries = self._summaries(group)
        if not summaries:
            self.preflight.check_group(group)
        arns = [s["ModelPackageArn"] for s in summaries]
        versions = [self._version(self._call(self.sagemaker.describe_model_package, ModelPackageName=a)) for a in arns]
        return sorted(versions, key=lambda v: v.version)

    @translated
    def get(self, group: str, version: int) -> ModelVersion:
        return self._version(self._package(group, version))

    def _package(self, group: str, version: int) -> dict[str, Any]:
        for summary in self._summaries(group):
            if summary.get("ModelPackageVersion") == version:
                arn = summary["ModelPackageArn"]
                return self._call(self.sagemaker.describe_model_package, ModelPackageName=arn)
        self.preflight.check_group(group)
        raise RegistryError(f"model '{group}' version {version} is not in the SageMaker Model Registry")

    @translated
    def update_status(
        self, group: str, version: int, status: Status, *, reason: str = "", metadata: dict[str, str] | None = None
    ) -> ModelVersion:
        check_status(status)
        package = self._package(group, version)
        current = self._version(package)
        merged = {**current.metadata, **(metadata or {})}
        props = encode({**current.lineage, SHA_KEY: current.sha256}, merged)
        # UpdateModelPackage adds and overwrites entries: a field whose encoding changed leaves
        # its old keys behind unless they are named for removal.
        stale = sorted(set(package.get("CustomerMetadataProperties") or {}) - set(props))
        self._call(
            self.sagemaker.update_model_package,
            ModelPackageArn=current.arn,
            ModelApprovalStatus=status,
            ApprovalDescription=description_text(reason),
            CustomerMetadataProperties=props,
            **({"CustomerMetadataPropertiesToRemove": stale} if stale else {}),
        )
        return replace(current, status=status, status_reason=reason, metadata=merged)

    @translated
    def store_artifact(self, source: Path) -> tuple[str, str]:
        if not Path(source).is_file():
            raise RegistryError(f"{source}: no such file")
        check_trained_version(Path(source), self.framework_version)
        self.preflight.check_bucket()
        return self.bucket().put_file("models", Path(source), name="model.tar.gz")

    @translated
    def store_baseline(self, folder: Path) -> dict[str, str]:
        self.preflight.check_bucket()
        bucket = self.bucket()
        return {name: bucket.put_file("baselines", Path(folder) / f"{name}.json")[0] for name in BASELINE_FILES}

    @translated
    def read_baseline(self, model: ModelVersion, name: str) -> dict[str, Any]:
        uri = model.baselines.get(name)
        if not uri:
            raise RegistryError(f"{model.label} has no {name} baseline: its package has no DriftCheckBaselines")
        try:
            return read_json(self.s3, uri)
        except ClientError as exc:
            raise RegistryError(f"{model.label}: baseline {uri}: {error_code(exc)}") from None

    @translated
    def artifact_sha256(self, model: ModelVersion) -> str:
        try:
            return stream_sha256(self.s3, model.artifact_uri)
        except ClientError as exc:
            raise RegistryError(f"{model.label}: artifact {model.artifact_uri}: {error_code(exc)}") from None

    def _summaries(self, group: str) -> list[dict[str, Any]]:
        paginator = self.sagemaker.get_paginator("list_model_packages")
        pages = self._call(lambda: list(paginator.paginate(ModelPackageGroupName=group)))
        return [s for page in pages for s in page.get("ModelPackageSummaryList", [])]

    def _call(self, func: Any, **kwargs: Any) -> Any:
        try:
            return func(**kwargs)
        except ClientError as exc:
            if error_code(exc) in SETUP_CODES:
                raise  # `translated` turns it into an AwsSetupError
            message = exc.response.get("Error", {}).get("Message", "")
            raise RegistryError(f"SageMaker Model Registry: {error_code(exc)}: {message}") from None

    def _version(self, package: dict[str, Any]) -> ModelVersion:
        lineage, audit = decode(dict(package.get("CustomerMetadataProperties") or {}))
        sha256 = str(lineage.pop(SHA_KEY, ""))
        return ModelVersion(
            group=package["ModelPackageGroupName"],
            version=int(package["ModelPackageVersion"]),
            status=package["ModelApprovalStatus"],
            artifact_uri=package["InferenceSpecification"]["Containers"][0]["ModelDataUrl"],
            sha256=sha256,
            evaluation=self._evaluation(package),
            lineage=lineage,
            created_at=package["CreationTime"].isoformat(timespec="seconds"),
            arn=package["ModelPackageArn"],
            status_reason=package.get("ApprovalDescription") or "",
            metadata=audit,
            baselines=_baselines(package),
        )

    def _evaluation(self, package: dict[str, Any]) -> dict[str, Any]:
        uri = package.get("ModelMetrics", {}).get("ModelQuality", {}).get("Statistics", {}).get("S3Uri")
        if not uri:
            return {}
        try:
            return read_json(self.s3, uri)
        except ClientError as exc:
            raise RegistryError(f"{package['ModelPackageArn']}: evaluation {uri}: {error_code(exc)}") from None
