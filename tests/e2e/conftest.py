"""Fixtures of the end-to-end tests: scratch repositories with trained models and free loopback ports."""

from __future__ import annotations

import re
import shutil
import socket
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from deploy.artifacts import pack_model_dir
from deploy.cli.app import main
from deploy.config import load_environment, load_pipeline
from deploy.config.schema import EnvironmentConfig, ModelPin
from deploy.local.backend import LocalBackend
from deploy.local.endpoint_process import EndpointProcess
from deploy.local.endpoints import LocalEndpoints
from deploy.promotion.pins import plan_pins, write_pins
from deploy.registry import ModelVersion
from deploy.workspace import Workspace
from tests.aws_account import use_fake_account
from tests.e2e.moto_server import BUCKET, REGION, ROLE_ARN

REPO = Path(__file__).resolve().parents[2]
# Bakes and alarm periods of the loop tests: canary 300 s → 1.5 s per step, alarm period 60 s → 0.3 s.
LOOP_TIME_SCALE = 0.005
TWO_RUNS = "after-two-runs"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LocalLoop:
    """A scratch repository (MLOPS_ROOT) with models v1, v2 (good), v3 (errors) and v4 (slow) registered."""

    root: Path

    @property
    def workspace(self) -> Workspace:
        return Workspace(self.root)

    def backend(self) -> LocalBackend:
        return LocalBackend(self.workspace, load_pipeline(self.workspace.config_dir))

    def endpoints(self) -> LocalEndpoints:
        return LocalEndpoints(self.workspace, self.backend().registry())

    def model(self, version: int) -> ModelVersion:
        return self.backend().registry().get("churn-classifier", version)

    def config(self, env: str = "prod") -> EnvironmentConfig:
        return load_environment(self.workspace.config_dir, env)

    def pin(self, version: int) -> EnvironmentConfig:
        """Pin `version` in every environment file, as a merged promotion would."""
        model = self.model(version)
        write_pins(plan_pins(self.workspace.config_dir, ModelPin(version=version, package_arn=model.arn,
                                                                 sha256=model.sha256)))  # fmt: skip
        return self.config()

    def process(self, env: str = "prod") -> EndpointProcess | None:
        return EndpointProcess.attach(self.workspace.endpoint_dir(env))

    def stop_endpoints(self) -> None:
        for env in ("staging", "prod"):
            process = self.process(env)
            if process is not None:
                process.stop()


def _scratch_repo(root: Path, time_scale: float) -> None:
    shutil.copytree(REPO / "config", root / "config")
    shutil.copytree(REPO / "ml", root / "ml", ignore=shutil.ignore_patterns("__pycache__"))
    _own_ports(root, time_scale)


def _own_ports(root: Path, time_scale: float) -> None:
    """Give the repository's environments free loopback ports (and the bake and alarm time scale)."""
    for env in ("staging", "prod"):
        path = root / "config" / f"{env}.yaml"
        text = re.sub(r"(?m)^(\s+port:\s*)\d+", lambda m: f"{m.group(1)}{free_port()}", path.read_text())
        text = re.sub(r"(?m)^(\s+time_scale:\s*)[\d.]+", lambda m: f"{m.group(1)}{time_scale}", text)
        path.write_text(text)


def _register_faulty(loop: LocalLoop, source: ModelVersion, kind: str, folder: Path) -> None:
    from ml.faults import make_faulty_artifact

    target = make_faulty_artifact(Path(source.artifact_uri.removeprefix("file://")), folder / f"{kind}.tar.gz",
                                  kind, delay_ms=150)  # fmt: skip
    registry = loop.backend().registry()
    uri, sha256 = registry.store_artifact(target)
    registry.register("churn-classifier", artifact_uri=uri, sha256=sha256, evaluation=source.evaluation,
                      lineage={**source.lineage, "fault": kind})  # fmt: skip


def register_trained(loop: LocalLoop, rows: int = 400) -> ModelVersion:
    """Train, evaluate and register a model in this process, as the pipeline's jobs would, and return it.

    For tests of what follows a registration (serving, teardown): `mlops pipeline run` itself,
    with its jobs as separate processes, is exercised by `test_pipeline_local.py` and the loop.
    """
    from ml.dataset import make_churn, write_table
    from ml.evaluate import evaluate
    from ml.schema import DEFAULT_SCHEMA as schema
    from ml.train import train

    work = loop.root.parent / f"trained-{rows}"
    data = make_churn(rows, 42)
    split = rows * 4 // 5
    write_table(data.iloc[:split], work / "train" / "train.csv")
    write_table(data.iloc[split:], work / "test" / "test.csv")
    hyperparameters = {"algorithm": "logistic_regression", "C": "1.0"}
    train(work / "train", work / "model", hyperparameters, schema.numeric_names, schema.categorical_names,
          schema.label)  # fmt: skip
    pack_model_dir(work / "model", work / "model.tar.gz")
    evaluation = evaluate(work, work / "test", work / "evaluation")
    registry = loop.backend().registry()
    uri, sha256 = registry.store_artifact(work / "model.tar.gz")
    return registry.register("churn-classifier", artifact_uri=uri, sha256=sha256, evaluation=evaluation,
                             lineage={"hyperparameters": hyperparameters, "rows": rows})  # fmt: skip


@pytest.fixture(scope="session")
def built_loop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalLoop]:
    """Two pipeline runs (v1, v2) and two faulty copies of v1 (v3 errors, v4 sleeps 150 ms); endpoints stopped after.

    Built once per test process: the modules that use it share one xdist group. The repository as
    the two runs left it is kept beside it, for `copy_of_two_runs`.
    """
    root = tmp_path_factory.mktemp("loop") / "repo"
    _scratch_repo(root, LOOP_TIME_SCALE)
    loop = LocalLoop(root)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLOPS_ROOT", str(root))
        assert main(["pipeline", "run", "--rows", "1000"]) == 0
        assert main(["pipeline", "run", "--rows", "1000", "--set", "C=0.3"]) == 0
        shutil.copytree(root, root.parent / TWO_RUNS)
        for kind in ("error", "slow"):
            _register_faulty(loop, loop.model(1), kind, root.parent)
    try:
        yield loop
    finally:
        loop.stop_endpoints()


def copy_of_two_runs(loop: LocalLoop, target: Path) -> LocalLoop:
    """A copy of `loop`'s repository as its two pipeline runs left it (v1 and v2 registered), on its own ports.

    Its registry holds the runs' own records; their artifacts stay where the runs stored them.
    """
    shutil.copytree(loop.root.parent / TWO_RUNS, target)
    _own_ports(target, LOOP_TIME_SCALE)
    return LocalLoop(target)


@pytest.fixture
def local_loop(built_loop: LocalLoop, monkeypatch: pytest.MonkeyPatch) -> LocalLoop:
    """The shared scratch repository, as MLOPS_ROOT for this test only."""
    monkeypatch.setenv("MLOPS_ROOT", str(built_loop.root))
    return built_loop


@pytest.fixture
def moto_endpoint(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """A moto server on loopback, reached through AWS_ENDPOINT_URL as AWS would be."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    # Servers in one process share moto's state: start every test from an empty account.
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")).close()
    use_fake_account(
        monkeypatch, tmp_path, REGION, AWS_ENDPOINT_URL=endpoint, MLOPS_BUCKET=BUCKET, SAGEMAKER_ROLE_ARN=ROLE_ARN
    )
    try:
        yield endpoint
    finally:
        server.stop()
