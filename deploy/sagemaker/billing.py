"""What each job of a pipeline execution was billed for: instance type and count, billed seconds, spot (control plane).

Read from DescribeTrainingJob (`BillableTimeInSeconds`, which is what spot training is charged
for, against `TrainingTimeInSeconds`) and DescribeProcessingJob (start to end). The promotion
report prices these; a job that cannot be described is left out rather than failing the
registration of a model that trained fine.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from deploy.sagemaker.execution import StepRecord


def billed_jobs(client: Any, steps: dict[str, StepRecord]) -> dict[str, dict[str, Any]]:
    """`{step: {"use", "instance_type", "instance_count", "billed_seconds", "run_seconds", "spot"}}`."""
    jobs: dict[str, dict[str, Any]] = {}
    for name, record in steps.items():
        job = record.job()
        if job is None:
            continue
        kind, arn = job
        try:
            described = _describe(client, kind, arn.rsplit("/", 1)[-1])
        except ClientError:
            continue
        if described is not None:
            jobs[name] = described
    return jobs


def _describe(client: Any, kind: str, name: str) -> dict[str, Any] | None:
    if kind == "TrainingJob":
        job = client.describe_training_job(TrainingJobName=name)
        resources = job["ResourceConfig"]
        ran = float(job.get("TrainingTimeInSeconds") or 0)
        return {
            "use": "training",
            "instance_type": resources["InstanceType"],
            "instance_count": resources.get("InstanceCount", 1),
            "billed_seconds": float(job.get("BillableTimeInSeconds") or ran),
            "run_seconds": ran,
            "spot": bool(job.get("EnableManagedSpotTraining")),
        }
    if kind == "ProcessingJob":
        job = client.describe_processing_job(ProcessingJobName=name)
        cluster = job["ProcessingResources"]["ClusterConfig"]
        began, ended = job.get("ProcessingStartTime"), job.get("ProcessingEndTime")
        seconds = round((ended - began).total_seconds(), 3) if began and ended else 0.0
        return {
            "use": "processing",
            "instance_type": cluster["InstanceType"],
            "instance_count": cluster.get("InstanceCount", 1),
            "billed_seconds": seconds,
            "run_seconds": seconds,
            "spot": False,
        }
    return None
