"""What a deploy would change: the desired state from git against the live endpoint (control plane).

The same diff drives `mlops plan` (a PR comment, the drift check) and `mlops deploy`
(an empty diff is a no-op, so deploys are idempotent reconciles).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from deploy.config.schema import EnvironmentConfig
from deploy.endpoints import LiveState


@dataclass(frozen=True)
class Change:
    field: str
    live: Any
    desired: Any


def desired_fields(cfg: EnvironmentConfig) -> dict[str, Any]:
    """The fields of an environment that a deploy reconciles, in the shape `LiveState` reports."""
    serverless = cfg.endpoint.serverless
    return {
        "model.version": cfg.model.version,
        "model.sha256": cfg.model.sha256,
        # A serverless variant has no instances: its defaults in the schema are not desired state.
        "endpoint.instance_type": None if serverless else cfg.endpoint.instance_type,
        "endpoint.instance_count": None if serverless else cfg.endpoint.instance_count,
        "endpoint.serverless": serverless.model_dump() if serverless else None,
        "endpoint.data_capture": cfg.endpoint.data_capture.model_dump(),
        "endpoint.autoscaling": cfg.endpoint.autoscaling.model_dump(),
        "deployment": cfg.deployment.model_dump(),
        "alarms": [a.model_dump() for a in cfg.alarms],
        "monitoring.alarms": [a.model_dump() for a in cfg.monitoring.alarms],
        "monitoring.dashboard": cfg.dashboard_name(),
    }


def live_fields(live: LiveState) -> dict[str, Any]:
    return {
        "model.version": live.model_version,
        "model.sha256": live.model_sha256,
        "endpoint.instance_type": live.instance_type,
        "endpoint.instance_count": live.instance_count,
        "endpoint.serverless": live.serverless,
        "endpoint.data_capture": live.data_capture,
        "endpoint.autoscaling": live.autoscaling,
        "deployment": live.deployment,
        "alarms": live.alarms,
        "monitoring.alarms": live.monitoring_alarms,
        "monitoring.dashboard": live.dashboard,
    }


def diff(cfg: EnvironmentConfig, live: LiveState | None) -> list[Change]:
    """Every reconciled field whose live value differs from git; all of them when nothing is live."""
    desired = desired_fields(cfg)
    current = live_fields(live) if live is not None else dict.fromkeys(desired)
    changes = [Change(name, current.get(name), value) for name, value in desired.items() if current.get(name) != value]
    if live is not None and live.status not in ("InService",):
        changes.insert(0, Change("endpoint.status", live.status, "InService"))
    return changes


def _short(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, str) and len(value) == 64:
        return value[:12] + "…"
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, list):
        return "; ".join(item.get("name", str(item)) if isinstance(item, dict) else str(item) for item in value)
    return str(value)


def render_markdown(env: str, endpoint: str, live: LiveState | None, changes: list[Change]) -> str:
    head = f"### `mlops plan` · {env} · endpoint `{endpoint}`\n\n"
    if live is None:
        head += "The endpoint does not exist yet: a deploy **creates** it.\n\n"
    elif not changes:
        return head + "No changes: the live endpoint matches git.\n"
    rows = "\n".join(f"| `{c.field}` | {_short(c.live)} | {_short(c.desired)} |" for c in changes)
    why = f"\nWhy it is not in service: {_reason(live)}\n" if _reason(live) else ""
    return head + "| field | live | desired (git) |\n|---|---|---|\n" + rows + "\n" + why


def _reason(live: LiveState | None) -> str | None:
    """The endpoint's FailureReason when it cannot serve, which is drift in itself."""
    if live is None or live.status == "InService":
        return None
    return live.failure_reason


def render_text(env: str, endpoint: str, live: LiveState | None, changes: list[Change]) -> str:
    if not changes:
        return f"{env} ({endpoint}): no changes"
    verb = "create" if live is None else "update"
    lines = [f"{env} ({endpoint}): {verb}, {len(changes)} change(s)"]
    lines += [f"  ~ {c.field}: {_short(c.live)} → {_short(c.desired)}" for c in changes]
    if _reason(live):
        lines.append(f"    ({_reason(live)})")
    return "\n".join(lines)


def _percent(value: float) -> str:
    return f"{round(value, 1):g} %"


def rollout_note(cfg: EnvironmentConfig, *, creating: bool = False) -> str:
    """How an update shifts traffic; SageMaker moves it in whole instances, so a 10 % canary can be half of it.

    The local backend has no instances and shifts the configured percent, which the note says too.
    """
    policy, fleet = cfg.deployment, cfg.endpoint.instance_count
    lead = "rollout: a new endpoint takes all traffic at once; updates: " if creating else "rollout: "
    bake = f"bake {policy.wait_seconds} s a step, termination wait {policy.termination_wait_seconds} s"
    if policy.strategy == "all_at_once":
        return f"{lead}all at once, 100 % of traffic; {bake}"
    size, shares = policy.step_instances(fleet), policy.fleet_steps(fleet)
    configured = policy.canary_percent if policy.strategy == "canary" else policy.linear_step_percent
    whole = f"{configured} % of {fleet} instances is {size} instance{'s' if size > 1 else ''}"
    moved = " → ".join(_percent(s) for s in (shares[:1] if policy.strategy == "canary" else shares))
    text = f"{policy.strategy} {'of' if policy.strategy == 'canary' else 'steps of'} {whole}: on SageMaker "
    text += f"{'it takes ' if policy.strategy == 'canary' else ''}{moved} of traffic"
    if round(shares[0], 1) != configured:
        text += f", not the {configured} % configured (whole instances; the local backend shifts {configured} %)"
    if policy.strategy == "canary":
        text += ", then 100 %"
    if cfg.endpoint.autoscaling.enabled:
        text += " (with autoscaling: sized on the instance count serving when the deploy starts)"
    return f"{lead}{text}; {bake}"
