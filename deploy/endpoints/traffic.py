"""Replay requests against an endpoint while a deploy bakes, so canary analysis has traffic (control plane).

`mlops deploy --traffic test-split|golden|FILE [--traffic-rps N]` runs a `TrafficReplay` around
the deploy: a few threads send the rows of the model's test split (one CSV row per request,
label column dropped), the golden payloads of the environment's `smoke:` block, or the
requests of a payload file, through `EndpointBackend.invoke`, the same call `mlops invoke`
makes (SageMaker: `sagemaker-runtime` InvokeEndpoint), so it works for any backend. The
rollback alarms have datapoints only if the new fleet answers requests: a quiet endpoint
passes any canary unjudged, because no data is not breaching.

The replay is bounded: about `rps` requests per second, never longer than `max_seconds`, and
stopped when the deploy ends. An adapter that reports when the new fleet is being judged
(`judging` in its traffic snapshots; SageMaker: the new fleet is ActivatingTraffic or Baking
or holds traffic) gets requests only then, so nothing is spent while instances are
provisioned. Each answer is kept as a `Sample` (time, status, variant) for the summary line
and for tests that check who served what.
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
from typing import TYPE_CHECKING, Any

from deploy.config.schema import EnvironmentConfig
from deploy.endpoints import DeployReporter, EndpointBackend
from deploy.errors import ConfigError, MlopsError
from deploy.registry import ModelVersion

if TYPE_CHECKING:
    from deploy.backends import Backend

TEST_SPLIT = "test-split"
GOLDEN = "golden"
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


def test_split_text(model: ModelVersion, endpoints: EndpointBackend | None = None) -> str:
    """The test split of the run that produced `model`: its local run folder, else as the backend reaches it."""
    run_dir = model.lineage.get("run_dir")
    found = sorted(Path(run_dir).glob("preprocess/**/output/test/*.csv")) if run_dir else []
    if found:
        return found[0].read_text(encoding="utf-8")
    text = endpoints.test_split(model) if endpoints is not None and not run_dir else None
    if text is None:
        where = f"lineage run_dir {run_dir!r}" if run_dir else f"lineage run_id {model.lineage.get('run_id')!r}"
        raise ConfigError(
            f"--traffic {TEST_SPLIT}: no test split found for {model.label} ({where}); "
            f"use --traffic {GOLDEN} or a payload file"
        )
    return text


def golden_payloads(cfg: EnvironmentConfig) -> list[Payload]:
    """The smoke test's payloads: the requests `mlops smoke` checks, known to be valid for the model."""
    payloads = []
    for payload in cfg.smoke.payloads:
        body = payload.body if isinstance(payload.body, str) else json.dumps(payload.body)
        payloads.append(Payload(body.encode(), payload.content_type))
    return payloads


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


def load_payloads(
    spec: str,
    model: ModelVersion | None,
    label: str,
    cfg: EnvironmentConfig | None = None,
    endpoints: EndpointBackend | None = None,
) -> list[Payload]:
    """`test-split`, `golden`, a `.csv` (a request per row), a `.jsonl` (a request per line) or any other body file."""
    if spec == GOLDEN:
        if cfg is None:
            raise ConfigError(f"--traffic {GOLDEN}: no environment config to take the smoke payloads from")
        return golden_payloads(cfg)
    if spec == TEST_SPLIT:
        if model is None:
            raise ConfigError(f"--traffic {TEST_SPLIT}: no model is pinned")
        return _non_empty(csv_rows(test_split_text(model, endpoints), label), spec)
    path = Path(spec)
    if not path.is_file():
        raise ConfigError(f"--traffic {spec}: no such file (use '{TEST_SPLIT}', '{GOLDEN}' or a payload file)")
    try:
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".csv":
            return _non_empty(csv_rows(text, label), spec)
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"--traffic {spec}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at {exc.start})"
        ) from None
    except csv.Error as exc:
        raise ConfigError(f"--traffic {spec}: not valid CSV ({exc})") from None
    if path.suffix == ".jsonl":
        return _non_empty([Payload(line.encode(), "application/json") for line in text.splitlines() if line], spec)
    kind = "application/json" if path.suffix == ".json" else "text/csv"
    if kind == "application/json":
        try:
            json.loads(text)  # a broken file is the user's mistake, not traffic for the alarms
        except (ValueError, RecursionError) as exc:
            reason = "nested too deeply" if isinstance(exc, RecursionError) else exc
            raise ConfigError(f"--traffic {spec}: not valid JSON ({reason})") from None
    return [Payload(text.encode(), kind)]


def _non_empty(payloads: list[Payload], spec: str) -> list[Payload]:
    if not payloads:
        raise ConfigError(f"--traffic {spec}: no requests found")
    return payloads


class TrafficReplay:
    """Background threads invoking the endpoint at about `rps` requests per second.

    `gated`: send only while the deploy says the new fleet is being judged (`watch`).
    """

    def __init__(
        self,
        endpoints: EndpointBackend,
        env: str,
        cfg: EnvironmentConfig,
        payloads: list[Payload],
        rps: float = 100,
        threads: int = 4,
        max_seconds: float = 600,
        gated: bool = False,
    ) -> None:
        self.endpoints, self.env, self.cfg, self.payloads = endpoints, env, cfg, payloads
        self.interval = threads / max(rps, 0.1)
        self.max_seconds = max_seconds
        self.gated = gated
        self.samples: list[Sample] = []
        self._next = itertools.count()
        self._stop = threading.Event()
        self._open = threading.Event()
        if not gated:
            self._open.set()
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
        self._open.set()  # wake threads waiting for a bake
        for thread in self._threads:
            thread.join(timeout=70)

    def judging(self, on: bool) -> None:
        """Open or close the gate (only a gated replay listens)."""
        if not self.gated or self._stop.is_set():
            return
        if on:
            self._open.set()
        else:
            self._open.clear()

    def watch(self, reporter: DeployReporter) -> DeployReporter:
        """`reporter`, also opening the gate while the deploy's snapshots say the new fleet is judged."""
        return _GateReporter(self, reporter)

    def _run(self) -> None:
        due = time.monotonic()
        while not self._stop.is_set() and time.monotonic() - self.started < self.max_seconds:
            if not self._open.is_set():
                self._open.wait(0.2)
                due = time.monotonic()
                continue
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
        if self.gated:
            text += ", sent only while the new fleet was judged"
        return text + (f"; answered by {served}" if served else "")


class _GateReporter:
    def __init__(self, replay: TrafficReplay, inner: DeployReporter) -> None:
        self.replay, self.inner = replay, inner

    def event(self, message: str) -> None:
        self.inner.event(message)

    def traffic(self, snapshot: dict[str, Any]) -> None:
        if "judging" in snapshot:
            self.replay.judging(bool(snapshot["judging"]))
        self.inner.traffic(snapshot)


def start_replay(backend: Backend, env: str, cfg: EnvironmentConfig, spec: str, rps: float) -> TrafficReplay:
    """The replay `mlops deploy --traffic` runs around a deploy (not started yet)."""
    model = None
    if cfg.model.pinned and cfg.model.version is not None:
        model = backend.registry().get(backend.pipeline.registry.model_package_group, cfg.model.version)
    endpoints = backend.endpoints()
    payloads = load_payloads(spec, model, backend.pipeline.features.label, cfg, endpoints)
    return TrafficReplay(endpoints, env, cfg, payloads, rps=rps, gated=endpoints.replay_while_judged,
                         max_seconds=cfg.deployment.max_execution_timeout_seconds)  # fmt: skip
