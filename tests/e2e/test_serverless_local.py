"""A serverless environment on the local backend: it listens from deploy on, its model processes start on a
request and stop after the idle timeout, and start again on the next request, which is answered, not dropped."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.cli.app import main
from deploy.local import routing_table as rt
from tests.e2e.conftest import LocalLoop, _scratch_repo, register_trained

INSTANCES = "  instance_type: ml.m5.large\n  instance_count: 1\n"
SERVERLESS = "  serverless: {memory_size_mb: 1024, max_concurrency: 5}\n"
IDLE_SECONDS = 1.0  # idle_timeout_seconds 100 × time_scale 0.01


def model_processes(state_dir: Path) -> list[int]:
    """Pids of the model processes the server's workers forked (their children)."""
    workers = {ack.pid for ack in rt.read_acks(state_dir).values()}
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[1]) in workers:
            found.append(int(stat.parent.name))
    return found


def wait_for(condition, timeout: float = 15.0) -> float:
    """Seconds until `condition()` held; fails the test after `timeout`."""
    began = time.monotonic()
    while not condition():
        assert time.monotonic() - began < timeout, "condition not met in time"
        time.sleep(0.05)
    return time.monotonic() - began


@pytest.fixture(scope="module")
def serverless_loop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalLoop]:
    """A scratch repository whose staging is serverless (idle after 1 s), with v1 registered and pinned."""
    root = tmp_path_factory.mktemp("serverless") / "repo"
    _scratch_repo(root, 0.01)
    staging = root / "config" / "staging.yaml"
    text = staging.read_text()
    assert INSTANCES in text
    text = text.replace(INSTANCES, SERVERLESS).replace(
        "  time_scale: 0.01", "  time_scale: 0.01\n  idle_timeout_seconds: 100"
    )
    staging.write_text(text)
    loop = LocalLoop(root)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLOPS_ROOT", str(root))
        register_trained(loop)
        loop.pin(1)
        try:
            yield loop
        finally:
            loop.stop_endpoints()


def invoke(loop: LocalLoop) -> tuple[int, float]:
    cfg = loop.config("staging")
    body = json.dumps(cfg.smoke.payloads[0].body).encode()
    answer = loop.endpoints().invoke("staging", cfg, body, "application/json")
    assert answer.status == 200, answer.body
    assert len(json.loads(answer.body)["predictions"]) == 1
    return answer.status, answer.latency_ms


def status(capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    assert main(["endpoint", "status", "--env", "staging"]) == 0
    return capsys.readouterr().out


def test_first_request_starts_idle_timeout_stops_next_request_starts_again(
    serverless_loop: LocalLoop, capsys: pytest.CaptureFixture[str]
) -> None:
    loop = serverless_loop
    assert main(["deploy", "--env", "staging"]) == 0
    state = loop.workspace.endpoint_dir("staging")
    port = loop.config("staging").local.port
    process = loop.process("staging")
    assert process is not None

    # No request since the deploy: after the idle timeout every worker has stopped its model processes.
    waited = wait_for(lambda: process.status()["idle"])
    assert waited >= IDLE_SECONDS * 0.5
    wait_for(lambda: model_processes(state) == [])
    assert "serverless: idle (starts on the next request)" in status(capsys)
    with socket.create_connection(("127.0.0.1", port), timeout=2):
        pass  # the endpoint still listens on its port
    assert main(["plan", "--env", "staging"]) == 0  # idle is not drift

    # The first request starts the model processes and waits for them: answered, not dropped.
    _, cold_ms = invoke(loop)
    assert model_processes(state) != []
    assert not process.status()["idle"]
    assert "serverless: serving (stops after 1 s without requests)" in status(capsys)
    _, warm_ms = invoke(loop)

    # Idle again: stopped again; the next request starts them again.
    wait_for(lambda: process.status()["idle"])
    wait_for(lambda: model_processes(state) == [])
    _, again_ms = invoke(loop)
    assert model_processes(state) != []
    print(f"cold start {cold_ms:.0f} ms, warm {warm_ms:.1f} ms, cold again {again_ms:.0f} ms")


def test_an_instance_environment_never_idles(serverless_loop: LocalLoop) -> None:
    loop = serverless_loop
    assert main(["deploy", "--env", "prod"]) == 0
    process = loop.process("prod")
    assert process is not None and process.status()["idle_seconds"] is None
    time.sleep(IDLE_SECONDS * 1.5)
    assert not process.status()["idle"]
    assert model_processes(loop.workspace.endpoint_dir("prod")) != []
    process.stop()
