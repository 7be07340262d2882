"""One AWS session for the SageMaker backend: region, clients and error translation (control plane).

Clients are created with botocore's defaults, so `AWS_ENDPOINT_URL` (or the per-service
`AWS_ENDPOINT_URL_<SERVICE>`) redirects every call, e.g. to a moto server; no code path
names an AWS host. Missing credentials or region become one `AwsSetupError` line.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any, TypeVar

import boto3
from botocore.exceptions import ClientError, NoCredentialsError, NoRegionError, PartialCredentialsError

from deploy.errors import AwsSetupError

T = TypeVar("T")

# Errors that mean "the caller is not set up", not "the call went wrong": one line, exit 12.
SETUP_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "SignatureDoesNotMatch",
    }
)
CREDENTIALS_HINT = (
    "no AWS credentials found: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE "
    "(in GitHub Actions: aws-actions/configure-aws-credentials with role-to-assume)"
)


def resolve_region(configured: str | None) -> str:
    """sagemaker.region from the config, else AWS_REGION, else AWS_DEFAULT_REGION."""
    region = configured or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        raise AwsSetupError("no AWS region: set sagemaker.region in config/pipeline.yaml or AWS_REGION")
    return region


class AwsSession:
    """A boto3 session bound to one region, handing out one client per service."""

    def __init__(self, region: str, boto_session: boto3.Session | None = None) -> None:
        self.region = region
        self.boto = boto_session or boto3.Session(region_name=region)
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.boto.client(service, region_name=self.region)
        return self._clients[service]

    def new_client(self, service: str) -> Any:
        """A separate client (its own stubs, its own retries), not shared with `client`."""
        return self.boto.client(service, region_name=self.region)

    def check_credentials(self) -> None:
        credentials = self.boto.get_credentials()
        if credentials is None or not credentials.access_key:
            raise AwsSetupError(CREDENTIALS_HINT)


def translated(func: Callable[..., T]) -> Callable[..., T]:
    """Turn botocore's credential and region errors into one-line `AwsSetupError`s."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        try:
            return func(*args, **kwargs)
        except (NoCredentialsError, PartialCredentialsError):
            raise AwsSetupError(CREDENTIALS_HINT) from None
        except NoRegionError:
            raise AwsSetupError("no AWS region: set sagemaker.region in config/pipeline.yaml or AWS_REGION") from None
        except ClientError as exc:
            error = exc.response.get("Error", {})
            if error.get("Code") not in SETUP_CODES:
                raise
            operation = exc.operation_name
            raise AwsSetupError(
                f"AWS refused {operation}: {error.get('Code')}: {error.get('Message', '')} "
                "(check the role's permissions, or renew an expired session)"
            ) from None

    return wrapper
