"""Blue/green traffic shifting on a local endpoint, with SageMaker's policy fields (control plane).

The new model is loaded next to the serving one as variant `<variant>-green` at 0 %, then
every step of `DeploymentPolicy.traffic_steps()` moves its share of traffic and bakes for
`wait_seconds × time_scale` while the rollback alarms are evaluated on the green variant's
metrics (`deploy.local.alarms`). After the last step the old fleet is kept for
`termination_wait_seconds × time_scale` (alarms still watched), then the new model takes the
configured variant name again, as SageMaker keeps the variant name across updates.

An alarm, a failure or an interruption anywhere before that puts all traffic back on blue and
removes green; the caller learns why from a `RollbackError` (or the interruption itself).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deploy.config.schema import EnvironmentConfig
from deploy.endpoints import DeployReporter
from deploy.errors import DeployError, MlopsError, RollbackError
from deploy.local.alarms import AlarmMonitor, Breach
from deploy.local.endpoint_process import EndpointProcess
from deploy.local.routing_table import VariantRoute
from deploy.local.serving_metrics import VariantMetrics
from deploy.registry import ModelVersion

TICK_SECONDS = 0.05
REPORT_EVERY_SECONDS = 0.25
# Loading models and moving weights take real time that SageMaker does not scale down.
TIMEOUT_SLACK_SECONDS = 5.0


def green_name(variant: str) -> str:
    return f"{variant}-green"


class AlarmFired(Exception):
    def __init__(self, breach: Breach) -> None:
        super().__init__(breach.describe())
        self.breach = breach


@dataclass
class Rollout:
    """One blue/green update of a running endpoint from `blue` to `model`."""

    process: EndpointProcess
    env: str
    cfg: EnvironmentConfig
    blue: VariantRoute
    reporter: DeployReporter
    phase: str = "loading"
    _base: dict[str, VariantMetrics] = field(default_factory=dict)
    _reported: float = 0.0

    @property
    def green(self) -> str:
        return green_name(self.blue.name)

    def run(self, model: ModelVersion, artifact: Path) -> str:
        """Shift, bake and promote; returns a one-line summary or raises RollbackError."""
        policy, scale = self.cfg.deployment, self.cfg.local.time_scale
        beside = f"'{self.blue.name}' (v{self.blue.version})"
        self.reporter.event(f"loading {model.label} as variant '{self.green}' beside {beside}, 0 % traffic")
        self.process.load_variant(self.green, artifact, model.sha256, model.version)  # a failure leaves blue alone
        self._base = self.process.metrics()
        deadline = time.monotonic() + policy.max_execution_timeout_seconds * scale + TIMEOUT_SLACK_SECONDS
        monitor = AlarmMonitor(self.cfg.alarms, scale, lambda: self.process.metrics().get(self.green))
        try:
            for percent in policy.traffic_steps():
                self._shift(percent, policy.strategy)
                self._bake(monitor, policy.wait_seconds * scale, deadline)
            self.phase = "termination wait"
            self.reporter.event(f"all traffic on v{model.version}; v{self.blue.version} kept for the termination wait")
            self._bake(monitor, policy.termination_wait_seconds * scale, deadline)
            breach = monitor.flush()
            if breach is not None:
                raise AlarmFired(breach)
            self._promote(model, artifact)
        except BaseException as exc:
            during = self.phase
            self._roll_back()
            if isinstance(exc, Exception):
                raise self._rollback_error(model, exc) from None
            self.reporter.event(
                f"{self.env}: interrupted during {during}: deploy of {model.label} ROLLED BACK; "
                f"v{self.blue.version} (variant '{self.blue.name}') is still serving 100 %"
            )
            raise
        self.process.remove_variant(self.green)
        steps = "/".join(f"{p}%" for p in policy.traffic_steps())
        return (
            f"{self.env}: {model.label} serving 100 % as '{self.blue.name}' after {policy.strategy} {steps} "
            f"with {len(self.cfg.alarms)} alarm(s) quiet; v{self.blue.version} retired"
        )

    def _shift(self, percent: int, strategy: str) -> None:
        self.process.set_weights({self.blue.name: 100 - percent, self.green: percent})
        self.phase = f"{strategy} {percent}%" if percent < 100 else f"{strategy} 100%"
        self.reporter.event(
            f"traffic: {self.green} {percent} % · {self.blue.name} {100 - percent} %; baking with alarms watched"
        )
        self._report(force=True)

    def _bake(self, monitor: AlarmMonitor, seconds: float, deadline: float) -> None:
        end = time.monotonic() + seconds
        while True:
            breach = monitor.poll()
            if breach is not None:
                raise AlarmFired(breach)
            now = time.monotonic()
            if now >= end:
                return
            if now >= deadline:
                raise DeployError(
                    f"the update exceeded max_execution_timeout_seconds "
                    f"({self.cfg.deployment.max_execution_timeout_seconds} s × time_scale)"
                )
            self._report()
            time.sleep(min(TICK_SECONDS, end - now))

    def _promote(self, model: ModelVersion, artifact: Path) -> None:
        """The new model takes the configured variant name (blue is at 0 %, so nobody notices)."""
        self.phase = "promoting"
        answered = self.process.metrics().get(self.green, VariantMetrics()).window(self._base.get(self.green)).count
        if not answered and self.cfg.alarms:
            self.reporter.event(
                f"warning: {self.green} answered no requests while baking, so the alarms had no datapoints "
                "(no data is not breaching); replay traffic with `mlops deploy --traffic test-split`"
            )
        self.process.load_variant(self.blue.name, artifact, model.sha256, model.version)
        self.process.set_weights({self.blue.name: 100, self.green: 0})
        self._report(force=True)

    def _roll_back(self) -> None:
        self.phase = "rolled back"
        try:
            self.process.set_weights({self.blue.name: 100, self.green: 0})
            self._report(force=True)
            self.process.remove_variant(self.green)
        except MlopsError as exc:
            raise DeployError(
                f"{self.env}: rolling back to v{self.blue.version} failed too: {exc.message}; "
                f"run `mlops endpoint status --env {self.env}`"
            ) from None

    def _rollback_error(self, model: ModelVersion, exc: Exception) -> RollbackError:
        if isinstance(exc, AlarmFired):
            why = exc.breach.describe()
        elif isinstance(exc, MlopsError):
            why = exc.message
        else:
            why = f"{type(exc).__name__}: {exc}"
        serving = f"v{self.blue.version} (blue, variant '{self.blue.name}') is still serving 100 %"
        return RollbackError(f"{self.env}: deploy of {model.label} ROLLED BACK: {why}; {serving}")

    def _report(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._reported < REPORT_EVERY_SECONDS:
            return
        self._reported = now
        self.reporter.traffic(self.snapshot())

    def snapshot(self) -> dict[str, Any]:
        """Weights and versions as routed now, and what each variant answered since the update began."""
        current, routing = self.process.metrics(), self.process.routing()
        variants = []
        for name in (self.blue.name, self.green):
            route = routing.get(name)
            window = current.get(name, VariantMetrics()).window(self._base.get(name))
            variants.append(
                {"name": name, "version": route.version if route else "-", "weight": route.weight if route else 0,
                 "requests": window.count, "errors": window.errors_5xx, "client_errors": window.errors_4xx,
                 "p99_ms": window.p99_ms or 0.0}
            )  # fmt: skip
        return {"phase": self.phase, "variants": variants}
