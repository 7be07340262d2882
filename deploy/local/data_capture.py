"""Data capture for local endpoints, in SageMaker's format and key layout (server side).

A sampled request and its response become one JSON Lines record::

    {"captureData": {"endpointInput": {"observedContentType": "text/csv", "mode": "INPUT",
                                       "data": "...", "encoding": "CSV"},
                     "endpointOutput": {...  "mode": "OUTPUT" ...}},
     "eventMetadata": {"eventId": "<uuid>", "inferenceTime": "2026-01-01T00:00:00.000Z",
                       "inferenceId": "<the client's, when sent>"},
     "eventVersion": "0"}

under ``<root>/<endpoint>/<variant>/yyyy/mm/dd/hh/<mm-ss-fff>-<uuid>.jsonl``, as an endpoint's
``DataCaptureConfig`` writes to S3, so one reader (``ml.capture``) serves both backends. A
deploy writes the endpoint's ``data_capture`` settings to ``capture.json`` in its state folder;
each server worker follows that file (``WorkerCapture``) the way it follows the routing table.
The serving path only samples and appends the request, the answer and the time to a buffer;
a background thread formats the records and writes a file per flush every few seconds (or
sooner when the buffer fills), so serving never waits for the disk or the JSON encoder.
"""

from __future__ import annotations

import base64
import json
import random
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

CAPTURE_DIR = "capture"  # below the workspace state folder (.mlops/capture/<endpoint>/<variant>/…)
SETTINGS_FILE = "capture.json"  # in an endpoint's state folder: what its workers capture, and where
FLUSH_RECORDS = 1000
FLUSH_SECONDS = 5.0
_TEXT_ENCODINGS = {"text/csv": "CSV", "application/json": "JSON"}


def _payload(body: bytes, content_type: str, mode: str) -> dict[str, str]:
    kind = content_type.split(";")[0].strip().lower()
    encoding = _TEXT_ENCODINGS.get(kind)
    if encoding is not None:
        try:
            data = body.decode("utf-8")
        except UnicodeDecodeError:
            encoding = None
    if encoding is None:
        encoding, data = "BASE64", base64.b64encode(body).decode("ascii")
    return {"observedContentType": content_type, "mode": mode, "data": data, "encoding": encoding}


def capture_record(
    request: bytes,
    request_type: str,
    response: bytes,
    response_type: str,
    *,
    when: datetime,
    inference_id: str | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """One capture line's content, as SageMaker writes it."""
    metadata = {
        "eventId": event_id or str(uuid.uuid4()),
        "inferenceTime": when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z",
    }
    if inference_id:
        metadata["inferenceId"] = inference_id
    return {
        "captureData": {
            "endpointInput": _payload(request, request_type, "INPUT"),
            "endpointOutput": _payload(response, response_type, "OUTPUT"),
        },
        "eventMetadata": metadata,
        "eventVersion": "0",
    }


def _line(
    request: bytes, request_type: str, response: bytes, response_type: str, when: float, inference_id: str | None
) -> str:
    moment = datetime.fromtimestamp(when, UTC)
    record = capture_record(request, request_type, response, response_type, when=moment, inference_id=inference_id)
    return json.dumps(record, separators=(",", ":"))


def capture_key(endpoint: str, variant: str, when: datetime) -> str:
    """The object key (file path) of a capture file started at ``when``."""
    when = when.astimezone(UTC)
    name = f"{when:%M-%S}-{when.microsecond // 1000:03d}-{uuid.uuid4()}.jsonl"
    return f"{endpoint}/{variant}/{when:%Y/%m/%d/%H}/{name}"


class CaptureWriter:
    """Samples requests and writes them as capture files below ``root``; one per serving worker."""

    def __init__(
        self, root: Path, endpoint: str, sampling_percentage: int, *, rng: random.Random | None = None
    ) -> None:
        self.root = Path(root)
        self.endpoint = endpoint
        self.share = sampling_percentage / 100.0
        self.rng = rng or random.Random()  # noqa: S311 - sampling, not security
        self.pending: dict[str, list[tuple[Any, ...]]] = {}
        self.count = 0
        self.lock = threading.Lock()  # the serving loop appends, the flusher thread takes
        self.stopped = threading.Event()
        self.wake = threading.Event()  # a full buffer asks the flusher not to wait out the interval
        self.thread: threading.Thread | None = None

    def start(self) -> CaptureWriter:
        """Flush every FLUSH_SECONDS from a daemon thread until `close`."""
        self.thread = threading.Thread(target=self._run, name="data-capture", daemon=True)
        self.thread.start()
        return self

    def _run(self) -> None:
        while not self.stopped.is_set():
            self.wake.wait(FLUSH_SECONDS)
            self.wake.clear()
            self.flush()

    def close(self) -> None:
        """Stop the flusher and write what is left (the server drains before exiting)."""
        self.stopped.set()
        self.wake.set()
        if self.thread is not None:
            self.thread.join(timeout=FLUSH_SECONDS)
        self.flush()

    def sampled(self) -> bool:
        return self.share >= 1.0 or (self.share > 0 and self.rng.random() < self.share)

    def record(
        self,
        variant: str,
        request: bytes,
        request_type: str,
        response: bytes,
        response_type: str,
        inference_id: str | None = None,
    ) -> bool:
        """Capture one answered request if it is sampled; returns whether it was."""
        if not self.sampled():
            return False
        item = (request, request_type, response, response_type, time.time(), inference_id)
        with self.lock:
            self.pending.setdefault(variant, []).append(item)
            self.count += 1
            full = self.count >= FLUSH_RECORDS
        if full:
            if self.thread is not None:
                self.wake.set()
            else:
                self.flush()
        return True

    def flush(self) -> None:
        """Write what is buffered, one new file per variant (files are never appended to)."""
        with self.lock:
            pending, self.pending, self.count = self.pending, {}, 0
        now = datetime.now(UTC)
        for variant, items in pending.items():
            if not items:
                continue
            lines = [_line(*item) for item in items]
            path = self.root / capture_key(self.endpoint, variant, now)
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(".partial")
            partial.write_text("\n".join(lines) + "\n", encoding="utf-8")
            partial.replace(path)  # readers never see half a file


def write_settings(state_dir: Path, root: Path, endpoint: str, enabled: bool, sampling_percentage: int) -> bool:
    """What a deploy asks the endpoint's workers to capture (`capture.json` in its state folder); True if it changed.

    Running workers re-read the file before they acknowledge a routing generation: a deploy that
    changed it publishes one (`EndpointProcess.republish`) and, once that returns, every worker
    captures as asked.
    """
    document = {"enabled": enabled, "sampling_percentage": sampling_percentage, "root": str(root), "endpoint": endpoint}
    path = state_dir / SETTINGS_FILE
    try:
        if json.loads(path.read_text(encoding="utf-8")) == document:
            return False
    except (OSError, ValueError):
        pass  # none yet, or unreadable: write it
    state_dir.mkdir(parents=True, exist_ok=True)
    temporary = state_dir / f".{SETTINGS_FILE}.tmp"
    temporary.write_text(json.dumps(document), encoding="utf-8")
    temporary.replace(path)
    return True


class WorkerCapture:
    """A server worker's capture: follows `capture.json` (checked like the routing table) and writes records."""

    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / SETTINGS_FILE
        self.stamp: tuple[int, int, int] | None = None
        self.writer: CaptureWriter | None = None
        self.refresh()

    def refresh(self) -> None:
        """Apply a changed `capture.json` (a stat when nothing changed)."""
        try:
            found = self.path.stat()
            stamp = (found.st_ino, found.st_mtime_ns, found.st_size)  # each write replaces the file
        except OSError:
            stamp = None
        if stamp == self.stamp:
            return
        self.stamp = stamp
        settings = self._read()
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        if settings and settings.get("enabled") and settings.get("sampling_percentage", 0) > 0:
            self.writer = CaptureWriter(
                Path(settings["root"]), settings["endpoint"], int(settings["sampling_percentage"])
            ).start()

    def _read(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def record(
        self, variant: str, request: bytes, request_type: str | None, response: bytes, response_type: str,
        inference_id: str | None,
    ) -> None:  # fmt: skip
        if self.writer is not None:
            self.writer.record(variant, request, request_type or "", response, response_type, inference_id)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
