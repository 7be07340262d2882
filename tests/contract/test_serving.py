"""The registered model served by the scikit-learn 1.9-0 image's handler chain, with the registered environment.

The model trained by `pipeline_run` is registered with the real Model Registry adapter (moto);
the model package's container (`ModelDataUrl`, `Environment`) is what the image gets: the
toolkit's `serve` downloads and `pip install`s the source dir, gunicorn (gevent) loads the
image's `serving:main`, and the toolkit's Flask worker and transformer call `inference.py`.
The payloads and statuses are those of the local server's tests: no client mistake is a 5xx.
The same package also serves with the environment a Batch Transform job adds
(`MLOPS_RECORD_ERRORS=inline`): a mini-batch gets one answer line per record, bad ones included.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from deploy.batch.transform import RECORD_ERRORS
from deploy.sagemaker.registry import ModelRegistry
from deploy.sagemaker.session import AwsSession
from deploy.sagemaker.settings import Settings
from ml.payload import MAX_PAYLOAD_BYTES
from tests.aws_account import use_fake_account
from tests.contract.conftest import BUCKET, REGION, REPO, ROLE_ARN, PipelineRun
from tests.contract.jobs import Store, start_serving
from tests.contract.sandbox import Container
from tests.e2e.test_endpoint_server import ACCEPTED, BAD, CSV_ROW, ROW

# One worker runs them all: they share the session's pipeline run through the image's environment.
pytestmark = pytest.mark.xdist_group("contract")

GROUP = "churn-classifier"


@dataclass(frozen=True)
class Endpoint:
    port: int
    log: Path  # the container's output: pip, gunicorn, the handlers


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def registered_container(run: PipelineRun, store: Store, network: dict[str, str], tmp: Path) -> dict[str, Any]:
    """Register the run's model as `mlops pipeline run` does and return the package's container."""
    _, request = run.requests["train"]
    model_uri = f"{request['OutputDataConfig']['S3OutputPath']}/{request['TrainingJobName']}/output/model.tar.gz"
    with pytest.MonkeyPatch.context() as patch:
        use_fake_account(patch, tmp, REGION, AWS_ENDPOINT_URL=network["AWS_ENDPOINT_URL"])
        sagemaker = boto3.client("sagemaker")
        sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
        registry = ModelRegistry(AwsSession(REGION), Settings(REGION, ROLE_ARN, BUCKET, "mlops"), REPO, "1.9-0")
        version = registry.register(
            GROUP,
            artifact_uri=model_uri,
            sha256=hashlib.sha256(store.read(model_uri)).hexdigest(),
            evaluation={},
            lineage={"sourcedir_uri": run.inputs.sourcedir_uri, "run_id": "contract"},
        )
        package = sagemaker.describe_model_package(ModelPackageName=version.arn)
    (container,) = package["InferenceSpecification"]["Containers"]
    return container


@pytest.fixture(scope="module")
def served_model(
    pipeline_run: PipelineRun, moto_s3: tuple[Store, dict[str, str]], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """The container definition of the model package registered from the pipeline run."""
    pipeline_run.succeeded("train")
    store, network = moto_s3
    return registered_container(pipeline_run, store, network, tmp_path_factory.mktemp("registry"))


@contextmanager
def serving(
    model: dict[str, Any], moto_s3: tuple[Store, dict[str, str]], venv: Path, root: Path, extra: dict[str, str]
) -> Iterator[Endpoint]:
    store, network = moto_s3
    container, port = Container(venv, root / "container"), free_port()
    # No package index, as for an endpoint without internet access: the start must not need one.
    process = start_serving(container, {**model, "Environment": {**model["Environment"], **extra}}, store,
                            {**network, "PIP_NO_INDEX": "1"}, port)  # fmt: skip
    try:
        wait_until_ready(process, port, container.root / "serve.log")
        yield Endpoint(port, container.root / "serve.log")
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def endpoint(
    served_model: dict[str, Any],
    moto_s3: tuple[Store, dict[str, str]],
    contract_venv: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Endpoint]:
    with serving(served_model, moto_s3, contract_venv, tmp_path_factory.mktemp("serving"), {}) as started:
        yield started


@pytest.fixture(scope="module")
def transform_container(
    served_model: dict[str, Any],
    moto_s3: tuple[Store, dict[str, str]],
    contract_venv: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Endpoint]:
    """The package served with the environment CreateTransformJob adds (`Environment` of the request)."""
    root = tmp_path_factory.mktemp("transform")
    with serving(served_model, moto_s3, contract_venv, root, RECORD_ERRORS) as started:
        yield started


def wait_until_ready(process: subprocess.Popen[bytes], port: int, log: Path, limit: float = 240) -> None:
    """Until GET /ping answers 200; the start downloads and pip-installs the code first."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"serve exited {process.returncode}:\n{log.read_text()[-4000:]}")
        try:
            if call(port, "GET", "/ping")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)  # a refused connection costs nothing: ask often, answer the test as soon as it serves
    pytest.fail(f"serve did not answer /ping within {limit:.0f} s:\n{log.read_text()[-4000:]}")


def call(port: int, method: str, path: str, body: bytes | str = b"", headers: dict | None = None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        reply = connection.getresponse()
        return reply.status, reply.read()
    finally:
        connection.close()


def invoke(port: int, body: bytes | str, content_type: str, **headers: str) -> tuple[int, bytes]:
    return call(port, "POST", "/invocations", body, {"Content-Type": content_type, **headers})


def test_every_accepted_payload_is_answered(endpoint: Endpoint) -> None:
    for body, content_type, rows in ACCEPTED:
        status, answer = invoke(endpoint.port, body, content_type)
        assert status == 200, answer
        predictions = json.loads(answer)["predictions"]
        assert len(predictions) == rows and 0 <= predictions[0]["probability"] <= 1
    status, answer = invoke(endpoint.port, CSV_ROW, "text/csv", Accept="text/csv")
    assert status == 200 and answer.count(b"\n") == 1, answer


@pytest.mark.parametrize(("case", "body", "content_type", "status", "reason"), BAD, ids=[b[0] for b in BAD])
def test_bad_payload_is_the_same_4xx_as_locally(
    endpoint: Endpoint, case: str, body: bytes, content_type: str, status: int, reason: str
) -> None:
    got, answer = invoke(endpoint.port, body, content_type)
    assert got == status, answer
    assert reason in json.loads(answer)["error"]


def test_the_model_loads_without_version_warnings(endpoint: Endpoint) -> None:
    assert invoke(endpoint.port, CSV_ROW, "text/csv")[0] == 200
    assert "InconsistentVersionWarning" not in endpoint.log.read_text()


def test_unacceptable_accept_and_oversized_body_are_4xx(endpoint: Endpoint) -> None:
    assert invoke(endpoint.port, CSV_ROW, "text/csv", Accept="image/png")[0] == 406
    assert invoke(endpoint.port, b"1" * (MAX_PAYLOAD_BYTES + 1), "text/csv")[0] == 413


def test_a_transform_mini_batch_gets_one_line_per_record_and_bad_ones_their_reason(
    transform_container: Endpoint, endpoint: Endpoint
) -> None:
    bad = CSV_ROW.replace(str(ROW["monthly_charges"]), "abc", 1)
    status, answer = invoke(transform_container.port, f"{CSV_ROW}\n{bad}\n{CSV_ROW}\n", "text/csv", Accept="text/csv")
    assert status == 200, answer
    lines = answer.decode().splitlines()
    assert len(lines) == 3, lines  # Transform joins answer line i with input line i
    status, realtime = invoke(endpoint.port, CSV_ROW, "text/csv", Accept="text/csv")
    assert status == 200
    assert lines[0] == lines[2] == realtime.decode().strip() + ","  # probability,label as the endpoint answers
    assert lines[1].startswith(",,") and "monthly_charges" in lines[1] and "abc" in lines[1], lines[1]
