"""Running preprocess → train → evaluate → baseline as a SageMaker Pipeline through boto3 (control plane).

One run: check the AWS setup, stage code, data and schema in S3, create or update the
pipeline from the generated definition (only when it changed), start an execution with this
run's parameters, follow it step by step, then read `evaluation.json` and hash the model
artifact and the baseline files in S3 to build the `PipelineResult`. A failed step raises
`StepFailed` with its FailureReason and log stream, and nothing is registered.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from deploy.config.schema import PipelineConfig
from deploy.errors import StepFailed
from deploy.lineage import git_commit
from deploy.pipeline.data import ResolvedData
from deploy.pipeline.runner import PipelineProgress, PipelineResult, PipelineRunner
from deploy.pipeline.steps import build_steps
from deploy.registry import BASELINE_FILES, baseline_digest
from deploy.sagemaker.billing import billed_jobs
from deploy.sagemaker.definition import Target, build_definition, render
from deploy.sagemaker.execution import WHOLE, ExecutionWatcher, Outcome
from deploy.sagemaker.images import sklearn_image
from deploy.sagemaker.inputs import RunInputs, stage_inputs
from deploy.sagemaker.preflight import Preflight, error_code
from deploy.sagemaker.s3 import ArtifactBucket
from deploy.sagemaker.session import AwsSession, translated
from deploy.sagemaker.settings import Settings
from deploy.sagemaker.stop import run_marker, stop_executions

MODEL_SUFFIX = "/output/model.tar.gz"


def new_run_id() -> str:
    """Sortable and unique: `20250101T120000Z-1a2b3c4d` (also the execution's display name)."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"


def target_for(cfg: PipelineConfig, settings: Settings) -> Target:
    version = cfg.sagemaker.framework_version
    return Target(
        region=settings.region,
        role_arn=settings.role(),
        bucket=settings.artifacts_bucket(),
        prefix=settings.prefix,
        training_image=sklearn_image(settings.region, version, "training"),
        processing_image=sklearn_image(settings.region, version, "training"),
    )


class SageMakerPipeline(PipelineRunner):
    def __init__(
        self,
        session: AwsSession,
        settings: Settings,
        root: Path,
        *,
        preflight: Preflight | None = None,
        watcher: ExecutionWatcher | None = None,
        run_id: Callable[[], str] | None = None,
    ) -> None:
        self.session = session
        self.settings = settings
        self.root = Path(root)
        self.preflight = preflight or Preflight(session, settings)
        self.watcher = watcher
        self.run_id = run_id
        self.sagemaker = session.client("sagemaker")

    def bucket(self) -> ArtifactBucket:
        return ArtifactBucket(self.session.client("s3"), self.settings.artifacts_bucket(), self.settings.prefix)

    @translated
    def run(
        self, cfg: PipelineConfig, data: ResolvedData, overrides: dict[str, str], progress: PipelineProgress
    ) -> PipelineResult:
        self.preflight.check(cfg.registry.model_package_group)
        bucket = self.bucket()
        inputs = stage_inputs(bucket, cfg, data, self.root)
        definition = render(build_definition(cfg, build_steps(cfg, overrides), target_for(cfg, self.settings)))
        self.upsert(cfg, definition)
        run_id = (self.run_id or new_run_id)()
        arn = self.start(cfg, run_id, inputs)
        watcher = self.watcher or ExecutionWatcher(
            self.sagemaker, cfg.sagemaker.poll_seconds, logs=self.session.client("logs")
        )
        outcome = watcher.follow(arn, progress)
        if outcome.status != "Succeeded":
            raise _failure(outcome)
        return self.result(outcome, watcher, run_id, bucket, inputs, data)

    @translated
    def stop(self, cfg: PipelineConfig, marker: str | None) -> list[str]:
        return stop_executions(self.sagemaker, cfg.sagemaker.pipeline_name, marker)

    def upsert(self, cfg: PipelineConfig, definition: str) -> None:
        """Create the pipeline, or update it when its definition or role changed."""
        name, role = cfg.sagemaker.pipeline_name, self.settings.role()
        description = f"{cfg.project}: preprocess → train → evaluate → baseline (config/pipeline.yaml)"
        try:
            current = self.sagemaker.describe_pipeline(PipelineName=name)
        except ClientError as exc:
            if error_code(exc) not in ("ResourceNotFound", "ValidationException"):
                raise
            self.sagemaker.create_pipeline(
                PipelineName=name, PipelineDefinition=definition, RoleArn=role, PipelineDescription=description
            )
            return
        if current.get("PipelineDefinition") != definition or current.get("RoleArn") != role:
            self.sagemaker.update_pipeline(
                PipelineName=name, PipelineDefinition=definition, RoleArn=role, PipelineDescription=description
            )

    def start(self, cfg: PipelineConfig, run_id: str, inputs: RunInputs) -> str:
        parameters = {
            "RunId": run_id,
            "InputData": inputs.data_uri,
            "Schema": inputs.schema_uri,
            "SourceDir": inputs.code.folder_uri,
        }
        response = self.sagemaker.start_pipeline_execution(
            PipelineName=cfg.sagemaker.pipeline_name,
            PipelineExecutionDisplayName=run_id,
            # The run marker lets a cancelled CI job stop exactly the executions it started.
            PipelineExecutionDescription=f"commit {git_commit(self.root)[:40]} {run_marker()}".strip(),
            PipelineParameters=[{"Name": k, "Value": v} for k, v in parameters.items()],
        )
        return response["PipelineExecutionArn"]

    def model_uri(self, outcome: Outcome, watcher: ExecutionWatcher, bucket: ArtifactBucket, run_id: str) -> str:
        """From the training job when the steps were listed, else the run's known S3 prefix."""
        record = (outcome.steps or {}).get("train")
        job = record.job() if record else None
        if job is not None:
            described = watcher.client.describe_training_job(TrainingJobName=job[1].rsplit("/", 1)[-1])
            return described["ModelArtifacts"]["S3ModelArtifacts"]
        found = bucket.find(bucket.uri("runs", run_id, "train") + "/", MODEL_SUFFIX)
        if found is None:
            where = bucket.uri("runs", run_id)
            raise StepFailed("train", f"the execution succeeded but no model.tar.gz is under {where}")
        return found

    def result(
        self,
        outcome: Outcome,
        watcher: ExecutionWatcher,
        run_id: str,
        bucket: ArtifactBucket,
        inputs: RunInputs,
        data: ResolvedData,
    ) -> PipelineResult:
        model_uri = self.model_uri(outcome, watcher, bucket, run_id)
        evaluation_uri = bucket.uri("runs", run_id, "evaluate", "evaluation", "evaluation.json")
        try:
            evaluation = bucket.read_json(evaluation_uri)
        except ClientError as exc:
            raise StepFailed("evaluate", f"{evaluation_uri}: {error_code(exc)}") from None
        baselines = {n: bucket.uri("runs", run_id, "baseline", "baseline", f"{n}.json") for n in BASELINE_FILES}
        try:
            digests = {name: bucket.sha256(uri) for name, uri in baselines.items()}
        except ClientError as exc:
            raise StepFailed("baseline", f"{bucket.uri('runs', run_id, 'baseline')}: {error_code(exc)}") from None
        steps = outcome.steps or {}
        timings = {name: r.seconds() for name, r in steps.items()} if steps else {WHOLE: outcome.seconds}
        lineage: dict[str, Any] = {
            "pipeline_execution_arn": outcome.arn,
            "run_id": run_id,
            "evaluation_uri": evaluation_uri,
            "sourcedir_uri": inputs.sourcedir_uri,
            "data_uri": inputs.data_uri,
            "baseline_digest": baseline_digest(digests),
        }
        return PipelineResult(
            evaluation=evaluation,
            timings=timings,
            sha256=bucket.sha256(model_uri),
            artifact_uri=model_uri,
            data_digest=data.digest,
            baseline_uris=baselines,
            extra_lineage=lineage,
            jobs=billed_jobs(watcher.client, steps),
        )


def _failure(outcome: Outcome) -> StepFailed:
    for step, (reason, log) in outcome.failures.items():
        if step != WHOLE:
            return StepFailed(step, reason, log=log or None)
    reason = outcome.failure_reason or f"execution {outcome.status.lower()}"
    return StepFailed(WHOLE, f"{reason} ({outcome.arn})")
