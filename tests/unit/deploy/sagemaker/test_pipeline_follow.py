"""The follow loop on its own: step events, the listing seam, failure details, error translation."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from deploy.errors import StepFailed
from deploy.sagemaker import pipeline as pipeline_module
from deploy.sagemaker.execution import ExecutionWatcher, StepListing
from deploy.sagemaker.pipeline import SageMakerPipeline

from .conftest import ACCOUNT, REGION
from .test_pipeline import RUN, T0, Recorder, backend_for, job_arn, observer, step


def test_failure_without_a_log_stream_names_its_pattern(sm_repo: Path) -> None:
    backend = backend_for(sm_repo)
    polls = [("Failed", [step("preprocess", "Failed", 0, FailureReason="ClientError: no data")])]
    client, stub = observer(backend, polls)
    name = "pipelines-abc123-preprocess"
    stub.add_response(
        "describe_processing_job",
        {
            "ProcessingJobName": name,
            "ProcessingJobArn": job_arn("processing-job", name),
            "ProcessingJobStatus": "Failed",
            "FailureReason": "AlgorithmError: See job logs for more information",
            "ExitMessage": "data error: no CSV or Parquet file in /opt/ml/processing/input/raw\n",
            "ProcessingResources": {
                "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 30}
            },
            "AppSpecification": {"ImageUri": "image"},
            "CreationTime": T0,
        },
        {"ProcessingJobName": name},
    )
    runner = SageMakerPipeline(
        backend.session(),
        backend.settings,
        sm_repo,
        watcher=ExecutionWatcher(client, 0, sleep=lambda _: None),
        run_id=lambda: RUN,
    )
    data = backend.resolve_data(backend.pipeline.data.model_copy(update={"source": "data.csv"}))
    with pytest.raises(StepFailed) as failure:
        runner.run(backend.pipeline, data, {}, Recorder())
    assert failure.value.step == "preprocess"
    assert "See job logs" in failure.value.reason and "no CSV or Parquet file" in failure.value.reason
    assert failure.value.log == f"/aws/sagemaker/ProcessingJobs {name}/algo-1-*"


def test_listing_degrades_to_none_where_the_api_is_missing(mocked_aws: None) -> None:
    listing = StepListing(boto3.client("sagemaker", region_name=REGION))
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/p/execution/x"
    assert listing(arn) is None and listing.supported is False


def test_follow_polls_until_the_execution_ends(mocked_aws: None) -> None:
    statuses = iter(["Executing", "Executing", "Succeeded"])
    sleeps: list[float] = []

    class Client:
        def describe_pipeline_execution(self, PipelineExecutionArn: str) -> dict[str, str]:
            return {"PipelineExecutionStatus": next(statuses)}

    listings = iter([[], [step("preprocess", "Executing", 0)], [step("preprocess", "Succeeded", 0)]])
    from deploy.sagemaker.execution import StepRecord

    watcher = ExecutionWatcher(
        Client(), 0.5, listing=lambda _: [StepRecord.from_api(i) for i in next(listings)], sleep=sleeps.append
    )
    progress = Recorder()
    outcome = watcher.follow("arn", progress)
    assert outcome.status == "Succeeded" and sleeps == [0.5, 0.5]
    assert progress.events == [("started", "preprocess"), ("finished", "preprocess")]
    assert outcome.steps is not None and outcome.steps["preprocess"].seconds() == 240.0


def test_pipeline_module_run_id_is_sortable() -> None:
    first, second = pipeline_module.new_run_id(), pipeline_module.new_run_id()
    assert first != second and len(first) == len(second) == 25


def test_access_denied_and_expired_sessions_are_setup_errors() -> None:
    from botocore.exceptions import ClientError

    from deploy.errors import AwsSetupError
    from deploy.sagemaker.session import translated

    @translated
    def create() -> None:
        error = {
            "Error": {
                "Code": "ExpiredTokenException",
                "Message": "The security token included in the request is expired",
            }
        }
        raise ClientError(error, "CreatePipeline")

    with pytest.raises(AwsSetupError, match="AWS refused CreatePipeline: ExpiredTokenException"):
        create()
