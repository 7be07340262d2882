"""Control of one local endpoint server process: start, attach, load variants, weights, metrics (control plane).

The server (`python -m deploy.local.server`) runs detached in its own session and outlives
the CLI call that started it; its state folder is the only link. Whether it runs is read from
`server.lock`, which the server and every process it forked hold for as long as any of them
lives, so neither a recycled pid nor a just-spawned child is ever misread. A start waits on a
pipe the server writes `server.json` to once every worker serves; a start that fails, times
out or is interrupted ends the whole process group, so nothing it began keeps running.
Before a server starts, every variant in `routing.json` is checked against its pinned archive
(`deploy.local.model_store`) and unpacked again if its folder is gone or was changed.
Changes are written to `routing.json` and each call blocks until every worker reports the new
generation, so once `load_variant` or `set_weights` returns, all traffic follows it.
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from deploy.errors import DeployError
from deploy.local import model_store
from deploy.local import routing_table as rt
from deploy.local.connection_limits import Limits
from deploy.local.server_launch import (
    CODE_ROOT,
    START_SECONDS,
    alive,
    end_group,
    inspect,
    launch,
    log_tail,
    port_free,
    restore_models,
    stop_group,
)
from deploy.local.serving_metrics import VariantMetrics, read_metrics

POLL_SECONDS = 0.01


class EndpointProcess:
    """A handle on a running local endpoint server."""

    def __init__(self, state_dir: Path, info: dict[str, Any], notes: list[str] | None = None) -> None:
        self.state_dir = Path(state_dir)
        self.pid: int = info["pid"]
        self.port: int = info["port"]
        self.workers: int = info["workers"]
        self.endpoint_name: str = info["endpoint_name"]
        self.started_at: float = info["started_at"]
        self.notes = notes or []  # what the start had to repair (models unpacked again, variants dropped)

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
        timeout: float = START_SECONDS,
        code_root: Path | None = None,
        limits: Limits | None = None,
    ) -> EndpointProcess:
        """Start the server detached and wait until every worker serves; `code_root` holds `ml/`."""
        state_dir = Path(state_dir).resolve()
        where = f"endpoint '{endpoint_name}' (state {state_dir})"
        state = inspect(state_dir)
        if state.phase == "running":
            running = cls(state_dir, state.info)
            if running.port == port and running.workers == workers:
                return running
            raise DeployError(f"{where} already runs on port {running.port} with {running.workers} workers; stop it")
        if state.phase == "starting":
            raise DeployError(f"{where} is being started by another process (pid {state.pid}); wait, or stop it")
        if state.phase == "orphaned":  # workers of a supervisor that was killed: end them, then start afresh
            end_group(state_dir, state.pid)
        if not port_free(port):
            raise DeployError(f"port {port} for {where} is in use by another process; free it or change local.port")
        state_dir.mkdir(parents=True, exist_ok=True)
        notes = restore_models(state_dir)
        argv = [sys.executable, "-m", "deploy.local.server", "--state-dir", str(state_dir), "--port", str(port)]
        argv += ["--workers", str(workers), "--endpoint-name", endpoint_name]
        argv += ["--limits", (limits or Limits()).to_json()]
        info = launch(state_dir, argv, Path(code_root or CODE_ROOT).resolve(), where, timeout)
        return cls(state_dir, info, notes)

    @classmethod
    def attach(cls, state_dir: Path) -> EndpointProcess | None:
        """The running server of `state_dir`, or None (stale pid and info files are removed)."""
        state = inspect(state_dir)
        return cls(Path(state_dir).resolve(), state.info) if state.phase == "running" else None

    def alive(self) -> bool:
        return alive(self.pid)

    def stop(self, timeout: float = 10) -> None:
        """SIGTERM: the server stops accepting, finishes in-flight requests and exits; SIGKILL after `timeout`.

        Returns once no process of the server is left (its lock is free), so the port is free too."""
        stop_group(self.state_dir, self.pid, timeout)

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
            "generation": routing.generation, "variants": variants, "idle_seconds": routing.idle_seconds,
            "idle": bool(acks) and all(a.idle for a in acks.values()),
        }  # fmt: skip

    def serves(self, name: str, sha256: str) -> str | None:
        """None if every worker serves `sha256` as variant `name`, else why not (what a health check reports)."""
        routing = rt.read_routing(self.state_dir)
        acks = rt.read_acks(self.state_dir)
        errors = sorted({a.errors[name] for a in acks.values() if name in a.errors})
        if errors:
            return f"variant '{name}' failed to load: {'; '.join(errors)}"
        serving = [a for a in acks.values() if a.loaded.get(name, {}).get("sha256") == sha256]
        if len(serving) < self.workers or any(a.generation < routing.generation for a in acks.values()):
            return f"variant '{name}' is loaded by {len(serving)} of {self.workers} workers"
        return None

    def routing(self) -> rt.Routing:
        return rt.read_routing(self.state_dir)

    def load_variant(self, name: str, model_tar: Path, sha256: str, version: int, timeout: float = 30) -> None:
        """Verify and unpack `model_tar`, then (re)place variant `name` with it, keeping its weight (0 if new).

        Blocks until every worker serves it; on any failure the previous routing is restored and
        DeployError says why (sha256 mismatch, unpack or model_fn failure, timeout)."""
        label = f"variant '{name}' v{version} of endpoint '{self.endpoint_name}'"
        model_dir = model_store.unpack_verified(Path(model_tar), sha256, self.state_dir / rt.MODELS_DIR, label)
        previous = rt.read_routing(self.state_dir).get(name)
        weight = previous.weight if previous else 0
        route = rt.VariantRoute(name, str(model_dir), version, sha256, weight, str(Path(model_tar).resolve()))
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

    def set_idle(self, seconds: float | None) -> None:
        """Serverless: workers stop their model processes after `seconds` without a request (None: never)."""
        if rt.read_routing(self.state_dir).idle_seconds == seconds:
            return  # a routing change starts stopped model processes: make none without a reason
        routing = rt.update_routing(self.state_dir, lambda r: replace(r, idle_seconds=seconds))
        self._await_generation(routing.generation, 30, f"idle timeout of '{self.endpoint_name}'")

    def republish(self, label: str) -> None:
        """Publish the routing again as a new generation; blocks until every worker applied it.

        Workers read their other settings (`capture.json`) before they acknowledge a generation,
        so once this returns, every worker follows what was written before it.
        """
        routing = rt.update_routing(self.state_dir, lambda r: r)
        self._await_generation(routing.generation, 10, label)

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
