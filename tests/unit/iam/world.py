"""An AWS account as the bootstrap stack leaves it, in moto, where workflow jobs run their commands (test side).

`World` creates what the stack's outputs name (bucket, model package group, execution
role), sets the variables the workflows pass (`AWS_REGION`, `SAGEMAKER_ROLE_ARN`,
`MLOPS_BUCKET`), and plays the parts of SageMaker that moto does not: a pipeline execution
that runs its steps (jobs named `pipelines-<execution>-<step>-<suffix>`, outputs written
to S3), UpdateEndpoint switching the live endpoint config, and an endpoint that answers
the smoke test's payloads. `run(job)` runs a job's `mlops` commands in order, as the
workflow does (step outputs passed on, allowed exit codes checked), while recording.
"""

from __future__ import annotations

import io
import json
import os
import re
import tarfile
from pathlib import Path
from typing import Any

import boto3
from botocore.response import StreamingBody

from deploy.bootstrap.template import Target
from deploy.cli.app import main

from .jobs import Command, Job
from .recorder import Call, CallRecorder

EVALUATION = {
    "binary_classification_metrics": {"auc": {"value": 0.9}, "f1": {"value": 0.7}, "accuracy": {"value": 0.8}}
}
POOR = {"binary_classification_metrics": {"auc": {"value": 0.6}, "f1": {"value": 0.4}, "accuracy": {"value": 0.6}}}
STEP_OUTPUT = re.compile(r"@steps\.([\w-]+)\.outputs\.([\w-]+)@")


class World:
    def __init__(self, recorder: CallRecorder, root: Path, outputs: dict[str, str], target: Target, tmp: Path) -> None:
        self.recorder, self.root, self.outputs, self.tmp = recorder, root, outputs, tmp
        self.region, self.account = target.region, target.account
        region = target.region
        self.bucket = outputs["ArtifactsBucketName"]
        self.evaluation: dict[str, Any] = EVALUATION
        self.runs: dict[str, str] = {}  # training job name → run id
        self.failing_step: str | None = None  # a step that fails in the next execution
        self.expect_exit: int | None = None  # the job's step fails with this exit code, and the job stops
        self.s3 = boto3.client("s3", region_name=region)
        self.sagemaker = boto3.client("sagemaker", region_name=region)
        self.s3.create_bucket(Bucket=self.bucket, CreateBucketConfiguration={"LocationConstraint": region})
        self.sagemaker.create_model_package_group(ModelPackageGroupName=outputs["ModelPackageGroupName"])
        recorder.script("sagemaker", "ListPipelineExecutionSteps", self._steps)
        recorder.script("sagemaker", "DescribeTrainingJob", self._training_job)
        recorder.script("sagemaker", "DescribeProcessingJob", self._processing_job)
        recorder.script("sagemaker", "DescribePipelineExecution", self._execution)
        recorder.script("sagemaker", "UpdateEndpoint", self._update_endpoint)
        recorder.script("sagemaker-runtime", "InvokeEndpoint", self._invoke)

    def environment(self) -> dict[str, str]:
        """The job-level `env:` every AWS job of the workflows sets."""
        return {
            "MLOPS_BACKEND": "sagemaker",
            "AWS_REGION": self.outputs["Region"],
            "SAGEMAKER_ROLE_ARN": self.outputs["SageMakerExecutionRoleArn"],
            "MLOPS_BUCKET": self.bucket,
        }

    # ------------------------------------------------------------ running jobs

    def run(self, job: Job) -> list[Call]:
        """Run the job's commands in order, recording; the calls they made."""
        outputs: dict[str, dict[str, str]] = {}
        start = len(self.recorder.calls)
        for command in job.commands:
            argv = [STEP_OUTPUT.sub(lambda m: outputs.get(m.group(1), {}).get(m.group(2), ""), a) for a in command.argv]
            argv = [
                a.replace("@RUNNER_TEMP@", str(self.tmp)).replace("@GITHUB_WORKSPACE@", str(self.root)) for a in argv
            ]
            code = self._invoke_cli(command, argv, outputs)
            # 9 (gate said no) and 10 (changes found) are outcomes a job reports, not a broken path.
            if code == self.expect_exit:
                break  # the workflow stops at a failed step
            if code not in (*command.allowed, 9, 10):
                raise AssertionError(f"{job.label}: mlops {' '.join(argv)} exited {code} (allowed {command.allowed})")
        return self.recorder.calls[start:]

    def _invoke_cli(self, command: Command, argv: list[str], outputs: dict[str, dict[str, str]]) -> int:
        output_file = self.tmp / f"github-output-{len(outputs)}-{command.step_id}"
        output_file.write_text("")
        os.environ["GITHUB_OUTPUT"] = str(output_file)
        try:
            with self.recorder.recording():
                code = main(argv)
        finally:
            del os.environ["GITHUB_OUTPUT"]
        lines = output_file.read_text().splitlines()
        outputs.setdefault(command.step_id, {}).update(line.split("=", 1) for line in lines if "=" in line)
        return code

    # ------------------------------------------------------- SageMaker's part

    def _quietly(self, func: Any, **kwargs: Any) -> Any:
        """A call the service makes on its own (not the job): never recorded."""
        active, self.recorder.active = self.recorder.active, False
        try:
            return func(**kwargs)
        finally:
            self.recorder.active = active

    def _run_id(self, execution_arn: str) -> str:
        """The run id the execution was started with (its display name names the outputs)."""
        described = self._quietly(self.sagemaker.describe_pipeline_execution, PipelineExecutionArn=execution_arn)
        return described["PipelineExecutionDisplayName"]

    @staticmethod
    def job_name(execution_arn: str, step: str) -> str:
        return f"pipelines-{execution_arn.rsplit('/', 1)[-1]}-{step}-a1b2c3d4e5"

    def _steps(self, params: dict[str, Any]) -> dict[str, Any]:
        """All three steps succeeded; their outputs are in S3, where the jobs would have written them."""
        execution = params["PipelineExecutionArn"]
        run = self._run_id(execution)
        self.runs[self.job_name(execution, "train")] = run
        prefix = f"mlops/runs/{run}"
        model_key = f"{prefix}/train/{self.job_name(execution, 'train')}/output/model.tar.gz"
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
            info = tarfile.TarInfo("model.joblib")
            info.size = len(run)
            tar.addfile(info, io.BytesIO(run.encode()))
        self._quietly(self.s3.put_object, Bucket=self.bucket, Key=model_key, Body=buffer.getvalue())
        evaluation = json.dumps(self.evaluation).encode()
        key = f"{prefix}/evaluate/evaluation/evaluation.json"
        self._quietly(self.s3.put_object, Bucket=self.bucket, Key=key, Body=evaluation)
        arn = f"arn:aws:sagemaker:{self.region}:{self.account}"
        steps = []
        for step, kind in [("preprocess", "ProcessingJob"), ("train", "TrainingJob"), ("evaluate", "ProcessingJob")]:
            resource = "training-job" if kind == "TrainingJob" else "processing-job"
            job = f"{arn}:{resource}/{self.job_name(execution, step)}"
            if step == self.failing_step:
                steps.append(
                    {
                        "StepName": step,
                        "StepStatus": "Failed",
                        "FailureReason": "AlgorithmError: bad data",
                        "Metadata": {kind: {"Arn": job}},
                    }
                )
                break
            steps.append({"StepName": step, "StepStatus": "Succeeded", "Metadata": {kind: {"Arn": job}}})
        return {"PipelineExecutionSteps": steps}

    def _training_job(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["TrainingJobName"]
        model = f"s3://{self.bucket}/mlops/runs/{self.runs[name]}/train/{name}/output/model.tar.gz"
        return {
            "TrainingJobName": name,
            "TrainingJobArn": f"arn:aws:sagemaker:{self.region}:{self.account}:training-job/{name}",
            "ModelArtifacts": {"S3ModelArtifacts": model},
            "TrainingJobStatus": "Completed",
            "SecondaryStatus": "Completed",
            "AlgorithmSpecification": {"TrainingInputMode": "File"},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 30},
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
            "CreationTime": "2026-01-01T00:00:00Z",
        }

    def _processing_job(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["ProcessingJobName"]
        return {
            "ProcessingJobName": name,
            "ProcessingJobArn": f"arn:aws:sagemaker:{self.region}:{self.account}:processing-job/{name}",
            "ProcessingJobStatus": "Failed",
            "FailureReason": "AlgorithmError: bad data",
            "ExitMessage": "column 'age' has values below 18",
            "ProcessingResources": {
                "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 30}
            },
            "AppSpecification": {"ImageUri": "image"},
            "RoleArn": self.outputs["SageMakerExecutionRoleArn"],
            "CreationTime": "2026-01-01T00:00:00Z",
        }

    def _execution(self, params: dict[str, Any]) -> dict[str, Any] | None:
        """moto's answer, except that the execution failed when a step is set to fail."""
        if not self.failing_step:
            return None
        from moto.sagemaker.models import sagemaker_backends

        arn = params["PipelineExecutionArn"]
        described = sagemaker_backends[self.account][self.region].describe_pipeline_execution(arn)
        return {
            "PipelineExecutionArn": arn,
            "PipelineExecutionDisplayName": described["PipelineExecutionDisplayName"],
            "PipelineExecutionStatus": "Failed",
            "FailureReason": f"step {self.failing_step} failed",
        }

    def _update_endpoint(self, params: dict[str, Any]) -> dict[str, Any]:
        """The blue/green update succeeds at once: the endpoint serves the new config."""
        from moto.sagemaker.models import sagemaker_backends

        backend = sagemaker_backends[self.account][self.region]
        endpoint = backend.endpoints[params["EndpointName"]]
        config = backend.endpoint_configs[params["EndpointConfigName"]]
        endpoint.endpoint_config_name = params["EndpointConfigName"]
        endpoint.production_variants = endpoint._process_production_variants(config.production_variants)
        return {"EndpointArn": endpoint.arn}

    def _invoke(self, params: dict[str, Any]) -> dict[str, Any]:
        body = params["Body"]
        body = body if isinstance(body, bytes) else body.encode()
        if params["ContentType"] == "application/json":
            rows = len(json.loads(body)["instances"])
        else:
            rows = len([line for line in body.splitlines() if line.strip()])
        data = json.dumps({"predictions": [{"label": 0, "probability": 0.25}] * rows}).encode()
        return {"Body": StreamingBody(io.BytesIO(data), len(data)), "ContentType": "application/json"}


class MotoLookup:
    """`implied.Lookup` over moto's state after the job, asked quietly (the service, not the job, reads it)."""

    def __init__(self, world: World) -> None:
        self.world = world

    def pipeline(self, name: str) -> dict[str, Any]:
        return self.world._quietly(self.world.sagemaker.describe_pipeline, PipelineName=name)

    def execution(self, arn: str) -> dict[str, Any]:
        return self.world._quietly(self.world.sagemaker.describe_pipeline_execution, PipelineExecutionArn=arn)

    def endpoint_config(self, name: str) -> dict[str, Any]:
        return self.world._quietly(self.world.sagemaker.describe_endpoint_config, EndpointConfigName=name)

    def model(self, name: str) -> dict[str, Any]:
        return self.world._quietly(self.world.sagemaker.describe_model, ModelName=name)

    def package(self, arn: str) -> dict[str, Any]:
        return self.world._quietly(self.world.sagemaker.describe_model_package, ModelPackageName=arn)
