"""SageMaker's part of a job, played on this machine around the container stand-in (test side).

For a CreateProcessingJob or CreateTrainingJob request (resolved from the pipeline definition),
what SageMaker does before and after the container runs: copy each S3 input into its local
path, write the training job's `/opt/ml/input/config/*.json`, start the image with the request's
entrypoint, arguments and environment, then upload the outputs (a training job's
`/opt/ml/model` as `model.tar.gz` under `<S3OutputPath>/<job name>/output/`). For serving, the
model artifact is unpacked into `/opt/ml/model` and the image started with `serve`.
S3 is a moto server, reached through the endpoint variables in `network`.
"""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from tests.contract.sandbox import HOST, Container


@dataclass(frozen=True)
class Store:
    """The S3 side: a boto3 client of the moto server."""

    s3: Any

    def download(self, uri: str, folder: Path) -> list[Path]:
        """Every object under the prefix, at its path below the prefix (an exact key: its file name)."""
        bucket, prefix = _split(uri)
        written = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                key = item["Key"]
                target = folder / (key.removeprefix(prefix).lstrip("/") or key.rsplit("/", 1)[-1])
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(self.s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())
                written.append(target)
        assert written, f"nothing in S3 under {uri}"
        return written

    def upload(self, folder: Path, uri: str) -> None:
        bucket, prefix = _split(uri)
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            key = f"{prefix.rstrip('/')}/{path.relative_to(folder).as_posix()}"
            self.s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())

    def read(self, uri: str) -> bytes:
        bucket, key = _split(uri)
        return self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def _split(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    assert parsed.scheme == "s3", uri
    return parsed.netloc, parsed.path.lstrip("/")


def _local(container: Container, path: str) -> Path:
    assert path.startswith("/opt/ml/"), path
    return container.opt_ml / path.removeprefix("/opt/ml/")


def run_processing(
    container: Container, request: dict[str, Any], store: Store, network: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """The processing job of `request`: inputs in, entrypoint + arguments with its environment, outputs out."""
    for item in request["ProcessingInputs"]:
        source = item["S3Input"]
        store.download(source["S3Uri"], _local(container, source["LocalPath"]))
    app = request["AppSpecification"]
    argv = [*app["ContainerEntrypoint"], *app.get("ContainerArguments", [])]
    env = {**network, **request.get("Environment", {}), "PROCESSING_JOB_NAME": request["ProcessingJobName"]}
    result = container.run(argv, env)
    if result.returncode == 0:
        for output in request["ProcessingOutputConfig"]["Outputs"]:
            target = output["S3Output"]
            store.upload(_local(container, target["LocalPath"]), target["S3Uri"])
    return result


def run_training(
    container: Container, request: dict[str, Any], store: Store, network: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """The training job of `request`: config files and channels in, `train`, model.tar.gz out."""
    config = container.opt_ml / "input" / "config"
    config.mkdir(parents=True)
    channels = {c["ChannelName"]: c for c in request["InputDataConfig"]}
    (config / "hyperparameters.json").write_text(json.dumps(request["HyperParameters"]))
    data_config = {
        name: {"TrainingInputMode": "File", "S3DistributionType": "FullyReplicated", "RecordWrapperType": "None"}
        for name in channels
    }
    (config / "inputdataconfig.json").write_text(json.dumps(data_config))
    resources = {"current_host": HOST, "hosts": [HOST], "network_interface_name": "eth0"}
    (config / "resourceconfig.json").write_text(json.dumps(resources))
    for name, channel in channels.items():
        store.download(channel["DataSource"]["S3DataSource"]["S3Uri"], container.opt_ml / "input" / "data" / name)
    for folder in ("model", "output/data", "checkpoints"):  # what SageMaker creates before the start
        (container.opt_ml / folder).mkdir(parents=True)
    env = {**network, **request.get("Environment", {}), "TRAINING_JOB_NAME": request["TrainingJobName"]}
    result = container.run(["train"], env)
    if result.returncode == 0:
        output = f"{request['OutputDataConfig']['S3OutputPath']}/{request['TrainingJobName']}/output"
        bucket, key = _split(f"{output}/model.tar.gz")
        store.s3.put_object(Bucket=bucket, Key=key, Body=pack(container.opt_ml / "model"))
    return result


def pack(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path in sorted(folder.rglob("*")):
            tar.add(path, arcname=path.relative_to(folder).as_posix(), recursive=False)
    return buffer.getvalue()


def start_serving(
    container: Container, model: dict[str, Any], store: Store, network: dict[str, str], port: int
) -> subprocess.Popen[bytes]:
    """The image started with `serve` for a model package's container: artifact unpacked, its environment set.

    Without nginx here, the toolkit's gunicorn listens on `port` itself (`SAGEMAKER_USE_NGINX=false`,
    `SAGEMAKER_BIND_TO_PORT`, as the image's `accept-bind-to-port` label allows); one worker.
    """
    model_dir = container.opt_ml / "model"
    model_dir.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(store.read(model["ModelDataUrl"])), mode="r:gz") as tar:
        tar.extractall(model_dir, filter="data")
    env = {
        **network,
        **model["Environment"],
        "SAGEMAKER_USE_NGINX": "false",
        "SAGEMAKER_BIND_TO_PORT": str(port),
        "SAGEMAKER_MODEL_SERVER_WORKERS": "1",
    }
    return container.start(["serve"], env, container.root / "serve.log")
