"""The variants one server worker serves, and how it picks one per request (server side).

The pool follows `routing.json`: a cheap stat tells it the file changed; each new or changed
variant gets its own model process (`deploy.local.model_process`), loaded while the current
routes keep serving, and the new routes are swapped in at once, then acknowledged in the
worker's ack file. A model that fails to load is reported and left out; if the variant name
was already serving, its previous model keeps serving. A model process that dies is started
again (a few times), and its variant answers 5xx meanwhile, like a fleet losing an instance.
Traffic is split by smooth weighted round-robin, which gives every variant its exact share
over any run of requests, not just on average.

A serverless endpoint (`idle_seconds` in the routing) plays SageMaker's scale to zero: after
that long without a request the worker stops its model processes and says so in its ack; the
next request starts them again and waits for them (a cold start), and is answered, not dropped.
Any routing change also starts them, as a deploy is activity too.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from deploy.local import routing_table as rt
from deploy.local.model_process import ModelChannel, ModelGone
from deploy.local.serving_metrics import MetricsBlock

log = logging.getLogger("deploy.local.server")
LOAD_SECONDS = 120.0  # model_fn of one variant; past this the variant is reported as failed to load
MAX_REVIVALS = 5  # per variant and model: a model process that keeps dying is a broken model


class NoRoute(Exception):
    """No variant can take this request; `status` is the HTTP answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class Route:
    """One loaded variant as this worker serves it: its weight, its metrics slot, its model process."""

    __slots__ = ("channel", "current", "header", "metrics_base", "model_dir", "name", "revivals", "sha256",
                 "spec", "version", "weight")  # fmt: skip

    def __init__(self, spec: rt.VariantRoute, channel: ModelChannel, metrics_base: int, revivals: int = 0) -> None:
        self.spec = spec
        self.name, self.version, self.sha256, self.weight = spec.name, spec.version, spec.sha256, spec.weight
        self.model_dir = spec.model_dir
        self.channel = channel
        self.metrics_base = metrics_base
        self.header = b"X-Amzn-Invoked-Production-Variant: " + spec.name.encode() + b"\r\n"
        self.current = 0
        self.revivals = revivals

    def same_model(self, spec: rt.VariantRoute) -> bool:
        return self.model_dir == spec.model_dir and self.sha256 == spec.sha256


class VariantPool:
    def __init__(self, state_dir: Path, index: int, metrics: MetricsBlock, handlers: Any) -> None:
        self.state_dir = state_dir
        self.index = index
        self.metrics = metrics
        self.handlers = handlers
        self._stat_key: tuple[int, int, int] | None = None
        self.generation = -1
        self.routes: dict[str, Route] = {}
        self.weighted: list[Route] = []
        self.errors: dict[str, str] = {}
        self.closing = False
        self.idle_seconds: float | None = None  # serverless: stop the model processes after this long unused
        self.parked = False  # the model processes are stopped until the next request
        self.last_request = time.monotonic()
        self.inflight = 0
        self._waking: asyncio.Task | None = None

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

    async def _open(self, spec: rt.VariantRoute) -> ModelChannel:
        label = f"variant {spec.name} v{spec.version}"
        channel = await ModelChannel.open(label, spec.model_dir, self.handlers)
        try:
            await asyncio.wait_for(asyncio.shield(channel.ready), LOAD_SECONDS)
        except BaseException:
            channel.close()
            raise
        return channel

    async def apply(self, routing: rt.Routing) -> None:
        """Start model processes for what `routing` adds or changes, then swap the routes in and acknowledge."""
        routes: dict[str, Route] = {}
        errors: dict[str, str] = {}
        self.idle_seconds = routing.idle_seconds
        self.last_request = time.monotonic()  # the idle time counts from the last change too
        opening = [spec for spec in routing.variants if not self._reusable(spec)]
        results = await asyncio.gather(*(self._open(spec) for spec in opening), return_exceptions=True)
        opened = dict(zip((spec.name for spec in opening), results, strict=True))
        for spec in routing.variants:
            old = self.routes.get(spec.name)
            result = opened.get(spec.name)
            if result is None:  # reused: same model, maybe a new weight
                routes[spec.name] = Route(spec, old.channel, old.metrics_base, old.revivals)
            elif isinstance(result, ModelChannel):
                routes[spec.name] = Route(spec, result, self.metrics.slot(spec.name))
            else:  # any model_fn failure is reported, never fatal to the worker
                errors[spec.name] = f"{type(result).__name__}: {result}"
                log.warning("worker %d: variant %s v%d failed to load: %s", self.index, spec.name, spec.version, result)
                if old is not None:  # keep serving the model this name already had
                    kept = replace(old.spec, weight=spec.weight)
                    routes[spec.name] = Route(kept, old.channel, old.metrics_base, old.revivals)
        self._install(routing.generation, routes, errors)

    def _reusable(self, spec: rt.VariantRoute) -> bool:
        old = self.routes.get(spec.name)
        return old is not None and old.same_model(spec) and not (old.channel.closed or old.channel.retiring)

    def _install(self, generation: int, routes: dict[str, Route], errors: dict[str, str]) -> None:
        in_use = {id(r.channel) for r in routes.values()}
        for old in self.routes.values():
            if id(old.channel) not in in_use:
                old.channel.retire()
        self.routes = routes
        self.weighted = [r for r in routes.values() if r.weight > 0]
        self.generation = generation
        self.errors = errors
        self.parked = False  # every route got a running model process (or kept one)
        self._ack()
        log.info("worker %d: generation %d, weights %s", self.index, generation,
                 {r.name: r.weight for r in routes.values()})  # fmt: skip

    def _ack(self) -> None:
        loaded = {r.name: {"sha256": r.sha256, "version": r.version, "weight": r.weight} for r in self.routes.values()}
        ack = rt.WorkerAck(self.index, os.getpid(), self.generation, loaded, self.errors, self.parked)
        rt.write_ack(self.state_dir, ack)

    def call(self, route: Route, body: bytes, content_type: str | None, accept: str | None) -> asyncio.Future:
        """Send one request to `route`'s model process, starting the model processes first if they are stopped."""
        self.inflight += 1  # counted from now, so the worker never stops them under a waiting request
        if self.parked:
            answer = self._after_wake(route, body, content_type, accept)
        else:
            answer = route.channel.call(body, content_type, accept)
        answer.add_done_callback(self._answered)
        return answer

    def _answered(self, _: asyncio.Future) -> None:
        self.inflight -= 1
        self.last_request = time.monotonic()

    def _after_wake(self, route: Route, body: bytes, content_type: str | None, accept: str | None) -> asyncio.Future:
        loop = asyncio.get_running_loop()
        answer = loop.create_future()
        if self._waking is None:
            self._waking = loop.create_task(self._wake())

        def woken(task: asyncio.Task) -> None:
            failed = task.exception() if not task.cancelled() else ModelGone("the worker is stopping")
            if failed is not None:
                answer.set_exception(ModelGone(f"the model processes did not start: {failed}"))
            else:
                _chain(route.channel.call(body, content_type, accept), answer)

        self._waking.add_done_callback(woken)
        return answer

    async def _wake(self) -> None:
        """Start the stopped model processes (a cold start); the requests waiting on it go out after."""
        log.info("worker %d: a request after %.1f s idle: starting the model processes",
                 self.index, time.monotonic() - self.last_request)  # fmt: skip
        try:
            asleep = [r for r in self.routes.values() if r.channel.closed or r.channel.retiring]
            opened = await asyncio.gather(*(self._open(r.spec) for r in asleep), return_exceptions=True)
            for route, channel in zip(asleep, opened, strict=True):
                if isinstance(channel, ModelChannel):
                    if self.routes.get(route.name) is route:
                        route.channel = channel
                    else:  # the routing changed meanwhile and brought its own model process
                        channel.close()
            failed = [result for result in opened if isinstance(result, BaseException)]
            if failed:
                raise failed[0]
            self.parked = False
            self._ack()
        finally:
            self._waking = None

    def park_if_idle(self) -> None:
        """Stop the model processes once the endpoint has had no request for `idle_seconds` (serverless)."""
        if self.idle_seconds is None or self.parked or self.inflight or self._waking or not self.routes:
            return
        idle = time.monotonic() - self.last_request
        if idle < self.idle_seconds:
            return
        for route in self.routes.values():
            route.channel.retire()
        self.parked = True
        self._ack()
        log.info("worker %d: no request for %.1f s: model processes stopped until the next one", self.index, idle)

    async def revive(self) -> None:
        """Start again the model processes that died (their variants answer 5xx until then)."""
        if self.parked:  # stopped on purpose; the next request starts them
            return
        for route in list(self.routes.values()):
            if not route.channel.closed or route.revivals >= MAX_REVIVALS or self.closing:
                continue
            route.revivals += 1
            log.warning("worker %d: the model process of variant %s exited; starting it again (%d/%d)",
                        self.index, route.name, route.revivals, MAX_REVIVALS)  # fmt: skip
            try:
                channel = await self._open(route.spec)
            except Exception as error:
                log.warning("worker %d: variant %s did not start again: %s", self.index, route.name, error)
                continue
            if self.routes.get(route.name) is route and not self.closing:
                route.channel = channel
            else:
                channel.close()

    def close(self) -> None:
        self.closing = True
        for route in self.routes.values():
            route.channel.retire()


def _chain(inner: asyncio.Future, outer: asyncio.Future) -> None:
    """Resolve `outer` as `inner` resolves."""

    def done(future: asyncio.Future) -> None:
        if outer.done():
            return
        if future.cancelled():
            outer.cancel()
        elif future.exception() is not None:
            outer.set_exception(future.exception())
        else:
            outer.set_result(future.result())

    inner.add_done_callback(done)
