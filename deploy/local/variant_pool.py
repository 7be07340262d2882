"""The variants one server worker serves, and how it picks one per request (server side).

The pool follows `routing.json`: a cheap stat tells it the file changed, new models are loaded
off the event loop (a slow `model_fn` does not stall requests to the serving variant), and the
new routes are swapped in at once, then acknowledged in the worker's ack file. A model that
fails to load is reported and left out; if the variant name was already serving, its previous
model keeps serving. Traffic is split by smooth weighted round-robin, which gives every
variant its exact share over any run of requests, not just on average.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deploy.local import routing_table as rt
from deploy.local.serving_metrics import MetricsBlock

log = logging.getLogger("deploy.local.server")


class NoRoute(Exception):
    """No variant can take this request; `status` is the HTTP answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class Route:
    """One loaded variant as this worker serves it."""

    __slots__ = ("current", "header", "metrics_base", "model", "model_dir", "name", "sha256", "version", "weight")

    def __init__(self, spec: rt.VariantRoute, model: Any, metrics_base: int) -> None:
        self.name, self.version, self.sha256, self.weight = spec.name, spec.version, spec.sha256, spec.weight
        self.model, self.model_dir = model, spec.model_dir
        self.metrics_base = metrics_base
        self.header = b"X-Amzn-Invoked-Production-Variant: " + spec.name.encode() + b"\r\n"
        self.current = 0


@dataclass
class Prepared:
    routing: rt.Routing
    models: dict[str, tuple[rt.VariantRoute, Any]]  # name -> (spec actually served, model)
    errors: dict[str, str]


class VariantPool:
    def __init__(self, state_dir: Path, index: int, metrics: MetricsBlock, load: Callable[[str], Any]) -> None:
        self.state_dir = state_dir
        self.index = index
        self.metrics = metrics
        self._load = load
        self._cache: dict[str, Any] = {}  # model folder -> loaded model
        self._stat_key: tuple[int, int, int] | None = None
        self.generation = -1
        self.routes: dict[str, Route] = {}
        self.weighted: list[Route] = []

    @property
    def ready(self) -> bool:
        return bool(self.weighted)

    def pick(self, pinned: str | None) -> Route:
        if pinned:
            route = self.routes.get(pinned)
            if route is None:
                raise NoRoute(400, f"variant {pinned!r} is not loaded on this endpoint")
            return route
        weighted = self.weighted
        if len(weighted) == 1:
            return weighted[0]
        if not weighted:
            raise NoRoute(503, "no variant with a weight above 0 is loaded")
        best, total = weighted[0], 0
        for route in weighted:
            route.current += route.weight
            total += route.weight
            if route.current > best.current:
                best = route
        best.current -= total
        return best

    def poll(self) -> rt.Routing | None:
        """The routing to apply if `routing.json` changed since the last look, else None."""
        try:
            st = os.stat(self.state_dir / rt.ROUTING_FILE)
            key = (st.st_ino, st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            key = (0, 0, 0)
        if key == self._stat_key:
            return None
        self._stat_key = key
        routing = rt.read_routing(self.state_dir)
        return routing if routing.generation != self.generation else None

    def prepare(self, routing: rt.Routing) -> Prepared:
        """Load what `routing` needs (blocking: runs in a thread or before serving)."""
        models: dict[str, tuple[rt.VariantRoute, Any]] = {}
        errors: dict[str, str] = {}
        for spec in routing.variants:
            try:
                if spec.model_dir not in self._cache:
                    self._cache[spec.model_dir] = self._load(spec.model_dir)
                models[spec.name] = (spec, self._cache[spec.model_dir])
            except Exception as error:  # any model_fn failure is reported, never fatal to the worker
                errors[spec.name] = f"{type(error).__name__}: {error}"
                log.warning("worker %d: variant %s v%d failed to load: %s", self.index, spec.name, spec.version, error)
                old = self.routes.get(spec.name)
                if old is not None:  # keep serving the model this name already had
                    kept = rt.VariantRoute(spec.name, old.model_dir, old.version, old.sha256, spec.weight)
                    models[spec.name] = (kept, old.model)
        return Prepared(routing, models, errors)

    def install(self, prepared: Prepared) -> None:
        """Swap the new routes in and acknowledge the generation."""
        routes = {}
        for name, (spec, model) in prepared.models.items():
            routes[name] = Route(spec, model, self.metrics.slot(name))
        self.routes = routes
        self.weighted = [r for r in routes.values() if r.weight > 0]
        self.generation = prepared.routing.generation
        used = {r.model_dir for r in routes.values()}
        self._cache = {k: v for k, v in self._cache.items() if k in used}
        loaded = {r.name: {"sha256": r.sha256, "version": r.version, "weight": r.weight} for r in routes.values()}
        ack = rt.WorkerAck(self.index, os.getpid(), self.generation, loaded, prepared.errors)
        rt.write_ack(self.state_dir, ack)
        log.info("worker %d: generation %d, weights %s", self.index, self.generation,
                 {r.name: r.weight for r in routes.values()})  # fmt: skip
