"""Following a SageMaker endpoint create or blue/green update to its end, and judging it (control plane).

The loop polls DescribeEndpoint, reports `PendingDeploymentSummary` (new fleet's weight,
instances, ActivatingTraffic/Baking) whenever it changes, and stops when the endpoint is
settled or the deadline passes. Settled is not success: after an alarm-triggered rollback
or a failed update SageMaker is back `InService` on the *old* endpoint config, sometimes
with only `FailureReason` set, and its own waiter calls that a success. So the verdict
compares the live `EndpointConfigName` with the one requested and checks `FailureReason`
against its value before the deploy; `Failed` and `UpdateRollbackFailed` fail too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from deploy.endpoints import DeployReporter, LiveState
from deploy.errors import DeployError, RollbackError

TRANSITIONAL = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack"})
# UpdateEndpoint sets Updating before it returns; an InService answer on the old config
# right after it is retried this many times before it is judged a silent rollback.
SETTLE_POLLS = 3
# New-fleet states in which it takes traffic and the rollback alarms judge it.
JUDGED = frozenset({"ActivatingTraffic", "Baking"})


class StillDeploying(DeployError):
    """The follow loop gave up while SageMaker carries on with the update (and judges it)."""


@dataclass(frozen=True)
class Serving:
    """What served before the deploy, from the tags of its endpoint config."""

    config_name: str | None = None
    version: int | None = None
    label: str | None = None

    def still_serving(self, observed: str | None) -> str:
        if self.config_name and observed == self.config_name:
            return f"{self.label or 'the previous model'} (endpoint config '{observed}') is still serving"
        return f"endpoint config '{observed}' is serving" if observed else "nothing is serving"


BUSY = {"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"}


def check_ready(env: str, live: LiveState) -> None:
    """Refuse to deploy onto an endpoint that is busy or broken, saying what to do."""
    name, status, reason = live.endpoint_name, live.status, live.failure_reason or "no reason given"
    if status in BUSY:
        raise DeployError(
            f"{env}: endpoint '{name}' is {status}: another deployment is under way; "
            f"wait for it (`mlops plan --env {env}`) and deploy again"
        )
    if status == "Failed":
        raise DeployError(
            f"{env}: endpoint '{name}' is Failed ({reason}): delete it "
            f"(`aws sagemaker delete-endpoint --endpoint-name {name}`) and deploy again"
        )
    if status != "InService":
        raise DeployError(f"{env}: endpoint '{name}' is {status} ({reason}): fix it in the console first")


@dataclass(frozen=True)
class Target:
    """What the deploy asked for."""

    env: str
    endpoint: str
    config_name: str
    version: int
    label: str
    creating: bool
    timeout_seconds: float
    baseline_failure: str | None = None  # FailureReason before the update (it can linger from an older one)


def latest_status(variant: dict[str, Any]) -> dict[str, Any]:
    statuses = variant.get("VariantStatus") or []
    return max(statuses, key=lambda s: str(s.get("StartTime", ""))) if statuses else {}


def _capacity(variant: dict[str, Any], unknown: Any) -> str:
    """Current/desired instances of a fleet, or its memory when it is serverless."""
    serverless = variant.get("DesiredServerlessConfig") or variant.get("CurrentServerlessConfig")
    if serverless:
        return f"serverless {serverless.get('MemorySizeInMB', '?')} MB"
    return f"{variant.get('CurrentInstanceCount', unknown)}/{variant.get('DesiredInstanceCount', '?')}"


def snapshot(described: dict[str, Any], previous: Serving, target: Target) -> dict[str, Any]:
    """Status and per-fleet weights for `DeployReporter.traffic` (blue: live variants, green: pending)."""
    variants = []
    blue_version = target.version if target.creating else previous.version
    for variant in described.get("ProductionVariants", []):
        status = latest_status(variant)
        variants.append(
            {
                "name": variant["VariantName"],
                "fleet": "serving",
                "version": blue_version,
                "weight": variant.get("CurrentWeight"),
                "instances": _capacity(variant, "?"),
                "status": status.get("Status", described.get("EndpointStatus")),
                "message": status.get("StatusMessage", ""),
            }
        )
    for variant in (described.get("PendingDeploymentSummary") or {}).get("ProductionVariants", []):
        status = latest_status(variant)
        variants.append(
            {
                "name": variant["VariantName"],
                "fleet": "new",
                "version": target.version,
                "weight": variant.get("CurrentWeight"),
                "instances": _capacity(variant, 0),
                "status": status.get("Status", "Pending"),
                "message": status.get("StatusMessage", ""),
            }
        )
    judging = described.get("EndpointStatus") == "Updating" and any(
        v["fleet"] == "new" and (v["status"] in JUDGED or (v["weight"] or 0) > 0) for v in variants
    )
    return {"phase": described.get("EndpointStatus", "?"), "variants": variants, "judging": judging}


class Rollout:
    """Polls one endpoint until it settles; returns the final description or raises Deploy/RollbackError."""

    def __init__(
        self,
        sagemaker: Any,
        reporter: DeployReporter,
        *,
        poll_seconds: float,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
        firing: Callable[[], list[str]] = list,
    ) -> None:
        self.sagemaker = sagemaker
        self.reporter = reporter
        self.poll_seconds = poll_seconds
        self.sleep = sleep
        self.clock = clock
        self.firing = firing

    def follow(self, target: Target, previous: Serving) -> dict[str, Any]:
        deadline = self.clock() + target.timeout_seconds
        last_status, last_snapshot, moved, polls = None, None, False, 0
        while True:
            described = self.sagemaker.describe_endpoint(EndpointName=target.endpoint)
            status, polls = described["EndpointStatus"], polls + 1
            if status != last_status:
                self._status_event(target, described)
            current = snapshot(described, previous, target)
            if current != last_snapshot:
                self.reporter.traffic(current)
            last_status, last_snapshot = status, current
            moved = moved or status in TRANSITIONAL
            if status not in TRANSITIONAL:
                on_target = described.get("EndpointConfigName") == target.config_name
                if status != "InService" or on_target or moved or polls >= SETTLE_POLLS:
                    return self.verdict(target, previous, described)
            if self.clock() >= deadline:
                raise self._timeout(target, previous, described)
            self.sleep(self.poll_seconds)

    def verdict(self, target: Target, previous: Serving, described: dict[str, Any]) -> dict[str, Any]:
        """The final description if the requested config serves cleanly; else the error saying why not."""
        status = described["EndpointStatus"]
        observed = described.get("EndpointConfigName")
        reason = described.get("FailureReason") or ""
        serving = previous.still_serving(observed)
        head = f"{target.env}: deploy of {target.label} to endpoint '{target.endpoint}'"
        if status == "UpdateRollbackFailed":
            raise RollbackError(
                f"{head} failed and its rollback FAILED too (UpdateRollbackFailed): "
                f"{reason or 'no reason given'}; the endpoint needs a manual fix in the console"
            )
        if status != "InService" and target.creating:
            raise DeployError(
                f"{head} FAILED while creating ({status}): {reason or 'no reason given'}; "
                f"see CloudWatch logs /aws/sagemaker/Endpoints/{target.endpoint}"
            )
        if status != "InService":
            raise RollbackError(f"{head} FAILED ({status}): {reason or 'no reason given'}; {serving}")
        if observed != target.config_name:
            why = reason or "; ".join(self.firing()) or "SageMaker gave no reason"
            raise RollbackError(
                f"{head} was ROLLED BACK (silently: InService on '{observed}', not the requested "
                f"'{target.config_name}'): {why}; {serving}"
            )
        if reason and reason != target.baseline_failure:
            raise RollbackError(f"{head} reports a failure although it is InService on '{observed}': {reason}")
        return described

    def _status_event(self, target: Target, described: dict[str, Any]) -> None:
        status = described["EndpointStatus"]
        message = f"endpoint '{target.endpoint}' is {status}"
        if status == "RollingBack":
            alarms = self.firing()
            message += " (SageMaker is ROLLING BACK" + (f": {'; '.join(alarms)})" if alarms else ")")
        elif described.get("FailureReason") and status not in TRANSITIONAL:
            message += f": {described['FailureReason']}"
        self.reporter.event(message)

    def _timeout(self, target: Target, previous: Serving, described: dict[str, Any]) -> StillDeploying:
        return StillDeploying(
            f"{target.env}: deploy of {target.label} did not finish within {target.timeout_seconds:.0f} s: "
            f"endpoint '{target.endpoint}' is still {described['EndpointStatus']} and SageMaker carries on "
            f"(it rolls back by itself after MaximumExecutionTimeoutInSeconds); "
            f"{previous.still_serving(described.get('EndpointConfigName'))} meanwhile; "
            f"run `mlops plan --env {target.env}` to see where it ended"
        )
