"""Data capture and the monitor for real: a local prod endpoint captures what it answers; the monitor judges it."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.cli.app import main
from deploy.demo_monitor import ROWS_PER_REQUEST, SHIFTED, customers, next_second, send
from deploy.endpoints.reconcile import deploy_environment
from deploy.errors import ExitCode
from deploy.local.data_capture import FLUSH_SECONDS
from tests.e2e.conftest import LOOP_TIME_SCALE, LocalLoop, _scratch_repo
from tests.e2e.test_local_loop import Recorder
from tests.unit.deploy.monitor.trained_model import train_with_baseline


@pytest.fixture(scope="module")
def loop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalLoop]:
    root = tmp_path_factory.mktemp("monitor") / "repo"
    _scratch_repo(root, LOOP_TIME_SCALE)
    prod = root / "config" / "prod.yaml"
    text = prod.read_text().replace("  data_capture:\n    enabled: false", "  data_capture:\n    enabled: true")
    prod.write_text(re.sub(r"sampling_percentage: \d+", "sampling_percentage: 100", text))
    loop = LocalLoop(root)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLOPS_ROOT", str(root))
        _register_with_baseline(loop, train_with_baseline(root.parent / "trained"))
        deploy_environment(loop.backend(), "prod", loop.pin(1), Recorder())
        try:
            yield loop
        finally:
            process = loop.process("prod")
            if process is not None:
                process.stop()


def _register_with_baseline(loop: LocalLoop, trained: Path) -> None:
    """Store and register the model with its baseline, as `mlops pipeline run` does at its end."""
    registry = loop.backend().registry()
    uri, sha256 = registry.store_artifact(trained / "archive" / "model.tar.gz")
    registry.register("churn-classifier", artifact_uri=uri, sha256=sha256, evaluation={}, lineage={},
                      baselines=registry.store_baseline(trained / "base"))  # fmt: skip


def wave(loop: LocalLoop, seed: int, shifted: bool, captured_on: bool = True) -> str:
    """Send one wave of customers; return when capture has written every answer (or, off, could have)."""
    started = next_second()  # `--since` counts whole seconds: the window holds this wave only
    before = len(captured(loop))
    frame = customers(seed, shifted)
    assert send(loop.config().local.port, frame) == 0
    if captured_on:
        await_captured(loop, before + -(-len(frame) // ROWS_PER_REQUEST))
    else:
        time.sleep(FLUSH_SECONDS + 1.5)  # nothing may arrive: wait out a whole flush interval
    return started


def captured(loop: LocalLoop) -> list[dict]:
    """Every record written so far; a line the writer has not finished is not one yet."""
    folder = loop.workspace.state / "capture" / "churn-prod"
    records = []
    for file in sorted(folder.rglob("*.jsonl")):
        lines = file.read_text().split("\n")
        records += [json.loads(line) for line in lines[:-1] if line]  # the last is partial, or empty
    return records


def await_captured(loop: LocalLoop, count: int, timeout: float = FLUSH_SECONDS * 6) -> list[dict]:
    """The records once there are `count` of them (capture writes every FLUSH_SECONDS)."""
    deadline = time.monotonic() + timeout
    while len(records := captured(loop)) < count:
        assert time.monotonic() < deadline, f"{len(records)} of {count} records captured in {timeout:.0f} s"
        time.sleep(0.2)
    return records


def test_answers_are_captured_in_sagemakers_format(loop: LocalLoop, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLOPS_ROOT", str(loop.root))
    before = len(captured(loop))
    wave(loop, 7, shifted=False)
    records = captured(loop)[before:]
    assert len(records) == 300  # every request of the wave, at 100 % sampling
    record = records[0]
    assert record["captureData"]["endpointInput"]["observedContentType"] == "text/csv"
    assert record["captureData"]["endpointInput"]["data"].count("\n") == 4  # five rows per request
    assert record["captureData"]["endpointOutput"]["encoding"] == "JSON"
    assert re.fullmatch(r"[0-9a-f-]{36}", record["eventMetadata"]["inferenceId"])  # the client's InferenceId
    files = list((loop.workspace.state / "capture" / "churn-prod").rglob("*.jsonl"))
    assert all(
        re.fullmatch(
            r"AllTraffic|green|blue|[\w-]+", f.relative_to(loop.workspace.state / "capture" / "churn-prod").parts[0]
        )
        for f in files
    )


def test_monitor_is_quiet_then_names_the_shift(loop: LocalLoop, monkeypatch, capsys) -> None:
    monkeypatch.setenv("MLOPS_ROOT", str(loop.root))
    since = wave(loop, 11, shifted=False)
    assert main(["monitor", "--env", "prod", "--since", since]) == 0
    assert "verdict: no drift, no violations" in capsys.readouterr().out
    since = wave(loop, 12, shifted=True)
    assert main(["monitor", "--env", "prod", "--since", since, "--format", "json"]) == int(ExitCode.MONITOR_DRIFT)
    result = json.loads(capsys.readouterr().out)
    assert result["drifted_features"] == list(SHIFTED)
    checks = {(v["feature_name"], v["constraint_check_type"]) for v in result["violations"]}
    assert checks == {("payment_method", "categorical_values_check"), ("age", "completeness_check")}


def test_turning_capture_off_is_applied_by_the_next_deploy(loop: LocalLoop, monkeypatch) -> None:
    monkeypatch.setenv("MLOPS_ROOT", str(loop.root))
    prod = loop.root / "config" / "prod.yaml"
    prod.write_text(
        prod.read_text().replace("  data_capture:\n    enabled: true", "  data_capture:\n    enabled: false")
    )
    before = len(captured(loop))
    deploy_environment(loop.backend(), "prod", loop.config(), Recorder())
    try:
        # The deploy returns once every worker follows the new settings: a request right after it is not captured.
        assert send(loop.config().local.port, customers(14, False).head(ROWS_PER_REQUEST)) == 0
        wave(loop, 13, shifted=False, captured_on=False)
        assert len(captured(loop)) == before
        assert Path(loop.workspace.endpoint_dir("prod") / "capture.json").is_file()
    finally:  # the module's other tests, in whatever order they run, expect capture on
        prod.write_text(
            prod.read_text().replace("  data_capture:\n    enabled: false", "  data_capture:\n    enabled: true")
        )
        deploy_environment(loop.backend(), "prod", loop.config(), Recorder())


def test_invoke_and_smoke_send_an_inference_id_that_capture_records(
    loop: LocalLoop, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MLOPS_ROOT", str(loop.root))
    before = len(captured(loop))
    request = tmp_path / "row.csv"
    request.write_text("3,89.5,268.5,4,34,12.5,month-to-month,electronic_check,fiber_optic,yes\n")
    assert main(["invoke", "--env", "prod", "--file", str(request), "--inference-id", "order-4711"]) == 0
    assert main(["smoke", "--env", "prod"]) == 0
    requests = 1 + sum(loop.config().smoke.requests for _ in loop.config().smoke.payloads)
    ids = [r["eventMetadata"].get("inferenceId") for r in await_captured(loop, before + requests)[before:]]
    assert "order-4711" in ids
    assert "smoke-one-row-json-1" in ids and f"smoke-one-row-json-{loop.config().smoke.requests}" in ids
