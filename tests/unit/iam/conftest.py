"""Fixtures for the IAM tests (test side): the template resolved for a sample account, and a moto world."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.bootstrap import template as cfn
from deploy.bootstrap.roles import roles
from tests.aws_account import use_fake_account

from .recorder import CallRecorder
from .world import World

# moto's default account; the project prefix the repository's config/ uses.
TARGET = cfn.Target(
    account="123456789012",
    region="eu-west-1",
    parameters={
        "GitHubOwner": "acme",
        "GitHubRepo": "churn-gitops",
        "GitHubRepositoryId": "123456789",
        "ProjectName": "churn",
    },
    stack_name="churn-github-bootstrap",
)


@pytest.fixture(scope="session")
def target() -> cfn.Target:
    return TARGET


@pytest.fixture(scope="session")
def stack_outputs() -> dict[str, str]:
    return cfn.outputs(cfn.load(), TARGET)


@pytest.fixture(scope="session")
def template_roles():
    return roles(TARGET)


@pytest.fixture
def world(repo_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stack_outputs) -> Iterator[World]:
    from moto import mock_aws

    use_fake_account(monkeypatch, tmp_path, TARGET.region)
    config = repo_copy / "config" / "pipeline.yaml"
    config.write_text(config.read_text().replace("\nsagemaker:\n", "\nsagemaker:\n  poll_seconds: 0.01\n"))
    recorder = CallRecorder()
    recorder.install(monkeypatch)
    with mock_aws():
        world = World(recorder, repo_copy, stack_outputs, TARGET, tmp_path)
        for name, value in world.environment().items():
            monkeypatch.setenv(name, value)
        yield world
