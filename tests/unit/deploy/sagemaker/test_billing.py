"""The billed jobs of a pipeline execution, read from the job descriptions (Stubber, strictly validated)."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
from botocore.stub import Stubber

from deploy.sagemaker.billing import billed_jobs
from deploy.sagemaker.execution import StepRecord

ARN = "arn:aws:sagemaker:eu-west-1:123456789012"
START = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def step(name: str, kind: str, job: str) -> StepRecord:
    return StepRecord(name, "Succeeded", metadata={kind: {"Arn": f"{ARN}:{kind.replace('Job', '-job').lower()}/{job}"}})


def training(spot: bool) -> dict:
    return {
        "TrainingJobName": "pipelines-abc-train-1", "TrainingJobArn": f"{ARN}:training-job/pipelines-abc-train-1",
        "ModelArtifacts": {"S3ModelArtifacts": "s3://b/model.tar.gz"}, "TrainingJobStatus": "Completed",
        "SecondaryStatus": "Completed", "AlgorithmSpecification": {"TrainingInputMode": "File"},
        "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600}, "CreationTime": START,
        "TrainingTimeInSeconds": 720, "BillableTimeInSeconds": 216 if spot else 720,
        "EnableManagedSpotTraining": spot,
    }  # fmt: skip


def processing() -> dict:
    return {
        "ProcessingJobName": "pipelines-abc-evaluate-1",
        "ProcessingJobArn": f"{ARN}:processing-job/pipelines-abc-evaluate-1",
        "ProcessingResources": {"ClusterConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 2,
                                                  "VolumeSizeInGB": 30}},
        "AppSpecification": {"ImageUri": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/sklearn:1.9-0"},
        "ProcessingJobStatus": "Completed", "CreationTime": START,
        "ProcessingStartTime": START, "ProcessingEndTime": datetime(2026, 12, 1, 12, 1, 35, tzinfo=UTC),
    }  # fmt: skip


def test_training_bills_its_billable_seconds_and_processing_its_run(aws_env: dict[str, str]) -> None:
    client = boto3.client("sagemaker", region_name="eu-west-1")
    steps = {
        "train": step("train", "TrainingJob", "pipelines-abc-train-1"),
        "evaluate": step("evaluate", "ProcessingJob", "pipelines-abc-evaluate-1"),
        "register": StepRecord("register", "Succeeded"),  # no job behind it
    }
    with Stubber(client) as stub:
        stub.add_response("describe_training_job", training(spot=True), {"TrainingJobName": "pipelines-abc-train-1"})
        stub.add_response("describe_processing_job", processing(), {"ProcessingJobName": "pipelines-abc-evaluate-1"})
        jobs = billed_jobs(client, steps)
        stub.assert_no_pending_responses()
    assert jobs == {
        "train": {"use": "training", "instance_type": "ml.m5.xlarge", "instance_count": 1,
                  "billed_seconds": 216.0, "run_seconds": 720.0, "spot": True},
        "evaluate": {"use": "processing", "instance_type": "ml.m5.large", "instance_count": 2,
                     "billed_seconds": 95.0, "run_seconds": 95.0, "spot": False},
    }  # fmt: skip


def test_a_job_that_cannot_be_described_is_left_out(aws_env: dict[str, str]) -> None:
    client = boto3.client("sagemaker", region_name="eu-west-1")
    with Stubber(client) as stub:
        stub.add_client_error("describe_training_job", "AccessDeniedException", "not allowed")
        assert billed_jobs(client, {"train": step("train", "TrainingJob", "pipelines-abc-train-1")}) == {}
