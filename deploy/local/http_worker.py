"""One server worker: accepts and serves connections on one asyncio loop, in front of model processes (server side).

The worker parses HTTP (`deploy.local.http_connection`), picks a variant and hands the body to
that variant's model process (`deploy.local.model_process`), so a slow or crashing variant
never holds up another. It accepts connections itself, a few per wake-up and only while it is
under its connection cap (longest-idle connections are closed to make room), so it never runs
out of descriptors. It follows `routing.json`, sweeps connection deadlines, and on SIGTERM or
its supervisor's death stops accepting, lets in-flight requests finish and returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import time
from pathlib import Path

from deploy.local import connection_limits as cl
from deploy.local.data_capture import WorkerCapture
from deploy.local.http_connection import Connection, Request
from deploy.local.routing_table import IDENTITY_HEADER, METRICS_DIR, read_routing
from deploy.local.serving_metrics import MetricsBlock
from deploy.local.variant_pool import Route, VariantPool

log = logging.getLogger("deploy.local.server")
POLL_SECONDS = 0.05
DRAIN_SECONDS = 10.0
ACCEPT_BATCH = 32  # connections accepted per wake-up: fewer than the descriptors kept in reserve


class Worker:
    """What every connection of this worker shares."""

    def __init__(
        self, pool: VariantPool, endpoint_name: str, limits: cl.Limits, capture: WorkerCapture | None = None
    ) -> None:
        self.pool = pool
        self.capture = capture
        self.limits = limits
        self.cap = limits.connection_cap()
        self.runtime_path = f"/endpoints/{endpoint_name}/invocations".encode()
        self.identity = f"{IDENTITY_HEADER}: {endpoint_name}\r\n".encode()
        self.connections: set[Connection] = set()
        self.opening = 0  # accepted, transport not made yet
        self._tasks: set[asyncio.Task] = set()
        self.draining = False

    def accept(self, sock: socket.socket) -> None:
        """Accept a few waiting connections, only as many as fit under the cap (the rest wait in the backlog)."""
        loop = asyncio.get_running_loop()
        for _ in range(ACCEPT_BATCH):
            full = len(self.connections) + self.opening >= self.cap
            if full and cl.evict_idle(self.connections, ACCEPT_BATCH):
                return  # their descriptors close before this runs again
            try:
                client, _ = sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:  # out of descriptors all the same: wait for some to close
                log.warning("worker %d: accept failed: %s", self.pool.index, error)
                return
            if full:  # every connection is busy: say so rather than leave the client waiting
                with contextlib.suppress(OSError):
                    client.sendall(cl.BUSY_REPLY + self.identity + b"\r\n" + cl.BUSY_BODY)
                client.close()
                continue
            client.setblocking(False)
            self.opening += 1
            task = loop.create_task(loop.connect_accepted_socket(lambda: Connection(self), client))
            self._tasks.add(task)
            task.add_done_callback(self._opened)

    def _opened(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if task.cancelled() or task.exception() is not None:  # reset before its transport existed
            self.opening -= 1

    def answered(
        self, route: Route, request: Request, status: int, body: bytes, kind: bytes, model_us: int | None
    ) -> None:
        """Every answer a variant gave passes here once, request and reply: the one place to observe invocations."""
        latency = (time.perf_counter_ns() - request.started) // 1000
        self.pool.metrics.record(route.metrics_base, status, latency, model_us)
        if self.capture is not None and status == 200:  # what the model answered, as SageMaker captures it
            self.capture.record(
                route.name, request.body, request.content_type, body, kind.decode("latin-1"), request.inference_id
            )


async def _follow_routing(worker: Worker) -> None:
    """Apply every new routing generation, revive dead model processes, and sweep deadlines."""
    pool, every = worker.pool, worker.limits.sweep_seconds()
    swept = 0.0
    while True:
        routing = pool.poll()
        if worker.capture is not None:
            # A deploy may have turned data capture on or off. Read after the routing and before its
            # acknowledgement: a deploy writes capture.json first, so a worker that acknowledges
            # the next generation follows it (`EndpointProcess.republish`).
            worker.capture.refresh()
        if routing is not None:
            await pool.apply(routing)
        await pool.revive()
        pool.park_if_idle()
        if time.monotonic() - swept >= every:
            swept = time.monotonic()
            cl.sweep(worker.connections, swept)
        await asyncio.sleep(min(POLL_SECONDS, every))


async def serve(sock: socket.socket, worker: Worker, lifeline_fd: int | None) -> None:
    """Serve until SIGTERM or the supervisor's death, then stop accepting, let in-flight requests finish, and return."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    if lifeline_fd is not None:  # readable (end-of-file) only once the supervisor is gone
        loop.add_reader(lifeline_fd, stop.set)
    await worker.pool.apply(worker.pool.poll() or read_routing(worker.pool.state_dir))
    sock.setblocking(False)
    loop.add_reader(sock.fileno(), worker.accept, sock)
    follower = asyncio.create_task(_follow_routing(worker))
    await stop.wait()
    worker.draining = True
    loop.remove_reader(sock.fileno())
    sock.close()  # new connections are refused from now on
    for connection in list(worker.connections):
        if not connection.inflight and not connection.queue and connection.in_head and connection.transport:
            connection.transport.close()
    deadline = loop.time() + DRAIN_SECONDS
    while worker.connections and loop.time() < deadline:
        await asyncio.sleep(0.02)
    follower.cancel()
    worker.pool.close()
    log.info("worker %d: drained, exiting", worker.pool.index)


def run_worker(index: int, sock: socket.socket, state_dir: Path, endpoint_name: str, limits: cl.Limits,
               lifeline_fd: int | None = None) -> int:  # fmt: skip
    """The body of a forked worker process; returns its exit code."""
    import ml.inference as handlers  # already loaded: the supervisor imported it before forking us

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the supervisor, which drains us
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # model processes are reaped by the kernel
    metrics = MetricsBlock(state_dir / METRICS_DIR / f"worker-{index}.bin")
    pool = VariantPool(state_dir, index, metrics, handlers)
    capture = WorkerCapture(state_dir)
    try:
        asyncio.run(serve(sock, Worker(pool, endpoint_name, limits, capture), lifeline_fd))
    finally:
        capture.close()  # what was captured but not yet written
    return 0
