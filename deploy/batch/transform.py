"""SageMaker Batch Transform jobs with the pinned model, followed to the end (control plane).

The Model is the one a deploy of the same pin creates (same deterministic name, reused if it
exists, else created from the model package with the same tags). The job splits files by
line and sends mini-batches (`SplitType: Line`, `BatchStrategy: MultiRecord`,
`MaxPayloadInMB`), gets CSV back assembled by line, and with an ID column drops it before the
model (`InputFilter: $[1:]`) and joins it back (`JoinSource: Input`, `OutputFilter` keeping
the ID and the three answer fields). `MLOPS_RECORD_ERRORS=inline` asks the container for one
answer line per record (`ml.batch`). A failure reports `FailureReason` and the log stream.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from deploy.batch import ERRORS_FILE, OUTPUT_SUFFIX, BatchBackend, BatchJob, BatchReporter, BatchRun
from deploy.batch.records import RecordReport, side_file_text
from deploy.errors import BatchFailed, ConfigError
from deploy.sagemaker import resources as res
from deploy.sagemaker.catalog import Catalog
from deploy.sagemaker.s3 import S3Uri
from deploy.sagemaker.session import SETUP_CODES, translated
from deploy.sagemaker.settings import Settings

LOG_GROUP = "/aws/sagemaker/TransformJobs"
TERMINAL = frozenset({"Completed", "Failed", "Stopped"})
RECORD_ERRORS = {"MLOPS_RECORD_ERRORS": "inline"}  # see ml.batch
ID_FILTERS = {"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$[0,-3,-2,-1]"}


def transform_request(job: BatchJob, model_name: str, tags: dict[str, str]) -> dict[str, Any]:
    batch = job.config.batch
    request: dict[str, Any] = {
        "TransformJobName": job.name,
        "ModelName": model_name,
        "MaxPayloadInMB": batch.max_payload_mb,
        "BatchStrategy": "MultiRecord",
        # Scoring is deterministic: a retried mini-batch would fail the same way.
        "ModelClientConfig": {
            "InvocationsTimeoutInSeconds": batch.invocation_timeout_seconds,
            "InvocationsMaxRetries": 0,
        },
        "Environment": dict(RECORD_ERRORS),
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": job.input_uri}},
            "ContentType": "text/csv",
            "CompressionType": "None",
            "SplitType": "Line",
        },
        "TransformOutput": {"S3OutputPath": job.output_uri, "Accept": "text/csv", "AssembleWith": "Line"},
        "TransformResources": {"InstanceType": batch.instance_type, "InstanceCount": batch.instance_count},
        "Tags": res.tag_list(tags),
    }
    if batch.max_concurrent_transforms:
        request["MaxConcurrentTransforms"] = batch.max_concurrent_transforms
    if job.id_column:
        request["DataProcessing"] = dict(ID_FILTERS)
    return request


class TransformJobs(BatchBackend):
    def __init__(
        self,
        session: Any,
        settings: Settings,
        *,
        poll_seconds: float = 30,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.session = session  # anything with .client(service_name), e.g. `AwsSession`
        self.settings = settings
        self.poll_seconds = poll_seconds
        self.sleep = sleep
        self.clock = clock

    @property
    def sagemaker(self) -> Any:
        return self.session.client("sagemaker")

    @property
    def s3(self) -> Any:
        return self.session.client("s3")

    @translated
    def check_locations(self, input_uri: str, output_uri: str) -> None:
        for option, uri in (("--input", input_uri), ("--output", output_uri)):
            if not uri.startswith("s3://") or not S3Uri.parse(uri).bucket:
                raise ConfigError(
                    f"{option} {uri}: a Batch Transform job reads and writes s3:// URIs "
                    "(upload a local file with `aws s3 cp` first)"
                )
        source = S3Uri.parse(input_uri)
        try:
            found = self.s3.list_objects_v2(Bucket=source.bucket, Prefix=source.key, MaxKeys=1).get("KeyCount", 0)
        except ClientError as exc:
            raise ConfigError(f"--input {input_uri}: {exc.response.get('Error', {}).get('Code', exc)}") from None
        if not found:
            raise ConfigError(f"--input {input_uri}: no objects under this prefix")

    @translated
    def run(self, job: BatchJob, reporter: BatchReporter) -> BatchRun:
        began = self.clock()
        self._check_writable(job)
        model_name = self._ensure_model(job, reporter)
        tags = res.resource_tags(
            job.env, job.config.endpoint.name, job.model.version, job.model.sha256, job.model.arn, job.commit
        )
        request = transform_request(job, model_name, tags)
        outputs = self._outputs(job.input_uri, job.output_uri)
        self._call(self.sagemaker.create_transform_job, **request)
        resources = request["TransformResources"]
        reporter.event(
            f"CreateTransformJob '{job.name}': {resources['InstanceCount']} × {resources['InstanceType']}, "
            f"{job.input_uri} → {job.output_uri}"
        )
        described = self._follow(job, outputs, reporter)
        if described["TransformJobStatus"] != "Completed":
            raise BatchFailed(self._failure(job.name, described))
        return BatchRun(
            job.name,
            outputs,
            self.clock() - began,
            {"transform_job": described.get("TransformJobArn", job.name)},
        )

    def _ensure_model(self, job: BatchJob, reporter: BatchReporter) -> str:
        model = job.model
        name = res.model_name(job.config, model.version, model.arn, model.sha256, self.settings.role())
        if Catalog(self.sagemaker, self.settings).find(self.sagemaker.describe_model, ModelName=name) is not None:
            reporter.event(f"model '{name}' exists (made by a deploy of the same pin): reusing it")
            return name
        tags = res.resource_tags(job.env, job.config.endpoint.name, model.version, model.sha256, model.arn, job.commit)
        self._call(
            self.sagemaker.create_model,
            ModelName=name,
            ExecutionRoleArn=self.settings.role(),
            Containers=[{"ModelPackageName": model.arn}],
            Tags=res.tag_list(tags),
        )
        reporter.event(f"model '{name}' from {model.arn}")
        return name

    def _follow(self, job: BatchJob, outputs: list[str], reporter: BatchReporter) -> dict[str, Any]:
        """Poll until the job ends: each status change, and each input file whose output appeared."""
        started = self.clock()
        deadline = started + job.config.batch.max_runtime_seconds
        shown, written = "", 0
        while True:
            described = self._call(self.sagemaker.describe_transform_job, TransformJobName=job.name)
            status = described["TransformJobStatus"]
            if status != shown:
                reporter.event(f"{job.name}: {status}")
                shown = status
            if status in TERMINAL:
                return described
            done = self._written(job.output_uri, outputs)
            if done != written:
                minutes = (self.clock() - started) / 60
                reporter.event(f"{job.name}: {done} of {len(outputs)} file(s) scored after {minutes:.0f} min")
                written = done
            if self.clock() >= deadline:
                self._call(self.sagemaker.stop_transform_job, TransformJobName=job.name)
                raise BatchFailed(
                    f"transform job '{job.name}' still {status} after batch.max_runtime_seconds "
                    f"{job.config.batch.max_runtime_seconds} s: stopped it"
                )
            self.sleep(self.poll_seconds)

    def _written(self, output_uri: str, outputs: list[str]) -> int:
        """How many of the expected output files Transform has written so far."""
        where = S3Uri.parse(output_uri)
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=where.bucket, Prefix=where.key)
        present = {f"s3://{where.bucket}/{item['Key']}" for page in pages for item in page.get("Contents", [])}
        return len(present.intersection(outputs))

    def _failure(self, name: str, described: dict[str, Any]) -> str:
        reason = described.get("FailureReason") or described["TransformJobStatus"].lower()
        status = described["TransformJobStatus"]
        return f"transform job '{name}' {status}: {reason} (log: {LOG_GROUP} {self._stream(name)})"

    def _stream(self, name: str) -> str:
        """The job's first log stream (`<job>/<instance>-<epoch>`), or its name pattern if it cannot be listed."""
        try:
            found = self.session.client("logs").describe_log_streams(
                logGroupName=LOG_GROUP, logStreamNamePrefix=f"{name}/"
            )
            if found.get("logStreams"):
                return found["logStreams"][0]["logStreamName"]
        except (ClientError, BotoCoreError):
            pass  # best effort: the pattern below still names the stream
        return f"{name}/*"

    def _outputs(self, input_uri: str, output_uri: str) -> list[str]:
        """`<output>/<key relative to the input's folder>.out` for every input object, as Transform names them."""
        source, target = S3Uri.parse(input_uri), S3Uri.parse(output_uri)
        base = source.key[: source.key.rfind("/") + 1]
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=source.bucket, Prefix=source.key)
        keys = sorted(item["Key"] for page in pages for item in page.get("Contents", []) if item["Size"])
        folder = target.key.rstrip("/") + "/" if target.key else ""
        return [f"s3://{target.bucket}/{folder}{key[len(base) :]}{OUTPUT_SUFFIX}" for key in keys]

    def _check_writable(self, job: BatchJob) -> None:
        """Write the side file's header under --output before paying for instances.

        An output the caller cannot write to would otherwise be found only after the job ran
        (when failed records are listed). The file stays, header only, when no record fails.
        """
        side_file = self.join(job.output_uri, ERRORS_FILE)
        try:
            self.write_text(side_file, side_file_text(RecordReport(), job.id_column))
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "error")
            raise ConfigError(
                f"--output {job.output_uri}: cannot write there ({code}), so the job's results could not be "
                "checked; write under the artifacts bucket's batch/ prefix (the batch role's scope)"
            ) from None

    def read_lines(self, uri: str) -> Iterator[str]:
        where = S3Uri.parse(uri)
        body = self.s3.get_object(Bucket=where.bucket, Key=where.key)["Body"]
        for line in body.iter_lines(keepends=False):
            yield line.decode("utf-8", errors="replace").rstrip("\r")

    def write_text(self, uri: str, text: str) -> None:
        where = S3Uri.parse(uri)
        self.s3.put_object(Bucket=where.bucket, Key=where.key, Body=text.encode(), ContentType="text/csv")

    def _call(self, operation: Callable[..., Any], **kwargs: Any) -> Any:
        try:
            return operation(**kwargs)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            if error.get("Code") in SETUP_CODES:
                raise  # `translated` makes it an AwsSetupError
            raise BatchFailed(f"{exc.operation_name}: {error.get('Code', '?')}: {error.get('Message', '')}") from None
