"""Fixtures of the contract tests: the 1.9-0 image's environment, a moto S3, and one pipeline run through it.

`contract_venv` is `.venv-contract` (Python 3.12 with the image's packages), built by
`scripts/contract-venv.sh` on first use and reused while its pins are unchanged
(`MLOPS_CONTRACT_VENV` names another one). `pipeline_run` generates the pipeline definition
from `config/pipeline.yaml` exactly as `mlops pipeline run --backend sagemaker` does, stages the
inputs with the same code, resolves each step into the job request an execution would send,
and runs preprocess → train → evaluate as jobs in containers of that environment.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from deploy.config import load_pipeline
from deploy.pipeline.data import ResolvedData
from deploy.pipeline.steps import build_steps
from deploy.sagemaker.definition import Target, build_definition, render
from deploy.sagemaker.inputs import RunInputs, stage_inputs
from deploy.sagemaker.s3 import ArtifactBucket
from tests.aws_account import FAKE_CREDENTIALS
from tests.contract.jobs import Store, run_processing, run_training
from tests.contract.sandbox import Container
from tests.pipeline_execution import job_requests

REPO = Path(__file__).resolve().parents[2]
REGION = "eu-west-1"
BUCKET = "churn-contract"
ROLE_ARN = "arn:aws:iam::123456789012:role/churn-sagemaker-execution"
IMAGE = "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-scikit-learn:1.9-0-cpu-py3"
RUN_ID = "20250101T000000Z-c0ffee00"


@pytest.fixture(scope="session")
def contract_venv() -> Path:
    named = os.environ.get("MLOPS_CONTRACT_VENV")
    if named:
        return Path(named)
    with (REPO / ".venv-contract.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # xdist workers: one builds, the others wait
        built = subprocess.run(
            [str(REPO / "scripts" / "contract-venv.sh")], cwd=REPO, capture_output=True, text=True, check=False
        )
    if built.returncode != 0:
        pytest.fail(f"scripts/contract-venv.sh failed (exit {built.returncode}):\n{built.stderr[-3000:]}")
    return (REPO / built.stdout.strip().splitlines()[-1]).parent.parent


@pytest.fixture(scope="session")
def moto_s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, dict[str, str]]]:
    """A moto server, its S3 as a `Store`, and the variables that lead a container's boto3 to it."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    network = {
        **FAKE_CREDENTIALS,
        "AWS_ENDPOINT_URL": endpoint,
        "S3_ENDPOINT_URL": endpoint,  # the toolkits' own override for their S3 downloads
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", aws_session_token="testing", region_name=REGION
    )
    s3 = session.client("s3", endpoint_url=endpoint)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    try:
        yield Store(s3), network
    finally:
        server.stop()


@dataclass
class PipelineRun:
    """One run of the generated pipeline through the container stand-in."""

    definition: dict[str, Any]
    parameters: dict[str, str]
    inputs: RunInputs
    requests: dict[str, tuple[str, dict[str, Any]]]
    results: dict[str, subprocess.CompletedProcess[str]] = field(default_factory=dict)
    containers: dict[str, Container] = field(default_factory=dict)

    def succeeded(self, step: str) -> subprocess.CompletedProcess[str]:
        result = self.results.get(step)
        assert result is not None, f"{step} did not run: an earlier step failed ({list(self.results)})"
        assert result.returncode == 0, (
            f"{step} exited {result.returncode}:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )
        return result


def target() -> Target:
    return Target(REGION, ROLE_ARN, BUCKET, "mlops", IMAGE, IMAGE)


@pytest.fixture(scope="session")
def pipeline_run(
    contract_venv: Path, moto_s3: tuple[Store, dict[str, str]], tmp_path_factory: pytest.TempPathFactory
) -> PipelineRun:
    from ml.dataset import make_churn

    store, network = moto_s3
    work = tmp_path_factory.mktemp("contract")
    cfg = load_pipeline(REPO / "config")
    make_churn(2000, 7).to_csv(work / "churn.csv", index=False)
    data = ResolvedData(str(work / "churn.csv"), work / "churn.csv", None, None)
    inputs = stage_inputs(ArtifactBucket(store.s3, BUCKET, "mlops"), cfg, data, REPO)
    definition = json.loads(render(build_definition(cfg, build_steps(cfg), target())))
    parameters = {
        "RunId": RUN_ID,
        "InputData": inputs.data_uri,
        "Schema": inputs.schema_uri,
        "SourceDir": inputs.code.folder_uri,
    }
    requests = {step: (op, request) for step, op, request in job_requests(definition, parameters)}
    run = PipelineRun(definition, parameters, inputs, requests)
    for step, (operation, request) in requests.items():
        container = Container(contract_venv, work / step)
        run.containers[step] = container
        job = run_training if operation == "CreateTrainingJob" else run_processing
        run.results[step] = job(container, request, store, network)
        if run.results[step].returncode != 0:
            break
    return run


@pytest.fixture
def fresh_container(contract_venv: Path, tmp_path: Path) -> Iterator[Container]:
    container = Container(contract_venv, tmp_path / "container")
    yield container
    shutil.rmtree(container.root / "layer", ignore_errors=True)
