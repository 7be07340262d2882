"""One variant's model process and the worker's channel to it: variants as separate fleets (server side).

On SageMaker every production variant runs on its own instances, so a slow or crashing canary
cannot touch the old fleet. Locally each HTTP worker forks one model process per variant and
only parses HTTP itself: a model that takes seconds per request, or kills its process, delays
or fails that variant's requests alone, while the worker's event loop keeps answering the
others. The process loads the model with `model_fn`, then answers framed requests in order on
a socket pair; it exits when the worker closes its end or dies.

Frames: a request is `!III` (content-type, accept and body lengths) and the three byte strings;
an answer is `!HIIQ` (HTTP status, content-type and body lengths, model microseconds) and two
byte strings. The first answer says whether the model loaded (status READY or LOAD_FAILED).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import struct
import time
from collections import deque
from typing import Any

from deploy.local import lifeline

log = logging.getLogger("deploy.local.server")
REQUEST = struct.Struct("!III")
ANSWER = struct.Struct("!HIIQ")
READY, LOAD_FAILED = 0, 1
JSON_TYPE = b"application/json"


def error_body(reason: str) -> bytes:
    return json.dumps({"error": reason, "message": reason}).encode()


class ModelGone(Exception):
    """The model process exited (or never started) while requests were waiting on it."""


# ------------------------------------------------------------------------------------ model side
class _Frames:
    """Blocking reads of whole frames from the worker's socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray()

    def take(self, size: int) -> bytes | None:
        while len(self.buffer) < size:
            chunk = self.sock.recv(max(65536, size - len(self.buffer)))
            if not chunk:
                return None
            self.buffer += chunk
        taken = bytes(self.buffer[:size])
        del self.buffer[:size]
        return taken


def _send(sock: socket.socket, status: int, kind: bytes, body: bytes, model_us: int) -> None:
    sock.sendall(ANSWER.pack(status, len(kind), len(body), model_us) + kind + body)


def _answer(handlers: Any, model: Any, body: bytes, content_type: str | None, accept: str | None) -> tuple:
    try:
        data = handlers.input_fn(body, content_type, model)
        answer, answer_type = handlers.output_fn(handlers.predict_fn(data, model), accept)
        return 200, answer_type.encode("latin-1"), answer
    except handlers.PayloadError as error:
        return error.status, JSON_TYPE, error_body(error.reason)
    except Exception as error:  # a failing model is its variant's 5xx, never the process's death
        log.exception("model %s failed a request", os.getpid())
        return 500, JSON_TYPE, error_body(f"model error: {type(error).__name__}: {error}")


def serve_model(sock: socket.socket, model_dir: str, handlers: Any) -> int:
    """The body of a model process: load, say so, then answer frames until the worker closes."""
    try:
        model = handlers.model_fn(model_dir)
    except Exception as error:
        _send(sock, LOAD_FAILED, b"", f"{type(error).__name__}: {error}".encode(), 0)
        return 1
    _send(sock, READY, b"", b"", 0)
    frames = _Frames(sock)
    while True:
        head = frames.take(REQUEST.size)
        if head is None:
            return 0
        parts = [frames.take(n) if n else b"" for n in REQUEST.unpack(head)]
        if None in parts:
            return 0
        content_type, accept, body = parts
        began = time.perf_counter_ns()
        status, kind, answer = _answer(handlers, model, body, content_type.decode("latin-1") or None,
                                       accept.decode("latin-1") or None)  # fmt: skip
        _send(sock, status, kind, answer, (time.perf_counter_ns() - began) // 1000)


def fork_model(model_dir: str, handlers: Any) -> socket.socket:
    """Fork the model process of `model_dir`; the worker's end of its socket pair is returned."""
    ours, theirs = socket.socketpair()
    parent = os.getpid()
    pid = os.fork()
    if pid:
        theirs.close()
        return ours
    code = 1
    try:
        lifeline.die_with_parent(signal.SIGKILL, parent)
        lifeline.ignore_termination()
        lifeline.drop_inherited(theirs.fileno())
        code = serve_model(theirs, model_dir, handlers)
    except BaseException:
        log.exception("model process for %s crashed", model_dir)
    finally:
        logging.shutdown()
        os._exit(code)


# ------------------------------------------------------------------------------------ worker side
class ModelChannel(asyncio.Protocol):
    """The worker's end of one model process: requests go out in order, answers resolve futures."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.loop = asyncio.get_running_loop()
        self.ready: asyncio.Future[None] = self.loop.create_future()
        self.pending: deque[asyncio.Future[tuple[int, bytes, bytes, int]]] = deque()
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.closed = False
        self.retiring = False

    @classmethod
    async def open(cls, label: str, model_dir: str, handlers: Any) -> ModelChannel:
        sock = fork_model(model_dir, handlers)
        _, channel = await asyncio.get_running_loop().create_unix_connection(lambda: cls(label), sock=sock)
        return channel

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while len(self.buffer) >= ANSWER.size:
            status, kind_size, body_size, model_us = ANSWER.unpack_from(self.buffer)
            end = ANSWER.size + kind_size + body_size
            if len(self.buffer) < end:
                return
            kind = bytes(self.buffer[ANSWER.size : ANSWER.size + kind_size])
            body = bytes(self.buffer[ANSWER.size + kind_size : end])
            del self.buffer[:end]
            self._resolve(status, kind, body, model_us)

    def _resolve(self, status: int, kind: bytes, body: bytes, model_us: int) -> None:
        if not self.ready.done():
            if status == READY:
                self.ready.set_result(None)
            else:
                self.ready.set_exception(RuntimeError(body.decode(errors="replace")))
            return
        future = self.pending.popleft()
        if not future.done():
            future.set_result((status, kind, body, model_us))
        if self.retiring and not self.pending:
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.transport = None
        gone = ModelGone(f"the model process of {self.label} exited")
        if not self.ready.done():
            self.ready.set_exception(gone)
        while self.pending:
            future = self.pending.popleft()
            if not future.done():
                future.set_exception(gone)

    def call(self, body: bytes, content_type: str | None, accept: str | None) -> asyncio.Future:
        future = self.loop.create_future()
        if self.transport is None or self.closed:
            future.set_exception(ModelGone(f"the model process of {self.label} is not running"))
            return future
        kind, wanted = (content_type or "").encode("latin-1"), (accept or "").encode("latin-1")
        self.transport.write(REQUEST.pack(len(kind), len(wanted), len(body)) + kind + wanted + body)
        self.pending.append(future)
        return future

    def retire(self) -> None:
        """Close once the requests already sent are answered (the process then exits)."""
        self.retiring = True
        if not self.pending:
            self.close()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
