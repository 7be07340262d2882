"""The local endpoint's process lifecycle for real: starts that cannot race, kills that leave nothing behind.

Servers are started on free loopback ports and killed with real signals; the deploy tests
share the scratch repository of `local_loop` (on the xdist worker of test_local_loop.py) and
each pins the version it starts from.
"""

from __future__ import annotations

import http.server
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from deploy.cli.app import main
from deploy.errors import DeployError
from deploy.local import routing_table as rt
from deploy.local.endpoint_process import EndpointProcess
from deploy.local.server_launch import alive, inspect, lock_held
from tests.e2e.test_endpoint_server import CSV_ROW, archives, free_port, invoke  # noqa: F401 (fixture)
from tests.e2e.test_local_loop import GREEN, ensure_serving

if TYPE_CHECKING:
    from tests.e2e.conftest import LocalLoop

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.xdist_group("local-loop")


def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


def wait_until(condition, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_a_just_spawned_server_is_not_misread_as_dead(tmp_path: Path) -> None:
    # Until it execs, a child's /proc/<pid>/cmdline is its parent's: liveness must not depend on it.
    pid = os.posix_spawn("/bin/sh", ["sh", "-c", "sleep 5"], dict(os.environ), setsid=True)
    try:
        assert alive(pid)
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    assert not alive(pid)


@pytest.fixture
def busy_machine() -> Iterator[None]:
    """Two processes spinning on the CPU, as on a loaded CI runner."""
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        yield
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()


def test_starts_on_a_busy_machine_all_succeed(tmp_path: Path, busy_machine: None) -> None:
    started: list[EndpointProcess] = []
    failures: list[str] = []

    def start(index: int) -> None:
        try:
            started.append(EndpointProcess.start(tmp_path / f"e{index}", free_port(), 1, f"e{index}"))
        except DeployError as error:
            failures.append(error.message)

    threads = [threading.Thread(target=start, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert failures == [] and len(started) == 3
    finally:
        for process in started:
            process.stop()


def test_workers_die_with_a_killed_supervisor_and_the_port_is_free_again(tmp_path: Path, archives: dict) -> None:  # noqa: F811
    port = free_port()
    process = EndpointProcess.start(tmp_path / "ep", port, 2, "killed")
    process.load_variant("blue", *archives["good"], version=1)
    process.set_weights({"blue": 100})
    assert invoke(process, CSV_ROW, "text/csv")[0] == 200
    os.kill(process.pid, signal.SIGKILL)
    assert wait_until(lambda: refused(port), 10), "workers kept serving after their supervisor was killed"
    assert wait_until(lambda: not lock_held(tmp_path / "ep"), 10)
    assert inspect(tmp_path / "ep").phase == "stopped" and EndpointProcess.attach(tmp_path / "ep") is None
    again = EndpointProcess.start(tmp_path / "ep", port, 2, "killed")  # same port, same state: serves at once
    try:
        assert invoke(again, CSV_ROW, "text/csv")[0] == 200
    finally:
        again.stop()


def test_a_start_that_times_out_leaves_nothing_running(tmp_path: Path) -> None:
    port = free_port()
    with pytest.raises(DeployError, match="was not ready after"):
        EndpointProcess.start(tmp_path / "slow", port, 1, "slow", timeout=0.05)
    assert not lock_held(tmp_path / "slow") and refused(port)


def _supervisor_pid(loop: LocalLoop) -> int:
    return int((loop.workspace.endpoint_dir("prod") / rt.PID_FILE).read_text())


def test_supervisor_killed_mid_canary_then_status_is_true_and_the_next_deploy_converges(
    local_loop: LocalLoop, capsys: pytest.CaptureFixture[str]
) -> None:
    ensure_serving(local_loop, 1)
    local_loop.pin(2)
    state_dir, port = local_loop.workspace.endpoint_dir("prod"), local_loop.config().local.port
    env = {**os.environ, "MLOPS_ROOT": str(local_loop.root)}
    deploy = subprocess.Popen([sys.executable, "-m", "deploy", "deploy", "--env", "prod"], env=env, cwd=REPO,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    try:
        canary = lambda: (v := rt.read_routing(state_dir).get(GREEN)) is not None and v.weight > 0  # noqa: E731
        assert wait_until(canary, 30), "the canary never started"
        os.kill(_supervisor_pid(local_loop), signal.SIGKILL)
    finally:
        _, stderr = deploy.communicate(timeout=60)
    assert deploy.returncode != 0, stderr.decode()
    assert wait_until(lambda: refused(port), 10), "the killed server's workers still serve"
    assert wait_until(lambda: not lock_held(state_dir), 10)
    assert main(["endpoint", "status", "--env", "prod"]) == 7
    assert "prod: not running (deployed v1" in capsys.readouterr().err
    assert main(["deploy", "--env", "prod"]) == 0
    assert main(["plan", "--env", "prod"]) == 0
    assert [(v.name, v.version, v.weight) for v in local_loop.process().routing().variants] == [("AllTraffic", 2, 100)]


def _model_folder(loop: LocalLoop) -> Path:
    return Path(loop.process().routing().get("AllTraffic").model_dir)


def test_a_restart_unpacks_a_missing_model_again_and_replaces_a_tampered_one(
    local_loop: LocalLoop, capsys: pytest.CaptureFixture[str]
) -> None:
    ensure_serving(local_loop, 1)
    folder, cfg = _model_folder(local_loop), local_loop.config()
    assert main(["endpoint", "stop", "--env", "prod"]) == 0
    shutil.rmtree(folder)
    assert main(["deploy", "--env", "prod"]) == 0  # OutOfService: the deploy starts the server again
    assert "unpacked" in capsys.readouterr().err and (folder / "model.joblib").is_file()
    assert local_loop.endpoints().invoke("prod", cfg, CSV_ROW.encode(), "text/csv").status == 200
    assert main(["endpoint", "stop", "--env", "prod"]) == 0
    erroring = Path(local_loop.model(3).artifact_uri.removeprefix("file://"))
    shutil.unpack_archive(erroring, folder.parent / "erroring")
    shutil.copy(folder.parent / "erroring" / "model.joblib", folder / "model.joblib")  # a model that always fails
    assert main(["endpoint", "start", "--env", "prod"]) == 0
    assert "model.joblib differs from the archive" in capsys.readouterr().err
    assert local_loop.endpoints().invoke("prod", cfg, CSV_ROW.encode(), "text/csv").status == 200


def test_plan_reports_an_endpoint_that_cannot_serve_and_deploy_repairs_it(
    local_loop: LocalLoop, capsys: pytest.CaptureFixture[str]
) -> None:
    ensure_serving(local_loop, 1)
    process = local_loop.process()
    shutil.rmtree(_model_folder(local_loop))
    worker = next(iter(rt.read_acks(process.state_dir).values()))
    os.kill(worker.pid, signal.SIGKILL)  # restarted by its supervisor, it finds no model to load
    assert wait_until(lambda: process.serves("AllTraffic", local_loop.model(1).sha256) is not None, 20)
    capsys.readouterr()
    assert main(["plan", "--env", "prod"]) == 10
    assert "endpoint.status: Failed → InService" in capsys.readouterr().out
    assert main(["deploy", "--env", "prod"]) == 0
    assert main(["plan", "--env", "prod"]) == 0


def test_a_failed_endpoint_start_leaves_no_server_running(local_loop: LocalLoop) -> None:
    ensure_serving(local_loop, 1)
    state_dir, port = local_loop.workspace.endpoint_dir("prod"), local_loop.config().local.port
    assert main(["endpoint", "stop", "--env", "prod"]) == 0
    artifact = Path(local_loop.model(1).artifact_uri.removeprefix("file://"))
    hidden = artifact.with_name("hidden.tar.gz")
    artifact.rename(hidden)
    try:
        assert main(["endpoint", "start", "--env", "prod"]) == 7
    finally:
        hidden.rename(artifact)
    assert not lock_held(state_dir) and refused(port)


class _Other(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        body = b'{"predictions": [{"label": 0, "probability": 0.5}]}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def _set_port(loop: LocalLoop, port: int) -> str:
    path = loop.workspace.config_dir / "prod.yaml"
    original = path.read_text()
    path.write_text(re.sub(r"(?m)^(\s+port:\s*)\d+", lambda m: f"{m.group(1)}{port}", original))
    return original


def test_invoke_and_smoke_refuse_a_server_that_is_not_this_endpoint(
    local_loop: LocalLoop, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ensure_serving(local_loop, 1)  # prod pins a model, so smoke has something to test
    other = EndpointProcess.start(tmp_path / "other", free_port(), 1, "churn-other")
    plain = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Other)
    threading.Thread(target=plain.serve_forever, daemon=True).start()
    request = tmp_path / "row.csv"
    request.write_text(CSV_ROW)
    original = _set_port(local_loop, other.port)
    try:
        assert main(["invoke", "--env", "prod", "--file", str(request), "--content-type", "text/csv"]) == 7
        assert f"127.0.0.1:{other.port} is served by endpoint 'churn-other', not endpoint 'churn-prod'" in (
            capsys.readouterr().err
        )
        _set_port(local_loop, plain.server_address[1])
        assert main(["smoke", "--env", "prod"]) != 0
        assert "is served by a server that is not an mlops endpoint" in capsys.readouterr().err
    finally:
        (local_loop.workspace.config_dir / "prod.yaml").write_text(original)
        plain.shutdown()
        plain.server_close()
        other.stop()


ORPHAN = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
if os.fork():
    os._exit(0)  # the 'supervisor' dies; its 'worker' keeps the lock, as a worker without its ties would
time.sleep(60)
"""


def test_leftovers_of_a_killed_server_are_found_and_ended_by_the_next_start(tmp_path: Path) -> None:
    state = tmp_path / "ep"
    state.mkdir()
    leader = os.posix_spawn(sys.executable, [sys.executable, "-c", ORPHAN, str(state / rt.LOCK_FILE)],
                            dict(os.environ), setsid=True)  # fmt: skip
    os.waitpid(leader, 0)
    (state / rt.PID_FILE).write_text(f"{leader}\n")
    assert wait_until(lambda: lock_held(state), 5)
    assert inspect(state).phase == "orphaned" and EndpointProcess.attach(state) is None
    process = EndpointProcess.start(state, free_port(), 1, "adopted")  # ends the leftover, then starts
    try:
        assert inspect(state).phase == "running" and process.alive()
    finally:
        process.stop()
    assert not lock_held(state)
