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

REGION = "eu-west-1"
ACCOUNT = "123456789012"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/churn-sagemaker-execution"
BUCKET = "churn-artifacts-test"
GROUP = "churn-classifier"


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """Fake credentials and a region; no endpoint override, no shared config, no instance metadata."""
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "MLOPS_BUCKET", "SAGEMAKER_ROLE_ARN"):
        monkeypatch.delenv(name, raising=False)
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


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
