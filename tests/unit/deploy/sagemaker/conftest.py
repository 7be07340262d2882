"""Fixtures shared by the SageMaker adapter tests: fake credentials and moto's in-process AWS.

Generic on purpose (the pipeline, registry and endpoint tests all use them): `aws_env` gives
fake credentials and a region with no endpoint override, `mocked_aws` starts `moto.mock_aws`,
`aws_setup` creates what the bootstrap stack would (bucket, model package group, role and
bucket in the environment), `sm_repo` is a repository copy that polls fast and has a small CSV.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.aws_account import use_fake_account

REGION = "eu-west-1"
ACCOUNT = "123456789012"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/churn-sagemaker-execution"
BUCKET = "churn-artifacts-test"
GROUP = "churn-classifier"


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """Fake credentials and a region; no endpoint override, no shared config, no instance metadata."""
    return use_fake_account(monkeypatch, tmp_path, REGION)


@pytest.fixture
def mocked_aws(aws_env: dict[str, str]) -> Iterator[None]:
    from moto import mock_aws

    with mock_aws():
        yield


@pytest.fixture
def aws_setup(mocked_aws: None, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The bootstrap's resources in moto: artifacts bucket and model package group, role and bucket in env."""
    import boto3

    boto3.client("s3", region_name=REGION).create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    boto3.client("sagemaker", region_name=REGION).create_model_package_group(ModelPackageGroupName=GROUP)
    monkeypatch.setenv("MLOPS_BUCKET", BUCKET)
    monkeypatch.setenv("SAGEMAKER_ROLE_ARN", ROLE_ARN)
    return {"bucket": BUCKET, "group": GROUP, "role_arn": ROLE_ARN, "region": REGION}


@pytest.fixture
def sm_repo(repo_copy: Path, aws_setup: dict[str, str], tmp_path: Path) -> Path:
    """The repository copy with a tiny poll interval and a small CSV to train on."""
    config = repo_copy / "config" / "pipeline.yaml"
    config.write_text(config.read_text().replace("\nsagemaker:\n", "\nsagemaker:\n  poll_seconds: 0.01\n"))
    from ml.dataset import make_churn

    make_churn(300, 3).to_csv(repo_copy / "data.csv", index=False)
    return repo_copy
