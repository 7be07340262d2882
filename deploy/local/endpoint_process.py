"""Control of one local endpoint server process: start, attach, load variants, weights, metrics (control plane).

The server (`python -m deploy.local.server`) runs detached in its own session and outlives
the CLI call that started it; its state folder is the only link. Changes are written to
`routing.json` and each call blocks until every worker reports the new generation, so once
`load_variant` or `set_weights` returns, all traffic follows it.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

from deploy.errors import DeployError
from deploy.local import model_store
from deploy.local import routing_table as rt
from deploy.local.serving_metrics import VariantMetrics, read_metrics

CODE_ROOT = Path(__file__).resolve().parents[2]  # holds deploy/ (and ml/ in this repository)
POLL_SECONDS = 0.01


def _reap(pid: int) -> bool:
    """True if `pid` was our child and has exited (reaped now, so it leaves no zombie)."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return False
    return done == pid


def alive(pid: int) -> bool:
    """A running endpoint server with this pid (not a zombie, not a recycled pid)."""
    if pid <= 0 or _reap(pid):
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z" and b"deploy.local.server" in cmdline


def log_tail(state_dir: Path, lines: int = 15) -> str:
    try:
        text = (state_dir / rt.LOG_FILE).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no server.log)"
    return "\n".join(text.splitlines()[-lines:])


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return False
            raise
    return True


def _spawn(state_dir: Path, argv: list[str], code_root: Path) -> int:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(code_root), str(CODE_ROOT), env.get("PYTHONPATH")) if p)
    log = str(state_dir / rt.LOG_FILE)
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644),
        (os.POSIX_SPAWN_DUP2, 1, 2),
    ]
    # posix_spawn rather than Popen: the server must outlive us, and no Popen object is left to warn.
    return os.posix_spawn(sys.executable, argv, env, file_actions=actions, setsid=True)


class EndpointProcess:
    """A handle on a running local endpoint server."""

    def __init__(self, state_dir: Path, info: dict[str, Any]) -> None:
        self.state_dir = Path(state_dir)
        self.pid: int = info["pid"]
        self.port: int = info["port"]
        self.workers: int = info["workers"]
        self.endpoint_name: str = info["endpoint_name"]
        self.started_at: float = info["started_at"]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    def start(
        cls,
        state_dir: Path,
        port: int,
        workers: int,
        endpoint_name: str,
        timeout: float = 15,
        code_root: Path | None = None,
    ) -> EndpointProcess:
        """Start the server detached and wait until every worker serves; `code_root` holds `ml/`."""
        state_dir = Path(state_dir).resolve()
        where = f"endpoint '{endpoint_name}' (state {state_dir})"
        running = cls.attach(state_dir)
        if running is not None:
            if running.port == port and running.workers == workers:
                return running
            raise DeployError(f"{where} already runs on port {running.port} with {running.workers} workers; stop it")
        if not _port_free(port):
            raise DeployError(f"port {port} for {where} is in use by another process; free it or change local.port")
        state_dir.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-m", "deploy.local.server", "--state-dir", str(state_dir), "--port", str(port)]
        argv += ["--workers", str(workers), "--endpoint-name", endpoint_name]
        pid = _spawn(state_dir, argv, Path(code_root or CODE_ROOT).resolve())
        return cls._await_ready(state_dir, pid, where, timeout)

    @classmethod
    def _await_ready(cls, state_dir: Path, pid: int, where: str, timeout: float) -> EndpointProcess:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            info = _read_info(state_dir)
            if info and info.get("pid") == pid:
                return cls(state_dir, info)
            if not alive(pid):
                raise DeployError(f"the server of {where} exited while starting:\n{log_tail(state_dir)}")
            time.sleep(0.05)
        _kill_group(pid)
        raise DeployError(f"the server of {where} was not ready after {timeout:.0f} s:\n{log_tail(state_dir)}")

    @classmethod
    def attach(cls, state_dir: Path) -> EndpointProcess | None:
        """The running server of `state_dir`, or None (stale pid and info files are removed)."""
        state_dir = Path(state_dir).resolve()
        info = _read_info(state_dir)
        pid_file = state_dir / rt.PID_FILE
        try:
            pid = int(pid_file.read_text().strip())
        except (OSError, ValueError):
            pid = info.get("pid", 0) if info else 0
        if pid and alive(pid) and info and info.get("pid") == pid:
            return cls(state_dir, info)
        if pid and not alive(pid):
            for name in (rt.PID_FILE, rt.INFO_FILE):
                (state_dir / name).unlink(missing_ok=True)
        return None

    def alive(self) -> bool:
        return alive(self.pid)

    def stop(self, timeout: float = 10) -> None:
        """SIGTERM: the server stops accepting, finishes in-flight requests and exits; SIGKILL after `timeout`."""
        if alive(self.pid):
            os.kill(self.pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while alive(self.pid) and time.monotonic() < deadline:
                time.sleep(0.02)
            if alive(self.pid):
                _kill_group(self.pid)
        for name in (rt.PID_FILE, rt.INFO_FILE):
            (self.state_dir / name).unlink(missing_ok=True)

    def status(self) -> dict[str, Any]:
        routing = rt.read_routing(self.state_dir)
        acks = rt.read_acks(self.state_dir)
        variants = []
        for v in routing.variants:
            loaded = [a.loaded.get(v.name, {}).get("sha256") == v.sha256 for a in acks.values()]
            errors = sorted({a.errors[v.name] for a in acks.values() if v.name in a.errors})
            variants.append(
                {"name": v.name, "version": v.version, "sha256": v.sha256, "weight": v.weight,
                 "loaded": len(loaded) == self.workers and all(loaded), "errors": errors}
            )  # fmt: skip
        return {
            "pid": self.pid, "port": self.port, "endpoint_name": self.endpoint_name, "workers": self.workers,
            "running": self.alive(), "uptime_seconds": round(time.time() - self.started_at, 3),
            "generation": routing.generation, "variants": variants,
        }  # fmt: skip

    def routing(self) -> rt.Routing:
        return rt.read_routing(self.state_dir)

    def load_variant(self, name: str, model_tar: Path, sha256: str, version: int, timeout: float = 30) -> None:
        """Verify and unpack `model_tar`, then (re)place variant `name` with it, keeping its weight (0 if new).

        Blocks until every worker serves it; on any failure the previous routing is restored and
        DeployError says why (sha256 mismatch, unpack or model_fn failure, timeout)."""
        label = f"variant '{name}' v{version} of endpoint '{self.endpoint_name}'"
        model_dir = model_store.unpack_verified(Path(model_tar), sha256, self.state_dir / rt.MODELS_DIR, label)
        previous = rt.read_routing(self.state_dir).get(name)
        route = rt.VariantRoute(name, str(model_dir), version, sha256, previous.weight if previous else 0)
        routing = rt.update_routing(self.state_dir, lambda r: r.with_variant(route))
        try:
            acks = self._await_generation(routing.generation, timeout, label)
            errors = [f"worker {a.index}: {a.errors[name]}" for a in acks.values() if name in a.errors]
            if errors:
                raise DeployError(f"{label} failed to load: {'; '.join(errors)}")
        except DeployError:
            restore = (lambda r: r.with_variant(previous)) if previous else (lambda r: r.without(name))
            self._await_generation(rt.update_routing(self.state_dir, restore).generation, timeout, label)
            raise

    def set_weights(self, weights: dict[str, int]) -> None:
        """Set the weights of the named variants (others keep theirs); blocks until all workers route so."""
        current = rt.read_routing(self.state_dir)
        unknown = sorted(set(weights) - {v.name for v in current.variants})
        if unknown:
            raise DeployError(f"endpoint '{self.endpoint_name}' has no variant {', '.join(unknown)}")
        if any(not isinstance(w, int) or w < 0 for w in weights.values()):
            raise DeployError(f"weights must be non-negative integers, got {weights}")
        routing = rt.update_routing(self.state_dir, lambda r: r.with_weights(weights))
        self._await_generation(routing.generation, 10, f"weights {weights} on '{self.endpoint_name}'")

    def remove_variant(self, name: str) -> None:
        routing = rt.update_routing(self.state_dir, lambda r: r.without(name))
        self._await_generation(routing.generation, 10, f"removing variant '{name}' of '{self.endpoint_name}'")
        model_store.prune(self.state_dir / rt.MODELS_DIR, [v.model_dir for v in routing.variants])

    def metrics(self) -> dict[str, VariantMetrics]:
        """Cumulative per-variant counters since the server started, summed over workers."""
        return read_metrics(self.state_dir / rt.METRICS_DIR)

    def _await_generation(self, generation: int, timeout: float, label: str) -> dict[int, rt.WorkerAck]:
        deadline = time.monotonic() + timeout
        while True:
            acks = rt.read_acks(self.state_dir)
            if len(acks) >= self.workers and all(a.generation >= generation for a in acks.values()):
                return acks
            if not self.alive():
                raise DeployError(f"{label}: the endpoint server exited:\n{log_tail(self.state_dir)}")
            if time.monotonic() >= deadline:
                behind = sorted(i for i, a in acks.items() if a.generation < generation)
                raise DeployError(f"{label}: workers {behind} did not apply it within {timeout:.0f} s")
            time.sleep(POLL_SECONDS)


def _read_info(state_dir: Path) -> dict[str, Any] | None:
    try:
        return json.loads((state_dir / rt.INFO_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _kill_group(pid: int) -> None:
    """SIGKILL the server's own session (it was started with setsid, so its group id is its pid)."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 2
    while alive(pid) and time.monotonic() < deadline:  # alive() reaps it if it is our child
        time.sleep(0.02)
