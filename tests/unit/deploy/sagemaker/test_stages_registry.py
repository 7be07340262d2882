"""Staging before prod on the SageMaker Model Registry (moto, full service model validation)."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from deploy.backends import load_backend
from deploy.config import load_environment, load_pipeline
from deploy.config.schema import ModelPin
from deploy.errors import NotStaged
from deploy.promotion.pins import plan_pins, write_pins
from deploy.promotion.stages import check_served, record_served
from deploy.workspace import Workspace

from .conftest import GROUP, REGION
from .test_registry import register


@pytest.fixture
def backend(repo_copy: Path, aws_setup: dict[str, str]):
    return load_backend("sagemaker", Workspace(repo_copy), load_pipeline(repo_copy / "config"))


def test_staging_record_and_prod_check_through_update_model_package(backend, repo_copy: Path, tmp_path: Path) -> None:
    registry = backend.registry()
    version = register(registry, tmp_path)
    model = registry.get(GROUP, version)
    changes = plan_pins(repo_copy / "config", ModelPin(version=version, package_arn=model.arn, sha256=model.sha256))
    write_pins(changes)
    prod = load_environment(repo_copy / "config", "prod")
    with pytest.raises(NotStaged, match="has not served in staging"):
        check_served(backend, "prod", prod, "staging")

    record_served(backend, "staging", load_environment(repo_copy / "config", "staging"), "b" * 40)

    assert check_served(backend, "prod", prod, "staging").message.endswith("served in staging (commit bbbbbbbbbbbb)")
    described = boto3.client("sagemaker", region_name=REGION).describe_model_package(ModelPackageName=model.arn)
    # The lineage and the artifact hash survive: UpdateModelPackage replaces the whole map.
    props = described["CustomerMetadataProperties"]
    assert props["audit.served_staging"] == "b" * 40
    assert props["artifact_sha256"] == model.sha256 and props["git_commit"] == "abc123"
    assert described["ModelApprovalStatus"] == "PendingManualApproval"
