"""The AWS account the moto-server tests pretend to have (see the `moto_endpoint` fixture in conftest)."""

from __future__ import annotations

REGION = "us-east-1"
BUCKET = "churn-artifacts-e2e"
ROLE_ARN = "arn:aws:iam::123456789012:role/churn-sagemaker-execution"
