"""SageMaker Batch Transform's part in the IAM world: the job scored, failed or still running (test side).

moto records CreateTransformJob and always calls the job Completed. `BatchService` carries the
job out through the shared Transform stand-in (`tests.sagemaker_transform`) with a model
trained for real, writes the job's log stream as the service does, and in the situations
that need it answers DescribeTransformJob with a failed job, or with a job still running
while each poll lets an hour pass on the clock `mlops batch` reads, and accepts StopTransformJob.
"""

from __future__ import annotations

import io
import tarfile
import tempfile
import time
from functools import cache
from pathlib import Path
from typing import Any

import boto3

from tests.sagemaker_transform import Transform

from .recorder import CallRecorder

LOG_GROUP = "/aws/sagemaker/TransformJobs"
INSTANCE_STREAM = "i-0123456789abcdef0-1767225600"  # <job>/<instance>-<epoch>, as Transform names streams
FAILURE = "ClientError: See job logs for more information"


@cache
def trained_archive() -> bytes:
    """A model.tar.gz the container's entry points can load: trained once per process on generated rows."""
    from deploy.artifacts import pack_model_dir
    from ml.dataset import make_churn, write_table
    from ml.schema import DEFAULT_SCHEMA as schema
    from ml.train import train

    with tempfile.TemporaryDirectory(prefix="iam-model-") as tmp:
        base = Path(tmp)
        write_table(make_churn(600, 4), base / "train" / "train.csv")
        train(base / "train", base / "model", {"algorithm": "logistic_regression"}, schema.numeric_names,
              schema.categorical_names, schema.label)  # fmt: skip
        pack_model_dir(base / "model", base / "model.tar.gz")
        return (base / "model.tar.gz").read_bytes()


def customers(rows: int, bad: dict[int, str]) -> bytes:
    """A nightly file: an ID column, then the features; `bad` replaces some lines (1-based) with broken ones."""
    from ml.dataset import make_churn

    lines = make_churn(rows, 8).drop(columns="churned").to_csv(index=False, header=False).splitlines()
    return "\n".join(f"cust-{i}," + bad.get(i, line) for i, line in enumerate(lines, 1)).encode() + b"\n"


class BatchService:
    """Mixed into `World`: needs its `recorder`, `sagemaker`, `s3`, `tmp`, `region`, `account` and `_quietly`."""

    recorder: CallRecorder
    sagemaker: Any
    s3: Any
    tmp: Path
    region: str
    account: str
    _quietly: Any

    def install_batch(self) -> None:
        self.transform_outcome = "Completed"  # or "Failed", or "InProgress" (the job runs past its limit)
        self.elapsed = 0.0  # seconds the clock `mlops batch` reads is ahead of the machine's
        self.scores = False  # the batch situations: training writes a model the container can load
        self.transform = Transform(self.tmp, self.region, sagemaker=self.sagemaker, s3=self.s3)
        self.logs = boto3.client("logs", region_name=self.region)
        self.recorder.script("sagemaker", "CreateTransformJob", self._create_transform)
        self.recorder.script("sagemaker", "DescribeTransformJob", self._describe_transform)
        self.recorder.script("sagemaker", "StopTransformJob", self._stop_transform)

    def clock(self) -> float:
        return time.monotonic() + self.elapsed

    def model_archive(self, run: str) -> bytes:
        """What a training job writes: a model the container loads where a batch scores with it."""
        return trained_archive() if self.scores else archive_bytes(run)

    def _create_transform(self, params: dict[str, Any]) -> None:
        """The service's part (quietly); moto then records the job."""
        name = params["TransformJobName"]
        if not self._log_group():
            self._quietly(self.logs.create_log_group, logGroupName=LOG_GROUP)
        self._quietly(self.logs.create_log_stream, logGroupName=LOG_GROUP, logStreamName=f"{name}/{INSTANCE_STREAM}")
        if self.transform_outcome == "Completed":
            self._quietly(self.transform.carry_out, request=params)

    def _log_group(self) -> bool:
        found = self._quietly(self.logs.describe_log_groups, logGroupNamePrefix=LOG_GROUP)["logGroups"]
        return any(g["logGroupName"] == LOG_GROUP for g in found)

    def _describe_transform(self, params: dict[str, Any]) -> dict[str, Any] | None:
        if self.transform_outcome == "Completed":
            return None  # moto's answer
        if self.transform_outcome == "InProgress":
            self.elapsed += 3600  # an hour passes between two polls
        name = params["TransformJobName"]
        answer: dict[str, Any] = {
            "TransformJobName": name,
            "TransformJobArn": f"arn:aws:sagemaker:{self.region}:{self.account}:transform-job/{name}",
            "TransformJobStatus": self.transform_outcome,
            "ModelName": "model",
            "CreationTime": "2026-01-01T00:00:00Z",
            "TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/in"}}},
            "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
        }
        if self.transform_outcome == "Failed":
            answer["FailureReason"] = FAILURE
        return answer

    def _stop_transform(self, params: dict[str, Any]) -> dict[str, Any]:
        """moto has no StopTransformJob: the job is stopping."""
        self.transform_outcome = "Stopping"
        return {}


def archive_bytes(run: str) -> bytes:
    """The placeholder model.tar.gz the other situations use: one member naming the run."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("model.joblib")
        info.size = len(run)
        tar.addfile(info, io.BytesIO(run.encode()))
    return buffer.getvalue()
