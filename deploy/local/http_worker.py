"""One server worker: an asyncio loop speaking HTTP/1.1 with httptools, predicting inline (server side).

Prediction is CPU-bound and short, so it runs on the loop itself: one worker per core and no
threads means no GIL contention and no hand-offs. Keep-alive and pipelining are supported.
Every client mistake is a 4xx with a JSON reason (`ml.inference` raises `PayloadError`); only
an exception inside the model's handlers is a 5xx, counted against the variant that served.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import socket
import time
from http import HTTPStatus
from pathlib import Path
from typing import Any

import httptools

from deploy.local.routing_table import METRICS_DIR, read_routing
from deploy.local.serving_metrics import MetricsBlock
from deploy.local.variant_pool import NoRoute, VariantPool

log = logging.getLogger("deploy.local.server")
MAX_BODY = 6 * 1024 * 1024  # SageMaker's InvokeEndpoint payload limit
DISCARD_LIMIT = 64 * 1024 * 1024  # beyond this a rejected body is not drained, the connection is dropped
JSON_TYPE = b"application/json"
POLL_SECONDS = 0.05
DRAIN_SECONDS = 10.0


def error_body(reason: str) -> bytes:
    return json.dumps({"error": reason, "message": reason}).encode()


class Worker:
    """What every connection of this worker shares."""

    def __init__(self, pool: VariantPool, handlers: Any, endpoint_name: str) -> None:
        self.pool = pool
        self.handlers = handlers
        self.runtime_path = f"/endpoints/{endpoint_name}/invocations".encode()
        self.connections: set[Connection] = set()
        self.draining = False
        self._types: dict[str, bytes] = {}

    def type_bytes(self, content_type: str) -> bytes:
        cached = self._types.get(content_type)
        if cached is None:
            cached = self._types[content_type] = content_type.encode("latin-1")
        return cached


class Connection(asyncio.Protocol):
    """One client connection; httptools calls the `on_*` methods while `data_received` feeds it."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.busy = False
        self._reset()

    def _reset(self) -> None:
        self.url = b""
        self.content_type: str | None = None
        self.accept: str | None = None
        self.target: str | None = None
        self.length = 0
        self.body: list[bytes] = []
        self.size = 0
        self.rejected = False
        self.expect_continue = False
        self.started = time.perf_counter_ns()

    # ---------------------------------------------------------------- transport events
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.worker.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.worker.connections.discard(self)
        self.transport = None

    def pause_writing(self) -> None:
        if self.transport is not None:
            self.transport.pause_reading()  # a client that does not read its answers stops being read

    def resume_writing(self) -> None:
        if self.transport is not None:
            self.transport.resume_reading()

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(400, "protocol upgrades are not supported")
        except httptools.HttpParserError as error:
            self._fail(400, f"malformed HTTP request: {error}")

    # ---------------------------------------------------------------- parser callbacks
    def on_message_begin(self) -> None:
        self._reset()
        self.busy = True

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        name = name.lower()
        if name == b"content-type":
            self.content_type = value.decode("latin-1")
        elif name == b"accept":
            self.accept = value.decode("latin-1")
        elif name == b"content-length":
            self.length = int(value) if value.isdigit() else 0
        elif name == b"x-amzn-sagemaker-target-variant":
            self.target = value.decode("latin-1")
        elif name == b"expect":
            self.expect_continue = value.lower() == b"100-continue"

    def on_headers_complete(self) -> None:
        if self.length > MAX_BODY:
            self._reject_too_large(self.length)
        elif self.expect_continue and self.transport is not None:
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.rejected:
            if self.size > DISCARD_LIMIT and self.transport is not None:
                self.transport.close()
            return
        if self.size > MAX_BODY:  # chunked bodies carry no Content-Length to refuse early
            self.body.clear()
            self._reject_too_large(self.size)
            return
        self.body.append(chunk)

    def on_message_complete(self) -> None:
        if self.rejected:
            if self.transport is not None:
                self.transport.close()
            return
        path = self.url.partition(b"?")[0]
        method = self.parser.get_method()
        if path == b"/invocations" or path == self.worker.runtime_path:
            if method == b"POST":
                self._invoke(runtime=path != b"/invocations")
            else:
                self._respond(405, error_body("use POST for invocations"), JSON_TYPE)
        elif path == b"/ping" and method in (b"GET", b"HEAD"):
            self._ping()
        elif path.startswith(b"/endpoints/") and path.endswith(b"/invocations"):
            name = path[len(b"/endpoints/") : -len(b"/invocations")].decode(errors="replace")
            self._respond(404, error_body(f"endpoint {name!r} is not served here"), JSON_TYPE, runtime=True)
        else:
            self._respond(404, error_body(f"no such path {path.decode(errors='replace')!r}"), JSON_TYPE)

    # ---------------------------------------------------------------- answers
    def _ping(self) -> None:
        pool = self.worker.pool
        if pool.ready:
            self._respond(200, b'{"status": "healthy"}', JSON_TYPE)
        else:
            self._respond(503, error_body("no variant with a weight above 0 is loaded"), JSON_TYPE)

    def _invoke(self, runtime: bool) -> None:
        worker = self.worker
        try:
            route = worker.pool.pick(self.target)
        except NoRoute as error:
            self._respond(error.status, error_body(error.reason), JSON_TYPE, runtime=runtime)
            return
        handlers, model = worker.handlers, route.model
        body = b"".join(self.body)
        began = time.perf_counter_ns()
        try:
            data = handlers.input_fn(body, self.content_type, model)
            answer, answer_type = handlers.output_fn(handlers.predict_fn(data, model), self.accept)
            status, kind = 200, worker.type_bytes(answer_type)
        except handlers.PayloadError as error:
            status, answer, kind = error.status, error_body(error.reason), JSON_TYPE
        except Exception as error:  # a failing model is the variant's 5xx, never the worker's death
            log.exception("variant %s v%d failed a request", route.name, route.version)
            status, answer, kind = 500, error_body(f"model error: {type(error).__name__}: {error}"), JSON_TYPE
        ended = time.perf_counter_ns()
        # Counted before answering, so a client that reads metrics after its reply sees its request.
        worker.pool.metrics.record(route.metrics_base, status, (ended - self.started) // 1000, (ended - began) // 1000)
        self._respond(status, answer, kind, route.header, runtime=runtime)

    def _reject_too_large(self, size: int) -> None:
        self.rejected = True
        reason = f"body of {size} bytes exceeds the limit of {MAX_BODY} bytes"
        route = None
        if self.url.partition(b"?")[0] in (b"/invocations", self.worker.runtime_path):
            try:
                route = self.worker.pool.pick(self.target)
            except NoRoute:
                route = None
        if route is not None:
            latency = (time.perf_counter_ns() - self.started) // 1000
            self.worker.pool.metrics.record(route.metrics_base, 413, latency, None)
        # The body is drained, not read into memory, so the client gets this answer, not a reset.
        self._respond(413, error_body(reason), JSON_TYPE, route.header if route else b"", close=True, done=False)

    def _fail(self, status: int, reason: str) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self._respond(status, error_body(reason), JSON_TYPE, close=True)

    def _respond(
        self, status: int, body: bytes, kind: bytes, extra: bytes = b"", *,
        runtime: bool = False, close: bool = False, done: bool = True,
    ) -> None:  # fmt: skip
        transport = self.transport
        if transport is None:
            return
        keep = not close and not self.worker.draining and self.parser.should_keep_alive()
        head = b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n%s" % (
            status, _REASONS.get(status, b"Unknown"), kind, len(body), extra,
        )  # fmt: skip
        if runtime and status >= 400:  # botocore reads the error code of a REST-JSON service here
            head += b"X-Amzn-ErrorType: " + (b"ModelError" if status < 500 else b"InternalFailure") + b":\r\n"
        transport.write(head + (b"\r\n" if keep else b"Connection: close\r\n\r\n") + body)
        if done:
            self.busy = False
            if not keep:
                transport.close()


_REASONS = {s.value: s.phrase.encode() for s in HTTPStatus}


async def _follow_routing(pool: VariantPool) -> None:
    """Apply every new routing generation; models load in a thread so serving goes on."""
    loop = asyncio.get_running_loop()
    while True:
        routing = pool.poll()
        if routing is not None:
            pool.install(await loop.run_in_executor(None, pool.prepare, routing))
        await asyncio.sleep(POLL_SECONDS)


async def serve(sock: socket.socket, worker: Worker) -> None:
    """Serve until SIGTERM, then stop accepting, let in-flight requests finish, and return."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    server = await loop.create_server(lambda: Connection(worker), sock=sock, backlog=1024)
    follower = asyncio.create_task(_follow_routing(worker.pool))
    await stop.wait()
    worker.draining = True
    server.close()
    for connection in list(worker.connections):
        if not connection.busy and connection.transport is not None:
            connection.transport.close()
    deadline = loop.time() + DRAIN_SECONDS
    while worker.connections and loop.time() < deadline:
        await asyncio.sleep(0.02)
    follower.cancel()
    log.info("worker %d: drained, exiting", worker.pool.index)


def run_worker(index: int, sock: socket.socket, state_dir: Path, endpoint_name: str) -> int:
    """The body of a forked worker process; returns its exit code."""
    import ml.inference as handlers  # scikit-learn is imported here, in the worker, never in deploy/

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the supervisor, which drains us
    metrics = MetricsBlock(state_dir / METRICS_DIR / f"worker-{index}.bin")
    pool = VariantPool(state_dir, index, metrics, handlers.model_fn)
    pool.install(pool.prepare(pool.poll() or read_routing(state_dir)))
    asyncio.run(serve(sock, Worker(pool, handlers, endpoint_name)))
    return 0
