"""scripts/bootstrap.sh: --help, argument checks and a --dry-run that touches nothing."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ARGS = ["--github-owner", "acme", "--github-repo", "sm-gitops", "--region", "eu-west-1"]


def bootstrap(repo: Path, *args: str, path: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": path if path is not None else os.environ["PATH"]}
    env.pop("AWS_REGION", None)
    env.pop("AWS_DEFAULT_REGION", None)
    return subprocess.run(
        [shutil.which("bash") or "bash", "scripts/bootstrap.sh", *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_help(repo):
    result = bootstrap(repo, "--help")
    assert result.returncode == 0
    assert "--dry-run" in result.stdout and "--github-owner" in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--github-owner", "acme"],
        [*ARGS, "--bogus"],
        [*ARGS, "--project-name", "Bad_Name"],
        [*ARGS, "--github-repository-id", "acme/sm-gitops"],
        ["--github-owner", "a", "--github-repo", "b"],
    ],
)
def test_bad_arguments_fail_with_a_message(repo, args, tmp_path):
    result = bootstrap(repo, "--dry-run", *args, path=str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.strip()


def test_dry_run_prints_the_deploy_and_the_variables(repo, tmp_path):
    # An empty PATH: a dry run needs neither the AWS CLI nor gh.
    result = bootstrap(repo, "--dry-run", *ARGS, "--project-name", "demo", path=str(tmp_path))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert (
        "aws cloudformation deploy --region eu-west-1 --stack-name demo-github-bootstrap "
        "--template-file deploy/bootstrap/bootstrap.yaml --capabilities CAPABILITY_NAMED_IAM"
    ) in out
    assert "GitHubOwner=acme GitHubRepo=sm-gitops GitHubRepositoryId=REPOSITORY_ID ProjectName=demo" in out
    assert "# REPOSITORY_ID: gh api repos/acme/sm-gitops --jq .id" in out
    for variable in (
        "AWS_REGION",
        "AWS_TRAINING_ROLE_ARN",
        "AWS_PLAN_ROLE_ARN",
        "SAGEMAKER_ROLE_ARN",
        "MLOPS_BUCKET",
    ):
        assert f"gh variable set {variable} --repo acme/sm-gitops --body " in out
    assert "registry: {model_package_group: demo-classifier}" in out
    assert "--env staging --body arn:aws:iam::ACCOUNT_ID:role/demo-github-deploy-staging" in out
    assert "--env production --body arn:aws:iam::ACCOUNT_ID:role/demo-github-deploy-production" in out
    assert "ExistingOidcProviderArn" not in out


def test_dry_run_reuses_an_existing_oidc_provider(repo):
    arn = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
    result = bootstrap(repo, "--dry-run", *ARGS, "--existing-oidc-provider-arn", arn)
    assert result.returncode == 0, result.stderr
    assert f"ExistingOidcProviderArn={arn}" in result.stdout


def test_a_given_repository_id_is_passed_to_the_stack(repo, tmp_path):
    result = bootstrap(repo, "--dry-run", *ARGS, "--github-repository-id", "987654321", path=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "GitHubRepositoryId=987654321 " in result.stdout
    assert "REPOSITORY_ID" not in result.stdout


def test_without_gh_or_an_id_a_real_run_says_what_to_pass(repo, tmp_path):
    result = bootstrap(repo, *ARGS, path=str(tmp_path))
    assert result.returncode == 2
    assert "pass --github-repository-id" in result.stderr
