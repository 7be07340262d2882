"""An AWS account as the bootstrap stack leaves it, in moto, where workflow jobs run their commands (test side).

`World` creates what the stack's outputs name (bucket, model package group, execution
role), sets the variables the workflows pass (`AWS_REGION`, `SAGEMAKER_ROLE_ARN`,
`MLOPS_BUCKET`), and plays the parts of SageMaker that moto does not: a pipeline execution
that runs its steps (jobs named `pipelines-<execution>-<step>-<suffix>`, outputs written
to S3), UpdateEndpoint switching the live endpoint config, and an endpoint that answers
the smoke test's payloads, Batch Transform (`BatchService`) and the monitor's Processing
job (`MonitorService`). `run(job)` runs a job's
`mlops` commands in order, as the workflow does (step outputs passed on, allowed exit codes checked), while recording.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import boto3
from botocore.response import StreamingBody

from deploy.bootstrap.template import Target
from deploy.cli.app import main

from .batch_service import BatchService
from .jobs import Command, Job
from .monitor_service import MonitorService
from .recorder import Call, CallRecorder

EVALUATION = {
    "binary_classification_metrics": {"auc": {"value": 0.9}, "f1": {"value": 0.7}, "accuracy": {"value": 0.8}},
    # The evaluate step's permutation importance: registered as the package's explainability report.
    "feature_importance": {"method": "permutation", "metric": "auc", "repeats": 5, "rows": 300,
                           "features": {"contract": {"mean": 0.08, "std": 0.002, "rank": 1}}},
}  # fmt: skip
POOR = {"binary_classification_metrics": {"auc": {"value": 0.6}, "f1": {"value": 0.4}, "accuracy": {"value": 0.6}}}
GITHUB_ONLY = {"issue"}  # `mlops issue report` talks to the GitHub API only, never to AWS
STEP_OUTPUT = re.compile(r"@steps\.([\w-]+)\.outputs\.([\w-]+)@")


class World(BatchService, MonitorService):
    def __init__(self, recorder: CallRecorder, root: Path, outputs: dict[str, str], target: Target, tmp: Path) -> None:
        self.recorder, self.root, self.outputs, self.tmp = recorder, root, outputs, tmp
        self.region, self.account = target.region, target.account
        region = target.region
        self.bucket = outputs["ArtifactsBucketName"]
        self.evaluation: dict[str, Any] = EVALUATION
        self.runs: dict[str, str] = {}  # training job name → run id
        self.failing_step: str | None = None  # a step that fails in the next execution
        self.expect_exit: int | None = None  # the job's step fails with this exit code, and the job stops
        self.cancel_while_running = False  # the job is cancelled while its pipeline runs
        self.dispatch: dict[str, str] | None = None  # a manual run's inputs (None: the push's commands)
        self.s3 = boto3.client("s3", region_name=region)
        self.sagemaker = boto3.client("sagemaker", region_name=region)
        self.s3.create_bucket(Bucket=self.bucket, CreateBucketConfiguration={"LocationConstraint": region})
        self.sagemaker.create_model_package_group(ModelPackageGroupName=outputs["ModelPackageGroupName"])
        recorder.script("sagemaker", "ListPipelineExecutionSteps", self._steps)
        recorder.script("sagemaker", "DescribeTrainingJob", self._training_job)
        recorder.script("sagemaker", "DescribeProcessingJob", self._processing_job)
        recorder.script("sagemaker", "DescribePipelineExecution", self._execution)
        recorder.script("sagemaker", "UpdateEndpoint", self._update_endpoint)
        recorder.script("sagemaker", "StopPipelineExecution", self._stop_execution)
        recorder.script("sagemaker-runtime", "InvokeEndpoint", self._invoke)
        self.install_batch()
        self.install_monitor()

    def environment(self) -> dict[str, str]:
        """The job-level `env:` every AWS job of the workflows sets."""
        return {
            "MLOPS_BACKEND": "sagemaker",
            "AWS_REGION": self.outputs["Region"],
            "SAGEMAKER_ROLE_ARN": self.outputs["SageMakerExecutionRoleArn"],
            "MLOPS_BUCKET": self.bucket,
            "GITHUB_RUN_ID": "4242",  # marks the executions this run starts (`mlops pipeline stop`)
        }

    # ------------------------------------------------------------ running jobs

    def run(self, job: Job) -> list[Call]:
        """Run the job's commands in order, as the runner would, recording; the calls they made."""
        self.publish()
        outputs: dict[str, dict[str, str]] = {}
        start, failed = len(self.recorder.calls), False
        commands = job.commands if self.dispatch is None else job.dispatched(self.dispatch)
        for command in commands:
            if not self._should_run(command, outputs, failed) or command.argv[0] in GITHUB_ONLY:
                continue
            argv = self._argv(command, outputs)
            code = self._invoke_cli(command, argv, outputs)
            if failed:
                continue
            if code == self.expect_exit:
                failed = True  # the runner now skips the steps that need success
            # 9 (gate said no) and 10 (changes found) are outcomes a job reports, not a broken path.
            elif code not in (*command.allowed, 9, 10):
                raise AssertionError(f"{job.label}: mlops {' '.join(argv)} exited {code} (allowed {command.allowed})")
        return self.recorder.calls[start:]

    def _argv(self, command: Command, outputs: dict[str, dict[str, str]]) -> list[str]:
        """The command line with earlier steps' outputs and the runner's paths filled in."""
        argv = [STEP_OUTPUT.sub(lambda m: outputs.get(m.group(1), {}).get(m.group(2), ""), a) for a in command.argv]
        return [a.replace("@RUNNER_TEMP@", str(self.tmp)).replace("@GITHUB_WORKSPACE@", str(self.root)) for a in argv]

    @staticmethod
    def _should_run(command: Command, outputs: dict[str, dict[str, str]], failed: bool) -> bool:
        """The step's `if:` for the conditions the workflows use; no `if:` means "on success"."""
        condition = command.condition
        if "failure()" in condition or "cancelled()" in condition:
            return failed
        if failed:
            return "always()" in condition
        for step, name, value in re.findall(r"steps\.([\w-]+)\.outputs\.([\w-]+) == '([^']*)'", condition):
            if outputs.get(step, {}).get(name) != value:
                return False
        return True

    def publish(self) -> None:
        """Commit the working tree and call it origin/main: what `--require-current origin/main` compares with."""
        git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
        if not (self.root / ".git").exists():
            subprocess.run([*git, "init", "-q", "-b", "main"], cwd=self.root, check=True)
        subprocess.run([*git, "add", "-A"], cwd=self.root, check=True)
        subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "state"], cwd=self.root, check=True)
        subprocess.run([*git, "update-ref", "refs/remotes/origin/main", "HEAD"], cwd=self.root, check=True)

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
        """Every step succeeded; their outputs are in S3, where the jobs would have written them."""
        execution = params["PipelineExecutionArn"]
        if self.cancel_while_running:
            self._moto_execution(execution).pipeline_execution_status = "Executing"
            raise KeyboardInterrupt  # what the runner's cancellation does to the step
        run = self._run_id(execution)
        self.runs[self.job_name(execution, "train")] = run
        prefix = f"mlops/runs/{run}"
        model_key = f"{prefix}/train/{self.job_name(execution, 'train')}/output/model.tar.gz"
        self._quietly(self.s3.put_object, Bucket=self.bucket, Key=model_key, Body=self.model_archive(run))
        evaluation = json.dumps(self.evaluation).encode()
        key = f"{prefix}/evaluate/evaluation/evaluation.json"
        self._quietly(self.s3.put_object, Bucket=self.bucket, Key=key, Body=evaluation)
        for name in ("statistics", "constraints"):
            key = f"{prefix}/baseline/baseline/{name}.json"
            self._quietly(self.s3.put_object, Bucket=self.bucket, Key=key, Body=b'{"version": 0.0, "features": []}')
        arn = f"arn:aws:sagemaker:{self.region}:{self.account}"
        steps = []
        kinds = {"preprocess": "ProcessingJob", "train": "TrainingJob", "evaluate": "ProcessingJob"}
        for step, kind in [*kinds.items(), ("baseline", "ProcessingJob")]:
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

    def _processing_job(self, params: dict[str, Any]) -> dict[str, Any] | None:
        name = params["ProcessingJobName"]
        if not name.startswith("pipelines-"):
            return None  # the monitor's job, which moto calls Completed
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

    def _moto_execution(self, arn: str) -> Any:
        from moto.sagemaker.models import sagemaker_backends
        from moto.sagemaker.utils import get_pipeline_execution_from_arn

        return get_pipeline_execution_from_arn(sagemaker_backends[self.account][self.region].pipelines, arn)

    def _stop_execution(self, params: dict[str, Any]) -> dict[str, Any]:
        """moto has no StopPipelineExecution: the execution is stopping."""
        self._moto_execution(params["PipelineExecutionArn"]).pipeline_execution_status = "Stopping"
        return {"PipelineExecutionArn": params["PipelineExecutionArn"]}

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

    def objects(self, uri: str) -> list[str]:
        bucket, _, prefix = uri.removeprefix("s3://").partition("/")
        listed = self.world._quietly(self.world.s3.list_objects_v2, Bucket=bucket, Prefix=prefix)
        return [f"s3://{bucket}/{item['Key']}" for item in listed.get("Contents", [])]

    def text(self, uri: str) -> str:
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        return self.world._quietly(self.world.s3.get_object, Bucket=bucket, Key=key)["Body"].read().decode()
