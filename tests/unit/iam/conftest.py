"""The sample account, region and project the IAM tests resolve the bootstrap template for (test side)."""

from __future__ import annotations

from deploy.bootstrap import template as cfn

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
