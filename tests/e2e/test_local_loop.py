"""The local deploy loop for real: endpoint servers on free loopback ports, canaries under load, rollbacks.

The tests share one scratch repository and its prod endpoint (`local_loop`, also used by
test_endpoint_lifecycle.py; both modules run on one xdist worker so it is built once); each
test pins the version it starts from, so neither order nor a failure cascades into wrong verdicts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from deploy.cli.app import main
from deploy.endpoints.plan import diff
from deploy.endpoints.reconcile import deploy_environment
from deploy.endpoints.smoke import payload_bytes
from deploy.endpoints.traffic import Payload, TrafficReplay, load_payloads
from deploy.errors import DeployError
from deploy.local.alarms import AlarmMonitor, metric_value
from deploy.local.serving_metrics import VariantMetrics
from tests.readme_console import examples, mlops_shim, run_console

if TYPE_CHECKING:
    from tests.e2e.conftest import LocalLoop

REPO = Path(__file__).resolve().parents[2]
GREEN = "AllTraffic-green"
pytestmark = pytest.mark.xdist_group("local-loop")


class Recorder:
    """A DeployReporter that keeps each event with the time it was reported."""

    def __init__(self) -> None:
        self.events: list[tuple[float, str]] = []
        self.snapshots: list[dict] = []

    def event(self, message: str) -> None:
        self.events.append((time.monotonic(), message))

    def traffic(self, snapshot: dict) -> None:
        self.snapshots.append(snapshot)

    def when(self, fragment: str) -> float:
        return next(t for t, message in self.events if fragment in message)


def ensure_serving(loop: LocalLoop, version: int) -> None:
    """Pin `version` and deploy it (a no-op if it already serves)."""
    cfg = loop.pin(version)
    deploy_environment(loop.backend(), "prod", cfg, Recorder())
    live = loop.endpoints().describe("prod", cfg)
    assert live is not None and live.model_version == version and live.status == "InService"


def replay(loop: LocalLoop, payloads: list[Payload] | None = None, rps: float = 200) -> TrafficReplay:
    cfg = loop.config()
    payloads = payloads or load_payloads("test-split", loop.model(1), "churned")
    return TrafficReplay(loop.endpoints(), "prod", cfg, payloads, rps=rps, max_seconds=60)


def test_first_deploy_creates_the_endpoint(local_loop: LocalLoop, capsys: pytest.CaptureFixture[str]) -> None:
    local_loop.pin(1)
    # Whatever an earlier test of the shared repository left running, start from no endpoint.
    assert main(["teardown", "--env", "prod", "--yes"]) == 0
    assert main(["deploy", "--env", "prod"]) == 0
    assert "created endpoint 'churn-prod'" in capsys.readouterr().err
    cfg = local_loop.config()
    assert diff(cfg, local_loop.endpoints().describe("prod", cfg)) == []
    assert local_loop.model(1).status == "Approved"  # approve_on_deploy in prod


def test_canary_under_load_has_no_failures_and_the_configured_share(local_loop: LocalLoop) -> None:
    ensure_serving(local_loop, 1)
    cfg, recorder = local_loop.pin(2), Recorder()
    with replay(local_loop) as traffic:
        report = deploy_environment(local_loop.backend(), "prod", cfg, recorder)
    assert report.outcome is not None and "v2 serving 100 %" in report.outcome.summary
    assert traffic.samples and all(s.status == 200 for s in traffic.samples), "a request failed during the canary"
    began, ended = recorder.when(f"{GREEN} {cfg.deployment.canary_percent} %"), recorder.when(f"{GREEN} 100 %")
    during = [s for s in traffic.samples if began + 0.05 < s.at < ended - 0.05]
    share = 100 * sum(1 for s in during if s.variant == GREEN) / len(during)
    # Each worker splits by smooth weighted round-robin, so the share is exact to within a request or
    # two per worker: 40 requests judge it to ±5 points even on a loaded machine.
    assert len(during) >= 40, f"only {len(during)} requests during the canary"
    assert abs(share - cfg.deployment.canary_percent) <= 5, f"canary share {share:.1f} %"
    assert any(s["phase"] == "canary 10%" for s in recorder.snapshots)
    assert local_loop.process().routing().variants[0].version == 2
    assert diff(cfg, local_loop.endpoints().describe("prod", cfg)) == []


def test_a_model_that_errors_is_rolled_back_while_blue_keeps_serving(
    local_loop: LocalLoop, capsys: pytest.CaptureFixture[str]
) -> None:
    ensure_serving(local_loop, 2)
    local_loop.pin(3)
    with replay(local_loop) as traffic:
        code = main(["deploy", "--env", "prod"])
    message = capsys.readouterr().err
    assert code == 8
    assert "ROLLED BACK" in message and "churn-prod-5xx" in message and "Invocation5XXErrors" in message
    assert "v2 (blue" in message and "still serving" in message
    blue = [s for s in traffic.samples if s.variant == "AllTraffic"]
    assert blue and all(s.status == 200 for s in blue), "blue failed a request"
    assert all(s.status == 500 for s in traffic.samples if s.variant == GREEN)
    assert all(s.variant in ("AllTraffic", GREEN) for s in traffic.samples)
    routing = local_loop.process().routing()
    assert [(v.name, v.version, v.weight) for v in routing.variants] == [("AllTraffic", 2, 100)]
    live = local_loop.endpoints().describe("prod", local_loop.config())
    assert live is not None and live.model_version == 2 and live.status == "InService"


def test_a_slow_model_trips_the_p99_alarm(local_loop: LocalLoop, capsys: pytest.CaptureFixture[str]) -> None:
    ensure_serving(local_loop, 2)
    local_loop.pin(4)
    code = main(["deploy", "--env", "prod", "--traffic", "test-split", "--traffic-rps", "200"])
    message = capsys.readouterr().err
    assert code == 8
    assert "churn-prod-p99-latency" in message and "ModelLatency p99" in message and "threshold 100,000 µs" in message
    assert "traffic replay:" in message and "0 5xx" in message
    assert [v.version for v in local_loop.process().routing().variants] == [2]


def test_ctrl_c_mid_canary_rolls_back_and_says_so(
    local_loop: LocalLoop, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ensure_serving(local_loop, 2)
    local_loop.pin(1)
    polls = []

    def interrupted(monitor: AlarmMonitor) -> None:
        polls.append(monitor)
        if len(polls) == 3:  # baking the first canary step, alarms watched: the user presses Ctrl-C
            raise KeyboardInterrupt

    monkeypatch.setattr(AlarmMonitor, "poll", interrupted)
    assert main(["deploy", "--env", "prod"]) == 130
    message = capsys.readouterr().err
    assert "prod: interrupted during canary 10%: deploy of churn-classifier v1 ROLLED BACK" in message
    assert "v2 (variant 'AllTraffic') is still serving 100 %" in message
    assert [(v.name, v.version, v.weight) for v in local_loop.process().routing().variants] == [("AllTraffic", 2, 100)]


def test_deploying_the_same_state_again_changes_nothing(
    local_loop: LocalLoop, capsys: pytest.CaptureFixture[str]
) -> None:
    ensure_serving(local_loop, 2)
    process = local_loop.process()
    generation = process.routing().generation
    assert main(["deploy", "--env", "prod"]) == 0
    assert "nothing to do" in capsys.readouterr().err
    assert local_loop.process().pid == process.pid and process.routing().generation == generation
    assert main(["plan", "--env", "prod"]) == 0


def test_a_concurrent_deploy_of_the_same_env_refuses_or_waits(
    local_loop: LocalLoop, capsys: pytest.CaptureFixture[str]
) -> None:
    ensure_serving(local_loop, 2)
    local_loop.pin(1)
    env = {**os.environ, "MLOPS_ROOT": str(local_loop.root)}
    first = subprocess.Popen([sys.executable, "-m", "deploy", "deploy", "--env", "prod"], env=env, cwd=REPO,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while local_loop.process().routing().get(GREEN) is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert main(["deploy", "--env", "prod"]) == 7
        assert "another deploy of 'prod' is running" in capsys.readouterr().err
        assert main(["deploy", "--env", "prod", "--wait", "30"]) == 0  # waits, then finds nothing to do
        assert "nothing to do" in capsys.readouterr().err
    finally:
        _, stderr = first.communicate(timeout=60)
    assert first.returncode == 0, stderr.decode()


BAD_PAYLOADS = [
    Payload(b"", "text/csv"),
    Payload(b"1,2,3\n", "text/csv"),
    Payload(b"3,eighty,268.5,4,34,12.5,month-to-month,electronic_check,fiber_optic,yes\n", "text/csv"),
    Payload(b"<row/>", "application/xml"),
    Payload(b"\x93NUMPY\x01\x00", "application/x-npy"),
    Payload(b'{"instances": [{"age": "old"}]}', "application/json"),
]


def test_bad_payloads_are_4xx_and_do_not_trip_the_5xx_alarm(local_loop: LocalLoop) -> None:
    ensure_serving(local_loop, 1)
    endpoints, cfg = local_loop.endpoints(), local_loop.config()
    for payload in BAD_PAYLOADS:
        answer = endpoints.invoke("prod", cfg, payload.body, payload.content_type)
        assert 400 <= answer.status < 500, (payload, answer.body)
    oversized = endpoints.invoke("prod", cfg, b"1," * (4 * 1024 * 1024), "text/csv")
    assert oversized.status == 413
    cfg, before = local_loop.pin(2), local_loop.process().metrics()
    with replay(local_loop, BAD_PAYLOADS, rps=150) as traffic:  # the canary sees only client mistakes
        report = deploy_environment(local_loop.backend(), "prod", cfg, Recorder())
    assert report.outcome is not None and "v2 serving 100 %" in report.outcome.summary
    assert traffic.samples and all(400 <= s.status < 500 for s in traffic.samples)
    assert any(s.variant == GREEN for s in traffic.samples), "the canary received no requests"
    five_xx = next(a for a in cfg.alarms if a.metric == "Invocation5XXErrors")
    window = local_loop.process().metrics().get(GREEN, VariantMetrics()).window(before.get(GREEN))
    assert window.errors_4xx > 0 and metric_value(five_xx, window) == 0


def test_smoke_invoke_and_endpoint_commands(
    local_loop: LocalLoop, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ensure_serving(local_loop, 2)
    request = tmp_path / "request.json"
    request.write_bytes(payload_bytes(local_loop.config().smoke.payloads[0]))
    assert main(["smoke", "--env", "prod"]) == 0
    assert main(["invoke", "--env", "prod", "--file", str(request)]) == 0
    captured = capsys.readouterr()
    assert len(json.loads(captured.out)["predictions"]) == 1 and "variant AllTraffic" in captured.err
    assert main(["endpoint", "stop", "--env", "prod"]) == 0
    assert main(["endpoint", "status", "--env", "prod"]) == 7
    with pytest.raises(DeployError, match="mlops endpoint start --env prod"):
        local_loop.endpoints().invoke("prod", local_loop.config(), request.read_bytes(), "application/json")
    assert main(["plan", "--env", "prod"]) == 10  # OutOfService shows as a change
    assert main(["endpoint", "start", "--env", "prod"]) == 0
    assert main(["endpoint", "status", "--env", "prod"]) == 0
    assert "v2" in capsys.readouterr().out
    assert main(["plan", "--env", "prod"]) == 0


def test_invoke_guesses_csv_and_a_refused_request_is_its_own_exit_code(
    local_loop: LocalLoop, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ensure_serving(local_loop, 2)
    row = tmp_path / "row.csv"
    row.write_text("12,70.5,846.0,1,41,20.5,month-to-month,electronic_check,fiber_optic,yes\n")
    assert main(["invoke", "--env", "prod", "--file", str(row)]) == 0
    captured = capsys.readouterr()
    assert len(json.loads(captured.out)["predictions"]) == 1 and "sent as text/csv (guessed" in captured.err
    # A client mistake is exit 15 (not 7, "deploy refused or failed"), one line, with a hint.
    assert main(["invoke", "--env", "prod", "--file", str(row), "--content-type", "application/json"]) == 15
    captured = capsys.readouterr()
    (line,) = captured.err.strip().splitlines()
    assert line.startswith("error: endpoint 'churn-prod' answered HTTP 400: invalid JSON")
    assert line.endswith("(the body looks like text/csv: pass --content-type text/csv)")
    assert captured.out == ""
    row.write_text("1,2,3\n")
    assert main(["invoke", "--env", "prod", "--file", str(row)]) == 15
    assert "expected 10 columns" in capsys.readouterr().err


def test_the_readme_invoke_example_prints_what_it_shows(local_loop: LocalLoop, tmp_path: Path) -> None:
    ensure_serving(local_loop, 2)
    env = {**mlops_shim(tmp_path / "bin"), "MLOPS_ROOT": str(local_loop.root)}
    run_console(examples()["invoke-csv"], local_loop.root, env)


def test_the_readme_boto3_snippet_works_as_written_with_no_aws_config(local_loop: LocalLoop, tmp_path: Path) -> None:
    ensure_serving(local_loop, 2)
    code = examples()["boto3-local"].text
    port = local_loop.config().local.port
    assert "http://127.0.0.1:8082" in code and "churn-prod" in code
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {"AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}
    done = subprocess.run(
        [sys.executable, "-c", code.replace("127.0.0.1:8082", f"127.0.0.1:{port}")],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    variant, _, body = done.stdout.partition(" ")
    assert variant == "AllTraffic" and len(json.loads(body)["predictions"]) == 1


def test_endpoint_start_refuses_an_environment_never_deployed(
    local_loop: LocalLoop, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["endpoint", "start", "--env", "staging"]) == 7
    assert "never deployed" in capsys.readouterr().err


def _threads_left() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("traffic-")]


def test_no_replay_thread_outlives_its_deploy() -> None:
    assert _threads_left() == []
