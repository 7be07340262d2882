"""The local endpoint server: a supervisor and pre-forked HTTP workers playing one SageMaker endpoint (server side).

    python -m deploy.local.server --state-dir DIR --port N --workers W --endpoint-name NAME [--ready-fd FD]

The supervisor first takes `server.lock` (an flock every process it forks inherits, so the lock
is held exactly as long as anything of this server runs: that is how the control plane tells a
running server from a stale pid file). It binds one SO_REUSEPORT socket per worker on 127.0.0.1
(so the kernel spreads connections evenly and a busy port fails here, before anything forks),
imports the inference handlers once (the workers inherit them), forks the workers, restarts
one that dies, and on SIGTERM or SIGINT closes the sockets, lets the workers drain and exits.
Workers die with the supervisor, even after SIGKILL (`deploy.local.lifeline`). It writes
`server.pid`, and `server.json` once every worker serves, then writes the same document as one
line to `--ready-fd`, the pipe its starter waits on: a readiness handshake that cannot be
misread, and if nobody reads it any more the server stops.
Workers follow `routing.json` and count per-variant metrics in `metrics/`; see
`deploy.local.http_worker`. Everything is logged to `<state-dir>/server.log`.
"""

from __future__ import annotations

import argparse
import fcntl
import gc
import importlib
import json
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from deploy.local import lifeline
from deploy.local import routing_table as rt
from deploy.local.connection_limits import Limits

log = logging.getLogger("deploy.local.server")
EXIT_PORT_BUSY = 3
EXIT_LOCKED = 4
LOCK_SECONDS = 2.0  # a control plane only probes the lock for microseconds
READY_SECONDS = 60.0
MAX_RESTARTS = 5  # per worker; a worker that keeps dying is a broken install, not bad luck


def probe(port: int) -> None:
    """Fail if anything listens on the port: SO_REUSEPORT alone would share it with another server."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))


def listen(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(1024)
    return sock


class Supervisor:
    def __init__(self, args: argparse.Namespace, sockets: list[socket.socket]) -> None:
        self.args = args
        self.state_dir: Path = args.state_dir
        self.sockets = sockets
        self.children: dict[int, int] = {}  # pid -> worker index
        self.restarts = [0] * len(sockets)
        self.stopping = False
        self.info: dict = {}
        # Only the supervisor holds the write end: workers read end-of-file once it is gone.
        self.lifeline_read, self.lifeline_write = os.pipe()

    def spawn(self, index: int) -> None:
        parent = os.getpid()
        pid = os.fork()
        if pid:
            self.children[pid] = index
            return
        code = 1
        try:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            lifeline.die_with_parent(signal.SIGTERM, parent)
            os.close(self.lifeline_write)
            if self.args.ready_fd is not None:
                os.close(self.args.ready_fd)
            for other, sock in enumerate(self.sockets):
                if other != index:
                    sock.close()
            from deploy.local.http_worker import run_worker

            code = run_worker(index, self.sockets[index], self.state_dir, self.args.endpoint_name,
                              self.args.limits, self.lifeline_read)  # fmt: skip
        except BaseException:
            log.exception("worker %d crashed", index)
        finally:
            logging.shutdown()
            os._exit(code)

    def _on_signal(self, signum: int, _frame: object) -> None:
        log.info("supervisor: %s, draining", signal.Signals(signum).name)
        self.stopping = True

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        if not preload_handlers():
            return 1
        for index in range(len(self.sockets)):
            self.spawn(index)
        if not self._await_ready() or not self._announce():
            self.shutdown()
            return 1
        while not self.stopping:
            self._reap_and_restart()
            time.sleep(0.1)
        self.shutdown()
        return 0

    def _await_ready(self) -> bool:
        """Publish `server.json` once each worker has acknowledged its first routing."""
        deadline = time.monotonic() + READY_SECONDS
        while not self.stopping and time.monotonic() < deadline:
            acks = rt.read_acks(self.state_dir)
            if set(self.children) <= {a.pid for a in acks.values()}:
                info = {"pid": os.getpid(), "port": self.args.port, "workers": len(self.sockets),
                        "endpoint_name": self.args.endpoint_name, "started_at": time.time()}  # fmt: skip
                rt.write_json(self.state_dir / rt.INFO_FILE, info)
                self.info = info
                log.info("supervisor: %d workers serving on 127.0.0.1:%d", len(self.sockets), self.args.port)
                return True
            if not self._reap_and_restart(restart=False):
                log.error("supervisor: a worker exited while starting; see above")
                return False
            time.sleep(0.02)
        return False

    def _announce(self) -> bool:
        """Hand `server.json` to whoever started us; False if they are gone (then nobody will use us)."""
        if self.args.ready_fd is None:
            return True
        line = json.dumps(self.info).encode() + b"\n"
        try:
            os.write(self.args.ready_fd, line)
        except BrokenPipeError:
            log.error("supervisor: the process that started the server is gone; stopping")
            return False
        finally:
            os.close(self.args.ready_fd)
            self.args.ready_fd = None
        return True

    def _reap_and_restart(self, restart: bool = True) -> bool:
        """Collect dead workers, restarting them if allowed; False if one died and was not restarted."""
        healthy = True
        while self.children:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            index = self.children.pop(pid)
            log.warning("supervisor: worker %d (pid %d) exited with status %d", index, pid, status)
            if restart and not self.stopping and self.restarts[index] < MAX_RESTARTS:
                self.restarts[index] += 1
                self.spawn(index)
            else:
                healthy = False
        return healthy

    def shutdown(self) -> None:
        for sock in self.sockets:
            sock.close()  # new connections are refused from now on
        for pid in self.children:
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while self.children and time.monotonic() < deadline:
            pid, _ = os.waitpid(-1, os.WNOHANG)
            if pid:
                self.children.pop(pid, None)
            else:
                time.sleep(0.02)
        for pid in self.children:
            os.kill(pid, signal.SIGKILL)
        for name in (rt.PID_FILE, rt.INFO_FILE):
            (self.state_dir / name).unlink(missing_ok=True)
        log.info("supervisor: stopped")


def take_lock(state_dir: Path) -> int | None:
    """The descriptor holding `server.lock`, or None if another server of this folder holds it."""
    fd = os.open(state_dir / rt.LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + LOCK_SECONDS
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            lifeline.keep_in_children(fd)
            return fd
        except BlockingIOError:
            if time.monotonic() >= deadline:
                os.close(fd)
                return None
            time.sleep(0.01)


def preload_handlers() -> bool:
    """Import the inference handlers, and scikit-learn with them, once before the workers fork.

    Every worker (and every model process a worker forks) then starts with them loaded: a start
    or a worker's restart costs one import instead of one per worker, and the pages are shared.
    What the import created lives as long as the server, so it is frozen out of the cyclic garbage
    collector (as the `gc.freeze` documentation advises before a fork): no process of the server
    scans it again, and a collection in a child does not copy the shared pages it would touch.
    """
    gc.disable()  # no collection while the import allocates: it would only leave holes in the pages
    try:
        importlib.import_module("ml.inference")
    except Exception:
        log.exception("supervisor: cannot import the inference handlers (ml.inference)")
        return False
    finally:
        gc.freeze()
        gc.enable()
    return True


def _prepare_state(state_dir: Path) -> None:
    """Counters and acknowledgements start afresh with each server; routing and models persist."""
    for folder in (rt.METRICS_DIR, rt.WORKERS_DIR):
        (state_dir / folder).mkdir(parents=True, exist_ok=True)
        for stale in (state_dir / folder).iterdir():
            stale.unlink()


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m deploy.local.server", description=__doc__)
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--endpoint-name", required=True)
    parser.add_argument("--ready-fd", type=int, help="pipe to write server.json to once serving")
    parser.add_argument("--limits", type=Limits.from_json, default=Limits(), help="connection limits as JSON")
    args = parser.parse_args(argv)
    args.state_dir = args.state_dir.resolve()
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    # One worker per core: BLAS/OpenMP thread pools inside a worker would only fight each other.
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, "1")
    args.state_dir.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        filename=args.state_dir / rt.LOG_FILE,
        level=logging.INFO,
        format=f"%(asctime)s %(process)d %(levelname)s [{args.endpoint_name}] %(message)s",
    )
    if take_lock(args.state_dir) is None:
        log.error("another server of endpoint %s runs in %s", args.endpoint_name, args.state_dir)
        return EXIT_LOCKED
    (args.state_dir / rt.PID_FILE).write_text(f"{os.getpid()}\n", encoding="utf-8")
    try:
        probe(args.port)
        sockets = [listen(args.port) for _ in range(args.workers)]
    except OSError as error:
        log.error("cannot listen on 127.0.0.1:%d for endpoint %s: %s", args.port, args.endpoint_name, error)
        return EXIT_PORT_BUSY
    _prepare_state(args.state_dir)
    return Supervisor(args, sockets).run()


if __name__ == "__main__":
    sys.exit(main())
