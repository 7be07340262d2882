"""Where the SageMaker backend runs: region, role, bucket and prefix, resolved once (control plane).

`config/pipeline.yaml` wins; `AWS_REGION`/`AWS_DEFAULT_REGION`, `SAGEMAKER_ROLE_ARN` and
`MLOPS_BUCKET` fill what it leaves out. A missing value is an `AwsSetupError` naming what
to set, raised before anything is uploaded.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from deploy.config.schema import SageMakerConfig
from deploy.errors import AwsSetupError
from deploy.sagemaker.session import resolve_region

ROLE_PATTERN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$")


@dataclass(frozen=True)
class Settings:
    region: str
    role_arn: str | None
    bucket: str | None
    prefix: str

    @classmethod
    def resolve(cls, cfg: SageMakerConfig) -> Settings:
        return cls(
            region=resolve_region(cfg.region),
            role_arn=cfg.role_arn or os.environ.get("SAGEMAKER_ROLE_ARN") or None,
            bucket=cfg.bucket or os.environ.get("MLOPS_BUCKET") or None,
            prefix=cfg.prefix.strip("/"),
        )

    def role(self) -> str:
        if not self.role_arn:
            raise AwsSetupError(
                "no SageMaker execution role: set SAGEMAKER_ROLE_ARN or sagemaker.role_arn in config/pipeline.yaml "
                "(the SageMakerExecutionRoleArn output of deploy/bootstrap/bootstrap.yaml)"
            )
        if not ROLE_PATTERN.match(self.role_arn):
            raise AwsSetupError(f"SAGEMAKER_ROLE_ARN '{self.role_arn}' is not an IAM role ARN")
        return self.role_arn

    def artifacts_bucket(self) -> str:
        if not self.bucket:
            raise AwsSetupError(
                "no artifacts bucket: set MLOPS_BUCKET or sagemaker.bucket in config/pipeline.yaml "
                "(the ArtifactsBucketName output of deploy/bootstrap/bootstrap.yaml)"
            )
        return self.bucket
