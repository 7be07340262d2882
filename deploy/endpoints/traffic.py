"""Replay requests against an endpoint while a deploy bakes, so canary analysis has traffic (control plane).

`mlops deploy --traffic test-split|FILE [--traffic-rps N]` runs a `TrafficReplay` around the
deploy: a few threads send the rows of the model's test split (one CSV row per request, label
column dropped), or the requests of a payload file, through `EndpointBackend.invoke`, the
same call `mlops invoke` makes, so it works for any backend. The replay stops when the deploy
ends, and in any case after `max_seconds`. Each answer is kept as a `Sample` (time, status,
variant) for the summary line and for tests that check who served what.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from deploy.config.schema import EnvironmentConfig
from deploy.endpoints import EndpointBackend
from deploy.errors import ConfigError, MlopsError
from deploy.registry import ModelVersion

if TYPE_CHECKING:
    from deploy.backends import Backend

TEST_SPLIT = "test-split"
MAX_PAYLOADS = 5000


@dataclass(frozen=True)
class Payload:
    body: bytes
    content_type: str


@dataclass(frozen=True)
class Sample:
    at: float  # time.monotonic() when the answer arrived
    status: int  # 0: no HTTP answer (endpoint down, connection error)
    variant: str | None
    latency_ms: float


def test_split_file(model: ModelVersion) -> Path:
    """The test split written by the pipeline run that produced `model` (local runs only)."""
    run_dir = model.lineage.get("run_dir")
    found = sorted(Path(run_dir).glob("preprocess/**/output/test/*.csv")) if run_dir else []
    if not found:
        raise ConfigError(
            f"--traffic {TEST_SPLIT}: {model.label} has no local test split (lineage run_dir {run_dir!r}); "
            "pass a payload file instead"
        )
    return found[0]


def csv_rows(text: str, label: str) -> list[Payload]:
    """One single-row CSV request per data row; a header row is used to drop the label column."""
    rows = [row for row in csv.reader(io.StringIO(text)) if row]
    if not rows:
        return []
    drop = rows[0].index(label) if label in rows[0] else None
    if drop is not None or rows[0][0].isidentifier():  # a header row names its columns
        rows = rows[1:]
    payloads = []
    for row in rows[:MAX_PAYLOADS]:
        cells = [c for i, c in enumerate(row) if i != drop]
        line = io.StringIO()
        csv.writer(line, lineterminator="\n").writerow(cells)
        payloads.append(Payload(line.getvalue().encode(), "text/csv"))
    return payloads


def load_payloads(spec: str, model: ModelVersion | None, label: str) -> list[Payload]:
    """`test-split`, a `.csv` (a request per row), a `.jsonl` (a request per line) or any other body file."""
    if spec == TEST_SPLIT:
        if model is None:
            raise ConfigError(f"--traffic {TEST_SPLIT}: no model is pinned")
        return _non_empty(csv_rows(test_split_file(model).read_text(encoding="utf-8"), label), spec)
    path = Path(spec)
    if not path.is_file():
        raise ConfigError(f"--traffic {spec}: no such file (use '{TEST_SPLIT}' or a payload file)")
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".csv":
        return _non_empty(csv_rows(text, label), spec)
    if path.suffix == ".jsonl":
        return _non_empty([Payload(line.encode(), "application/json") for line in text.splitlines() if line], spec)
    kind = "application/json" if path.suffix == ".json" else "text/csv"
    if kind == "application/json":
        json.loads(text)  # a broken file is the user's mistake, not traffic for the alarms
    return [Payload(text.encode(), kind)]


def _non_empty(payloads: list[Payload], spec: str) -> list[Payload]:
    if not payloads:
        raise ConfigError(f"--traffic {spec}: no requests found")
    return payloads


class TrafficReplay:
    """Background threads invoking the endpoint at about `rps` requests per second."""

    def __init__(
        self,
        endpoints: EndpointBackend,
        env: str,
        cfg: EnvironmentConfig,
        payloads: list[Payload],
        rps: float = 100,
        threads: int = 4,
        max_seconds: float = 600,
    ) -> None:
        self.endpoints, self.env, self.cfg, self.payloads = endpoints, env, cfg, payloads
        self.interval = threads / max(rps, 0.1)
        self.max_seconds = max_seconds
        self.samples: list[Sample] = []
        self._next = itertools.count()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, name=f"traffic-{i}", daemon=True) for i in range(threads)]

    def __enter__(self) -> TrafficReplay:
        self.started = time.monotonic()
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=70)

    def _run(self) -> None:
        due = time.monotonic()
        while not self._stop.is_set() and time.monotonic() - self.started < self.max_seconds:
            payload = self.payloads[next(self._next) % len(self.payloads)]
            try:
                answer = self.endpoints.invoke(self.env, self.cfg, payload.body, payload.content_type)
                sample = Sample(time.monotonic(), answer.status, answer.variant, answer.latency_ms)
            except MlopsError:
                sample = Sample(time.monotonic(), 0, None, 0.0)
            with self._lock:
                self.samples.append(sample)
            due = max(due + self.interval, time.monotonic() - self.interval)
            self._stop.wait(max(0.0, due - time.monotonic()))

    def summary(self) -> str:
        samples = list(self.samples)
        server = sum(1 for s in samples if s.status >= 500)
        client = sum(1 for s in samples if 400 <= s.status < 500)
        unanswered = sum(1 for s in samples if s.status == 0)
        by_variant = Counter(s.variant or "none" for s in samples if s.status)
        served = ", ".join(f"{name} {count}" for name, count in sorted(by_variant.items()))
        seconds = (samples[-1].at - self.started) if samples else 0.0
        text = f"traffic replay: {len(samples)} requests in {seconds:.1f} s, {server} 5xx, {client} 4xx"
        if unanswered:
            text += f", {unanswered} unanswered (endpoint not up yet)"
        return text + (f"; answered by {served}" if served else "")


def start_replay(backend: Backend, env: str, cfg: EnvironmentConfig, spec: str, rps: float) -> TrafficReplay:
    """The replay `mlops deploy --traffic` runs around a deploy (not started yet)."""
    model = None
    if cfg.model.pinned and cfg.model.version is not None:
        model = backend.registry().get(backend.pipeline.registry.model_package_group, cfg.model.version)
    payloads = load_payloads(spec, model, backend.pipeline.features.label)
    return TrafficReplay(backend.endpoints(), env, cfg, payloads, rps=rps,
                         max_seconds=cfg.deployment.max_execution_timeout_seconds)  # fmt: skip
