"""Following a pipeline execution until it ends, one progress event per step change (control plane).

Each poll reads `DescribePipelineExecution` and, through `StepListing`,
`ListPipelineExecutionSteps`. Where the listing API does not exist (moto, or an endpoint
that answers it with 500/NotImplemented) the listing reports `None` and the watcher degrades
to following the execution as one unit named `pipeline`; the runner then finds the outputs
at their known S3 locations. Tests inject a listing or a stubbed client through the
constructor instead of sleeping: the poll interval is `sagemaker.poll_seconds`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from deploy.pipeline.runner import PipelineProgress

TERMINAL = frozenset({"Succeeded", "Failed", "Stopped"})
UNSUPPORTED_CODES = frozenset({"NotImplemented", "UnknownOperationException", "InternalFailure", "500", "501"})
LOG_GROUPS = {"TrainingJob": "/aws/sagemaker/TrainingJobs", "ProcessingJob": "/aws/sagemaker/ProcessingJobs"}
WHOLE = "pipeline"  # the one unit shown when steps cannot be listed


@dataclass(frozen=True)
class StepRecord:
    name: str
    status: str
    started: datetime | None = None
    ended: datetime | None = None
    failure_reason: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_api(cls, item: dict[str, Any]) -> StepRecord:
        return cls(
            name=item["StepName"],
            status=item.get("StepStatus", "Starting"),
            started=item.get("StartTime"),
            ended=item.get("EndTime"),
            failure_reason=item.get("FailureReason", ""),
            metadata=item.get("Metadata", {}),
        )

    def job(self) -> tuple[str, str] | None:
        """(kind, arn) of the training or processing job behind this step."""
        for kind in LOG_GROUPS:
            arn = self.metadata.get(kind, {}).get("Arn")
            if arn:
                return kind, arn
        return None

    def seconds(self) -> float:
        if self.started is None or self.ended is None:
            return 0.0
        return round((self.ended - self.started).total_seconds(), 3)


@dataclass
class Outcome:
    arn: str
    status: str
    failure_reason: str
    seconds: float
    steps: dict[str, StepRecord] | None  # None: the listing API was unavailable
    failures: dict[str, tuple[str, str]] = field(default_factory=dict)  # step -> (reason, log)


class StepListing:
    """`ListPipelineExecutionSteps`, oldest step first; `None` once the API proves unavailable."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.supported = True

    def __call__(self, execution_arn: str) -> list[StepRecord] | None:
        if not self.supported:
            return None
        try:
            items = [
                item
                for page in self.client.get_paginator("list_pipeline_execution_steps").paginate(
                    PipelineExecutionArn=execution_arn, SortOrder="Ascending"
                )
                for item in page.get("PipelineExecutionSteps", [])
            ]
        except NotImplementedError:
            self.supported = False
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in UNSUPPORTED_CODES:
                raise
            self.supported = False
        return [StepRecord.from_api(i) for i in items] if self.supported else None


class ExecutionWatcher:
    def __init__(
        self,
        client: Any,
        poll_seconds: float,
        *,
        listing: Callable[[str], list[StepRecord] | None] | None = None,
        logs: Any = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.poll_seconds = poll_seconds
        self.listing = listing or StepListing(client)
        self.logs = logs
        self.sleep = sleep

    def follow(self, arn: str, progress: PipelineProgress) -> Outcome:
        started = time.monotonic()
        shown: dict[str, str] = {}
        outcome = Outcome(arn, "Executing", "", 0.0, None)
        while True:
            execution = self.client.describe_pipeline_execution(PipelineExecutionArn=arn)
            outcome.status = execution["PipelineExecutionStatus"]
            outcome.failure_reason = execution.get("FailureReason") or ""
            outcome.seconds = round(time.monotonic() - started, 3)
            records = self.listing(arn)
            if records is None:
                self._show_whole(outcome, shown, progress)
            else:
                outcome.steps = {r.name: r for r in records}
                for record in records:
                    self._show_step(record, shown, progress, outcome)
            if outcome.status in TERMINAL:
                return outcome
            self.sleep(self.poll_seconds)

    def _show_step(self, record: StepRecord, shown: dict[str, str], progress: PipelineProgress, out: Outcome) -> None:
        before = shown.get(record.name)
        if before == record.status:
            return
        shown[record.name] = record.status
        if before is None:
            job = record.job()
            progress.step_started(record.name, job[1].rsplit("/", 1)[-1] if job else record.status)
        if record.status == "Succeeded":
            progress.step_finished(record.name, record.seconds())
        elif record.status in ("Failed", "Stopped"):
            reason, log = self.explain(record)
            out.failures[record.name] = (reason, log)
            progress.step_failed(record.name, f"{reason} (log: {log})" if log else reason)
        elif before is not None:
            progress.step_output(record.name, f"status {before} → {record.status}")

    def _show_whole(self, outcome: Outcome, shown: dict[str, str], progress: PipelineProgress) -> None:
        if WHOLE not in shown:
            progress.step_started(WHOLE, f"{outcome.arn} (no step listing here: following the execution)")
        if shown.get(WHOLE) == outcome.status:
            return
        shown[WHOLE] = outcome.status
        if outcome.status == "Succeeded":
            progress.step_finished(WHOLE, outcome.seconds)
        elif outcome.status in TERMINAL:
            outcome.failures[WHOLE] = (outcome.failure_reason or outcome.status.lower(), "")
            progress.step_failed(WHOLE, outcome.failure_reason or outcome.status.lower())

    def explain(self, record: StepRecord) -> tuple[str, str]:
        """(FailureReason with the container's exit message, CloudWatch log group and stream)."""
        job = record.job()
        if job is None:
            return record.failure_reason or record.status.lower(), ""
        kind, arn = job
        name = arn.rsplit("/", 1)[-1]
        describe = self.client.describe_training_job if kind == "TrainingJob" else self.client.describe_processing_job
        try:
            details = describe(**{f"{kind}Name": name})
        except (ClientError, BotoCoreError):
            details = {}
        parts = [details.get("FailureReason") or record.failure_reason, details.get("ExitMessage", "").strip()]
        reason = " | ".join(dict.fromkeys(p for p in parts if p)) or record.status.lower()
        return reason, f"{LOG_GROUPS[kind]} {self.log_stream(LOG_GROUPS[kind], name)}"

    def log_stream(self, group: str, job_name: str) -> str:
        """The job's first log stream (`<job>/algo-1-<epoch>`), or its name pattern if it cannot be listed."""
        if self.logs is not None:
            try:
                found = self.logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=f"{job_name}/")
                if found.get("logStreams"):
                    return found["logStreams"][0]["logStreamName"]
            except (ClientError, BotoCoreError):
                pass  # best effort: the pattern below still names the stream
        return f"{job_name}/algo-1-*"
