"""`mlops monitor` on SageMaker: the monitor step as a Processing job, its result as CloudWatch metrics.

Runs on the control plane. The job runs `python3 -m ml.monitor` in the same scikit-learn image
and with the same entry point as the pipeline's processing steps. Its inputs: the code
(`sourcedir.tar.gz`), the model package's baseline files, the monitoring settings, and the
captured traffic as a manifest listing only the capture files of the window (so a day's run
does not download a year). The command follows the job, reads its result back from S3 and
publishes it as metrics (`monitor_metrics.py`), which the monitor alarms and the dashboard use.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deploy.errors import DataError, StepFailed
from deploy.monitor.run import MonitorJob, MonitorStep, step_failure
from deploy.monitor.s3_capture import capture_keys
from deploy.pipeline.steps import PROCESSING_IN, PROCESSING_OUT
from deploy.sagemaker.definition import CODE_INPUT, ENVIRONMENT
from deploy.sagemaker.images import sklearn_image
from deploy.sagemaker.inputs import stage_code
from deploy.sagemaker.monitor_metrics import publish
from deploy.sagemaker.s3 import ArtifactBucket, S3Uri
from deploy.sagemaker.sourcedir import PROCESSING_RUNNER

if TYPE_CHECKING:
    from deploy.sagemaker.backend import SageMakerBackend

OUTPUT = f"{PROCESSING_OUT}/monitor"
RESULT_FILES = ("monitor_result.json", "constraint_violations.json", "statistics.json")
DONE = ("Completed", "Failed", "Stopped")


def job_name(project: str, env: str, when: datetime) -> str:
    """`<project>-monitor-<env>-<yyyymmddhhmmss>`, cut to SageMaker's 63 characters."""
    stem = re.sub(r"[^a-zA-Z0-9-]", "-", f"{project}-monitor-{env}")[:48].strip("-")
    return f"{stem}-{when:%Y%m%d%H%M%S}"


def _input(name: str, uri: str, local: str, data_type: str = "S3Prefix") -> dict[str, Any]:
    return {
        "InputName": name,
        "S3Input": {
            "S3Uri": uri,
            "LocalPath": local,
            "S3DataType": data_type,
            "S3InputMode": "File",
            "S3DataDistributionType": "FullyReplicated",
            "S3CompressionType": "None",
        },
    }


class ProcessingMonitor(MonitorStep):
    """The monitor step as a SageMaker Processing job (S3 capture); a local `--data` still runs here."""

    def __init__(
        self, backend: SageMakerBackend, sleep: Callable[[float], None] = time.sleep, sagemaker: Any = None
    ) -> None:
        super().__init__(backend)
        self.sm_backend = backend
        self.sleep = sleep
        self.sagemaker = sagemaker

    def run(self, job: MonitorJob) -> Path:
        location = job.data or self.backend.capture_location(job.config)
        if not location.startswith("s3://"):
            return super().run(job)
        settings = self.sm_backend.settings
        s3 = self.sm_backend.session().client("s3")
        bucket = ArtifactBucket(s3, settings.artifacts_bucket(), settings.prefix)
        name = job_name(self.sm_backend.pipeline.project, job.env, datetime.now(UTC))
        request = self.request(job, bucket, location, name)
        sagemaker = self.sagemaker or self.sm_backend.session().client("sagemaker")
        sagemaker.create_processing_job(**request)
        described = self.follow(sagemaker, name)
        if described["ProcessingJobStatus"] != "Completed":
            reason = described.get("ExitMessage") or described.get("FailureReason") or described["ProcessingJobStatus"]
            raise step_failure(reason.strip(), f"CloudWatch Logs /aws/sagemaker/ProcessingJobs {name}")
        output = request["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
        folder = self.download(s3, output, job.folder / "output")
        result = json.loads((folder / "monitor_result.json").read_text(encoding="utf-8"))
        publish(self.sm_backend.session().client("cloudwatch"), job.config.endpoint.name, result)
        return folder

    def request(self, job: MonitorJob, bucket: ArtifactBucket, location: str, name: str) -> dict[str, Any]:
        source_bucket, prefix, keys = capture_keys(bucket.s3, location, job.since)
        if not keys:
            since = f" since {job.since:%Y-%m-%d %H:%M} UTC" if job.since else ""
            raise DataError(f"endpoint '{job.config.endpoint.name}': no captured traffic at {location}{since}")
        manifest = [{"prefix": f"s3://{source_bucket}/{prefix}"}, *(key[len(prefix) :] for key in keys)]
        manifest_uri, _ = bucket.put_bytes("monitor-inputs", "manifest.json", json.dumps(manifest).encode())
        settings_uri, _ = bucket.put_bytes("monitor-inputs", "monitoring.json", json.dumps(job.settings).encode())
        baselines = job.model.baselines
        arguments = ["--baseline-dir", f"{PROCESSING_IN}/baseline", "--data", f"{PROCESSING_IN}/capture"]
        arguments += ["--config", f"{PROCESSING_IN}/settings/monitoring.json", "--output-dir", OUTPUT]
        if job.since is not None:
            arguments += ["--since", job.since.isoformat(timespec="seconds")]
        compute = self.sm_backend.pipeline.sagemaker.processing
        image = sklearn_image(
            self.sm_backend.settings.region, self.sm_backend.pipeline.sagemaker.framework_version, "training"
        )
        return {
            "ProcessingJobName": name,
            "AppSpecification": {
                "ImageUri": image,
                "ContainerEntrypoint": ["/bin/sh", f"{CODE_INPUT}/{PROCESSING_RUNNER}", "ml.monitor"],
                "ContainerArguments": arguments,
            },
            "Environment": dict(ENVIRONMENT),
            "ProcessingInputs": [
                _input("code", stage_code(bucket, self.backend.workspace.root).folder_uri, CODE_INPUT),
                _input("statistics", baselines["statistics"], f"{PROCESSING_IN}/baseline/statistics"),
                _input("constraints", baselines["constraints"], f"{PROCESSING_IN}/baseline/constraints"),
                _input("settings", settings_uri, f"{PROCESSING_IN}/settings"),
                _input("capture", manifest_uri, f"{PROCESSING_IN}/capture", "ManifestFile"),
            ],
            "ProcessingOutputConfig": {
                "Outputs": [
                    {
                        "OutputName": "monitor",
                        "S3Output": {
                            "S3Uri": bucket.uri("monitor", job.env, name),
                            "LocalPath": OUTPUT,
                            "S3UploadMode": "EndOfJob",
                        },
                    }
                ]
            },
            "ProcessingResources": {
                "ClusterConfig": {
                    "InstanceCount": 1,
                    "InstanceType": compute.instance_type,
                    "VolumeSizeInGB": compute.volume_size_gb,
                }
            },
            "StoppingCondition": {"MaxRuntimeInSeconds": compute.max_runtime_seconds},
            "RoleArn": self.sm_backend.settings.role(),
            "Tags": [{"Key": "mlops:environment", "Value": job.env}],
        }

    def follow(self, sagemaker: Any, name: str) -> dict[str, Any]:
        poll = self.sm_backend.pipeline.sagemaker.poll_seconds
        while True:
            described = sagemaker.describe_processing_job(ProcessingJobName=name)
            if described["ProcessingJobStatus"] in DONE:
                return described
            self.sleep(poll)

    def download(self, s3: Any, output_uri: str, folder: Path) -> Path:
        where = S3Uri.parse(output_uri)
        folder.mkdir(parents=True, exist_ok=True)
        for name in RESULT_FILES:
            try:
                s3.download_file(where.bucket, f"{where.key}/{name}", str(folder / name))
            except Exception as exc:  # botocore raises ClientError or its own 404 wrapper here
                raise StepFailed("monitor", f"the job succeeded but {output_uri}/{name} is unreadable: {exc}") from None
        return folder
