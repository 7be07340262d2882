"""Up-front checks of the AWS setup, before anything is uploaded or started (control plane).

Credentials, execution role, artifacts bucket and model package group: each missing piece
is one `AwsSetupError` line saying what to set or create (exit 12), never a traceback from
the middle of a run. The group is not created here: it belongs to the bootstrap stack
(`deploy/bootstrap/bootstrap.yaml`), where its permissions are declared with it.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from deploy.errors import AwsSetupError
from deploy.sagemaker.session import AwsSession, translated
from deploy.sagemaker.settings import Settings


def group_missing_error(group: str, region: str) -> AwsSetupError:
    return AwsSetupError(
        f"model package group '{group}' does not exist in {region}: deploy deploy/bootstrap/bootstrap.yaml "
        f"or run `aws sagemaker create-model-package-group --model-package-group-name {group}`"
    )


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class Preflight:
    def __init__(self, session: AwsSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings
        self._passed: set[str] = set()

    @translated
    def check(self, group: str) -> None:
        """Credentials, role, bucket and group, once per group for this process."""
        if group in self._passed:
            return
        self.session.check_credentials()
        self.settings.role()
        self.check_bucket()
        self.check_group(group)
        self._passed.add(group)

    def check_bucket(self) -> None:
        bucket = self.settings.artifacts_bucket()
        try:
            self.session.client("s3").head_bucket(Bucket=bucket)
        except ClientError as exc:
            code = error_code(exc)
            if code in ("404", "NoSuchBucket", "NotFound"):
                raise AwsSetupError(
                    f"bucket '{bucket}' does not exist: create it (deploy/bootstrap/bootstrap.yaml) or fix MLOPS_BUCKET"
                ) from None
            if code in ("403", "AccessDenied"):
                raise AwsSetupError(f"no access to bucket '{bucket}': grant s3:ListBucket to the caller") from None
            raise

    def check_group(self, group: str) -> None:
        try:
            self.session.client("sagemaker").describe_model_package_group(ModelPackageGroupName=group)
        except ClientError as exc:
            if error_code(exc) in ("ValidationException", "ResourceNotFound"):
                raise group_missing_error(group, self.settings.region) from None
            raise
