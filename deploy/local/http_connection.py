"""One client connection of a server worker: HTTP/1.1 parsed by httptools, answered in request order (server side).

Keep-alive and pipelining are supported: requests read ahead wait in a short queue and are
answered one after the other. Every client mistake is a 4xx with a JSON reason; only the
model's own failure, or its process dying, is a 5xx, counted against the variant that served.
Sizes and deadlines come from `deploy.local.connection_limits`; every reply carries the
endpoint's name (`X-Mlops-Endpoint`), so a client can tell whose server it reached.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from http import HTTPStatus
from typing import TYPE_CHECKING

import httptools

from deploy.local.model_process import JSON_TYPE, ModelGone, error_body
from deploy.local.variant_pool import NoRoute, Route

if TYPE_CHECKING:
    from deploy.local.http_worker import Worker

DISCARD_LIMIT = 64 * 1024 * 1024  # beyond this a rejected body is not drained, the connection is dropped
MAX_QUEUED = 32  # pipelined requests read ahead of the one being answered


class Request:
    """One parsed request, kept until it is answered (pipelined ones wait their turn)."""

    __slots__ = ("accept", "body", "content_type", "inference_id", "keep_alive", "method", "path", "started", "target")

    def __init__(self, conn: Connection) -> None:
        self.path, self.method = conn.url.partition(b"?")[0], conn.parser.get_method()
        self.content_type, self.accept, self.target = conn.content_type, conn.accept, conn.target
        self.body, self.started = b"".join(conn.body), conn.started
        self.inference_id = conn.inference_id  # the runtime's InferenceId, kept in the data capture
        self.keep_alive = conn.parser.should_keep_alive()


class Connection(asyncio.Protocol):
    """One client connection; httptools calls the `on_*` methods while `data_received` feeds it."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.limits = worker.limits
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.queue: deque[Request] = deque()
        self.inflight = False
        self.in_head, self.head_bytes = True, 0
        self.deadline, self.idle_since = 0.0, 0.0
        self._reset()

    def _reset(self) -> None:
        self.url = b""
        self.content_type: str | None = None
        self.accept: str | None = None
        self.target: str | None = None
        self.inference_id: str | None = None
        self.length = 0
        self.body: list[bytes] = []
        self.size = self.header_size = 0
        self.rejected = False
        self.refusal: tuple[int, str] | None = None
        self.expect_continue = False
        self.started = time.perf_counter_ns()

    # ---------------------------------------------------------------- transport events
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.worker.opening -= 1
        self.worker.connections.add(self)
        self._idle()

    def connection_lost(self, exc: Exception | None) -> None:
        self.worker.connections.discard(self)
        self.transport = None

    def pause_writing(self) -> None:
        if self.transport is not None:
            self.transport.pause_reading()  # a client that does not read its answers stops being read

    def resume_writing(self) -> None:
        if self.transport is not None and len(self.queue) < MAX_QUEUED:
            self.transport.resume_reading()

    def data_received(self, data: bytes) -> None:
        if self.in_head:
            self.head_bytes += len(data)
            self.idle_since = 0.0
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(400, "protocol upgrades are not supported")
        except httptools.HttpParserError as error:
            if self.refusal is None:
                self._fail(400, f"malformed HTTP request: {error}")
        if self.refusal is None and self.in_head and self.head_bytes > self.limits.max_head:
            # httptools buffers a header until it ends: cut a huge one off before it does
            self.refusal = (431, f"request headers larger than {self.limits.max_header_bytes} bytes")
        if self.refusal is not None:
            self._fail(*self.refusal)

    # ---------------------------------------------------------------- deadlines (see connection_limits)
    def _idle(self) -> None:
        self.idle_since = time.monotonic()
        self.deadline = self.idle_since + self.limits.idle_seconds

    def expire(self) -> None:
        if self.idle_since or self.transport is None:
            self.evict()
        elif self.in_head:
            self._fail(408, f"request headers not received within {self.limits.header_seconds:g} s")
        else:
            self._fail(408, f"request body not received within {self.limits.body_seconds:g} s")

    def evict(self) -> None:
        self.worker.connections.discard(self)
        self.deadline = self.idle_since = 0.0
        if self.transport is not None:
            self.transport.close()

    # ---------------------------------------------------------------- parser callbacks
    def on_message_begin(self) -> None:
        self._reset()
        self.idle_since = 0.0
        self.deadline = time.monotonic() + self.limits.header_seconds

    def on_url(self, url: bytes) -> None:
        self.url += url
        if len(self.url) > self.limits.max_request_line and self.refusal is None:
            self.refusal = (414, f"request line longer than {self.limits.max_request_line} bytes")

    def on_header(self, name: bytes, value: bytes) -> None:
        self.header_size += len(name) + len(value) + 4
        if self.header_size > self.limits.max_header_bytes and self.refusal is None:
            self.refusal = (431, f"request headers larger than {self.limits.max_header_bytes} bytes")
        name = name.lower()
        if name == b"content-type":
            self.content_type = value.decode("latin-1")
        elif name == b"accept":
            self.accept = value.decode("latin-1")
        elif name == b"content-length":
            self.length = int(value) if value.isdigit() else 0
        elif name == b"x-amzn-sagemaker-target-variant":
            self.target = value.decode("latin-1")
        elif name == b"x-amzn-sagemaker-inference-id":
            self.inference_id = value.decode("latin-1")
        elif name == b"expect":
            self.expect_continue = value.lower() == b"100-continue"

    def on_headers_complete(self) -> None:
        self.in_head = False
        self.deadline = time.monotonic() + self.limits.body_seconds
        if self.refusal is not None:
            return
        if self.length > self.limits.max_body:
            self._reject_too_large(self.length)
        elif self.expect_continue and self.transport is not None:
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.rejected:
            if self.size > DISCARD_LIMIT and self.transport is not None:
                self.transport.close()
            return
        if self.size > self.limits.max_body:  # chunked bodies carry no Content-Length to refuse early
            self.body.clear()
            self._reject_too_large(self.size)
            return
        self.body.append(chunk)

    def on_message_complete(self) -> None:
        self.in_head, self.head_bytes, self.deadline = True, 0, 0.0
        if self.refusal is not None:  # answered once the parser returns
            return
        if self.rejected:
            if self.transport is not None:
                self.transport.close()
            return
        self.queue.append(Request(self))
        if len(self.queue) >= MAX_QUEUED and self.transport is not None:
            self.transport.pause_reading()
        self._next()

    # ---------------------------------------------------------------- answers, in request order
    def _next(self) -> None:
        while self.queue and not self.inflight and self.transport is not None:
            self.inflight = True
            self._dispatch(self.queue.popleft())
        if self.transport is not None and not self.inflight and not self.queue:
            self.transport.resume_reading()
            if self.in_head and not self.head_bytes:
                self._idle()

    def _dispatch(self, request: Request) -> None:
        path, method, worker = request.path, request.method, self.worker
        if path == b"/invocations" or path == worker.runtime_path:
            if method == b"POST":
                self._invoke(request, runtime=path != b"/invocations")
            else:
                self._finish(request, 405, error_body("use POST for invocations"), JSON_TYPE)
        elif path == b"/ping" and method in (b"GET", b"HEAD"):
            if worker.pool.ready:
                self._finish(request, 200, b'{"status": "healthy"}', JSON_TYPE)
            else:
                self._finish(request, 503, error_body("no variant with a weight above 0 is loaded"), JSON_TYPE)
        elif path.startswith(b"/endpoints/") and path.endswith(b"/invocations"):
            name = path[len(b"/endpoints/") : -len(b"/invocations")].decode(errors="replace")
            self._finish(request, 404, error_body(f"endpoint {name!r} is not served here"), JSON_TYPE, runtime=True)
        else:
            self._finish(request, 404, error_body(f"no such path {path.decode(errors='replace')!r}"), JSON_TYPE)

    def _invoke(self, request: Request, runtime: bool) -> None:
        try:
            route = self.worker.pool.pick(request.target)
        except NoRoute as error:
            self._finish(request, error.status, error_body(error.reason), JSON_TYPE, runtime=runtime)
            return
        answer = self.worker.pool.call(route, request.body, request.content_type, request.accept)
        answer.add_done_callback(lambda done: self._answered(request, route, runtime, done))

    def _answered(self, request: Request, route: Route, runtime: bool, done: asyncio.Future) -> None:
        try:
            status, kind, body, model_us = done.result()
        except ModelGone as error:
            status, kind, body, model_us = 500, JSON_TYPE, error_body(str(error)), None
        # Counted before answering, so a client that reads metrics after its reply sees its request.
        self.worker.answered(route, request, status, body, kind, model_us)
        self._finish(request, status, body, kind, route.header, runtime=runtime)
        self._next()

    def _finish(self, request: Request, status: int, body: bytes, kind: bytes, extra: bytes = b"", *,
                runtime: bool = False) -> None:  # fmt: skip
        self.inflight = False
        self._respond(status, body, kind, extra, runtime=runtime, close=not request.keep_alive)

    def _reject_too_large(self, size: int) -> None:
        self.rejected = True
        reason = f"body of {size} bytes exceeds the limit of {self.limits.max_body} bytes"
        route = None
        if self.url.partition(b"?")[0] in (b"/invocations", self.worker.runtime_path):
            try:
                route = self.worker.pool.pick(self.target)
            except NoRoute:
                route = None
        if route is not None:
            latency = (time.perf_counter_ns() - self.started) // 1000
            self.worker.pool.metrics.record(route.metrics_base, 413, latency, None)
        if self.inflight or self.queue:  # an answer to an earlier request is still due: no room to reply
            self.transport.close()
            return
        # The body is drained, not read into memory, so the client gets this answer, not a reset.
        self._respond(413, error_body(reason), JSON_TYPE, route.header if route else b"", close=True, done=False)

    def _fail(self, status: int, reason: str) -> None:
        if self.transport is not None and not self.transport.is_closing():
            if self.inflight or self.queue:
                self.transport.close()
            else:
                self._respond(status, error_body(reason), JSON_TYPE, close=True)

    def _respond(self, status: int, body: bytes, kind: bytes, extra: bytes = b"", *,
                 runtime: bool = False, close: bool = False, done: bool = True) -> None:  # fmt: skip
        transport = self.transport
        if transport is None:
            return
        keep = not close and not self.worker.draining
        head = b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n%s%s" % (
            status, _REASONS.get(status, b"Unknown"), kind, len(body), extra, self.worker.identity,
        )  # fmt: skip
        if runtime and status >= 400:  # botocore reads the error code of a REST-JSON service here
            head += b"X-Amzn-ErrorType: " + (b"ModelError" if status < 500 else b"InternalFailure") + b":\r\n"
        transport.write(head + (b"\r\n" if keep else b"Connection: close\r\n\r\n") + body)
        if done and not keep:
            transport.close()


_REASONS = {s.value: s.phrase.encode() for s in HTTPStatus}
