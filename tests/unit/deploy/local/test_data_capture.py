"""The local endpoints' capture writer: SageMaker's record shape and key layout, sampling, files."""

from __future__ import annotations

import json
import random
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from deploy.local.data_capture import CaptureWriter, capture_key, capture_record

T0 = datetime(2026, 3, 1, 7, 5, 9, 123456, tzinfo=UTC)


def test_record_has_sagemakers_fields() -> None:
    record = capture_record(b"1,2", "text/csv", b'{"p": 1}', "application/json", when=T0, inference_id="abc")
    assert record["eventVersion"] == "0"
    assert record["captureData"]["endpointInput"] == {
        "observedContentType": "text/csv",
        "mode": "INPUT",
        "data": "1,2",
        "encoding": "CSV",
    }
    assert record["captureData"]["endpointOutput"]["encoding"] == "JSON"
    assert record["captureData"]["endpointOutput"]["mode"] == "OUTPUT"
    meta = record["eventMetadata"]
    assert meta["inferenceTime"] == "2026-03-01T07:05:09.123Z" and meta["inferenceId"] == "abc"
    assert re.fullmatch(r"[0-9a-f-]{36}", meta["eventId"])
    assert "inferenceId" not in capture_record(b"", "text/csv", b"", "text/csv", when=T0)["eventMetadata"]


def test_binary_or_undecodable_bodies_are_base64() -> None:
    record = capture_record(b"\xff\xfe", "text/csv", b"\x00", "application/x-npy", when=T0)
    assert record["captureData"]["endpointInput"]["encoding"] == "BASE64"
    assert record["captureData"]["endpointInput"]["data"] == "//4="
    assert record["captureData"]["endpointOutput"]["encoding"] == "BASE64"


def test_key_layout_is_the_s3_one() -> None:
    key = capture_key("churn-prod", "AllTraffic", T0)
    assert re.fullmatch(r"churn-prod/AllTraffic/2026/03/01/07/05-09-123-[0-9a-f-]{36}\.jsonl", key)


@pytest.mark.parametrize(("percent", "low", "high"), [(0, 0, 0), (100, 1000, 1000), (20, 150, 250)])
def test_sampling_percentage(tmp_path: Path, percent: int, low: int, high: int) -> None:
    writer = CaptureWriter(tmp_path, "ep", percent, rng=random.Random(1))  # noqa: S311 - a seeded sample
    kept = sum(writer.record("AllTraffic", b"1", "text/csv", b"0.5,1", "text/csv") for _ in range(1000))
    writer.flush()
    assert low <= kept <= high
    lines = [ln for f in tmp_path.rglob("*.jsonl") for ln in f.read_text().splitlines()]
    assert len(lines) == kept


def test_flush_writes_one_new_file_per_variant_and_nothing_half_written(tmp_path: Path) -> None:
    writer = CaptureWriter(tmp_path, "ep", 100)
    writer.record("blue", b"1", "text/csv", b"0.1,0", "text/csv", inference_id="x")
    writer.record("green", b"2", "text/csv", b"0.9,1", "text/csv")
    assert list(tmp_path.rglob("*")) == []  # buffered until a flush
    writer.flush()
    writer.flush()  # nothing pending: no empty file
    files = sorted(tmp_path.rglob("*.jsonl"))
    assert [f.relative_to(tmp_path).parts[:2] for f in files] == [("ep", "blue"), ("ep", "green")]
    assert json.loads(files[0].read_text())["eventMetadata"]["inferenceId"] == "x"
    assert not list(tmp_path.rglob("*.partial"))


def test_the_flusher_thread_writes_without_new_requests_and_close_writes_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from deploy.local import data_capture

    monkeypatch.setattr(data_capture, "FLUSH_SECONDS", 0.05)
    writer = CaptureWriter(tmp_path, "ep", 100).start()
    writer.record("AllTraffic", b"1", "text/csv", b"0.1,0", "text/csv")
    deadline = time.monotonic() + 5
    while not list(tmp_path.rglob("*.jsonl")) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(list(tmp_path.rglob("*.jsonl"))) == 1  # a quiet endpoint's last requests still land
    writer.record("AllTraffic", b"2", "text/csv", b"0.2,0", "text/csv")
    writer.close()
    lines = [ln for f in tmp_path.rglob("*.jsonl") for ln in f.read_text().splitlines()]
    assert len(lines) == 2 and not writer.thread.is_alive()


def test_a_worker_follows_the_settings_a_deploy_writes(tmp_path: Path) -> None:
    from deploy.local.data_capture import WorkerCapture, write_settings

    state, root = tmp_path / "state", tmp_path / "capture"
    worker = WorkerCapture(state)  # no settings yet: nothing captured
    worker.record("AllTraffic", b"1", "text/csv", b"0.1,0", "text/csv", None)
    assert worker.writer is None
    assert write_settings(state, root, "churn-prod", enabled=True, sampling_percentage=100)
    worker.refresh()
    worker.record("AllTraffic", b"2", "text/csv", b"0.2,0", "text/csv", "id-2")
    assert write_settings(state, root, "churn-prod", enabled=False, sampling_percentage=100)  # at once: same clock tick
    worker.refresh()  # capture turned off: what was buffered is written, nothing more is kept
    assert worker.writer is None
    worker.record("AllTraffic", b"3", "text/csv", b"0.3,0", "text/csv", None)
    worker.close()
    lines = [json.loads(ln) for f in root.rglob("*.jsonl") for ln in f.read_text().splitlines()]
    assert [ln["eventMetadata"].get("inferenceId") for ln in lines] == ["id-2"]
    assert all(f.relative_to(root).parts[:2] == ("churn-prod", "AllTraffic") for f in root.rglob("*.jsonl"))


def test_settings_a_deploy_leaves_unchanged_are_not_written_again(tmp_path: Path) -> None:
    from deploy.local.data_capture import SETTINGS_FILE, write_settings

    state, root = tmp_path / "state", tmp_path / "capture"
    assert write_settings(state, root, "churn-prod", enabled=True, sampling_percentage=20)
    written = (state / SETTINGS_FILE).stat()
    assert not write_settings(state, root, "churn-prod", enabled=True, sampling_percentage=20)
    assert (state / SETTINGS_FILE).stat().st_ino == written.st_ino  # untouched: no worker re-reads it
    assert write_settings(state, root, "churn-prod", enabled=True, sampling_percentage=50)
    (state / SETTINGS_FILE).write_text("{not json")
    assert write_settings(state, root, "churn-prod", enabled=True, sampling_percentage=50)  # unreadable: rewritten
