"""The deployment policy from git turned into SageMaker's `UpdateEndpoint` request, in one place (control plane).

Rollout policy is data: `deployment:` in `config/<env>.yaml` says all-at-once, canary or
linear, the step size, bake, termination wait and timeout; `alarms:` names what rolls it
back. This module is the only code that knows how those fields map onto the
`UpdateEndpoint` request, and how long a deploy may take before the follow loop gives up.

Step sizes are sent as INSTANCE_COUNT, worked out from the configured percent and the size
of the fleet (`DeploymentPolicy.step_instances`): SageMaker activates whole instances, so on
a 2-instance fleet a 10 % canary is one instance and half the traffic. Sending the count
makes the request say exactly what `mlops plan` shows. With autoscaling on, the new fleet
keeps the variant's current (scaled) instance count (`RetainAllVariantProperties`), so the
step sizes are worked out on that count. A serverless endpoint is updated blue/green
ALL_AT_ONCE (SageMaker has no canary or linear shifting for it; the schema allows nothing
else), with no instance count retained.
"""

from __future__ import annotations

from typing import Any

from deploy.config.schema import DeploymentPolicy, EnvironmentConfig

ROUTING_TYPES = {"all_at_once": "ALL_AT_ONCE", "canary": "CANARY", "linear": "LINEAR"}
# Provisioning the new fleet comes on top of the bake steps SageMaker's own timeout covers.
FOLLOW_MARGIN_SECONDS = 900
# CreateEndpoint has no policy timeout; endpoints take 20–30 min to come up, sometimes more.
CREATE_TIMEOUT_SECONDS = 3600
# Retained from the live variant: its instance count. Taken from the new endpoint config:
# the weight and data capture, which git decides.
NOT_RETAINED = ("DesiredWeight", "DataCaptureConfig")


def traffic_routing(policy: DeploymentPolicy, fleet: int) -> dict[str, Any]:
    routing: dict[str, Any] = {"Type": ROUTING_TYPES[policy.strategy], "WaitIntervalInSeconds": policy.wait_seconds}
    if policy.strategy == "canary":
        routing["CanarySize"] = {"Type": "INSTANCE_COUNT", "Value": policy.step_instances(fleet)}
    elif policy.strategy == "linear":
        routing["LinearStepSize"] = {"Type": "INSTANCE_COUNT", "Value": policy.step_instances(fleet)}
    return routing


def deployment_config(policy: DeploymentPolicy, fleet: int, alarm_names: list[str]) -> dict[str, Any]:
    """`DeploymentConfig`: blue/green with the policy on a `fleet`-instance variant, rolled back by the alarms."""
    config: dict[str, Any] = {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": traffic_routing(policy, fleet),
            "TerminationWaitInSeconds": policy.termination_wait_seconds,
            "MaximumExecutionTimeoutInSeconds": policy.max_execution_timeout_seconds,
        }
    }
    if alarm_names:  # AutoRollbackConfiguration needs 1–10 alarms; without any there is no auto-rollback
        config["AutoRollbackConfiguration"] = {"Alarms": [{"AlarmName": name} for name in alarm_names]}
    return config


def update_request(
    cfg: EnvironmentConfig, config_name: str, live_instances: int | None, alarm_names: list[str]
) -> dict[str, Any]:
    """The UpdateEndpoint arguments; `live_instances` is the serving variant's current instance count."""
    # A serverless variant has no instance count to keep; the schema allows it all-at-once only.
    retain = cfg.endpoint.autoscaling.enabled and live_instances is not None and cfg.endpoint.serverless is None
    fleet = live_instances if retain and live_instances else cfg.endpoint.instance_count
    request: dict[str, Any] = {
        "EndpointName": cfg.endpoint.name,
        "EndpointConfigName": config_name,
        "RetainAllVariantProperties": retain,
        "DeploymentConfig": deployment_config(cfg.deployment, fleet, alarm_names),
    }
    if retain:
        request["ExcludeRetainedVariantProperties"] = [{"VariantPropertyType": name} for name in NOT_RETAINED]
    return request


def follow_timeout_seconds(policy: DeploymentPolicy, *, creating: bool) -> int:
    """How long `mlops deploy` follows the endpoint before it reports the deploy as stuck."""
    if creating:
        return CREATE_TIMEOUT_SECONDS
    return policy.max_execution_timeout_seconds + policy.termination_wait_seconds + FOLLOW_MARGIN_SECONDS


def update_summary(request: dict[str, Any]) -> str:
    """One line saying what UpdateEndpoint was asked to do."""
    policy = request["DeploymentConfig"]["BlueGreenUpdatePolicy"]
    routing = policy["TrafficRoutingConfiguration"]
    size = routing.get("CanarySize") or routing.get("LinearStepSize")
    step = f" {size['Value']} instance(s) per step" if size else ""
    rollback = request["DeploymentConfig"].get("AutoRollbackConfiguration", {})
    alarms = [a["AlarmName"] for a in rollback.get("Alarms", [])]
    kept = "; instance count kept from the scaled fleet" if request["RetainAllVariantProperties"] else ""
    return (
        f"UpdateEndpoint '{request['EndpointName']}' → '{request['EndpointConfigName']}': blue/green "
        f"{routing['Type']}{step}{kept}, rollback alarms: {', '.join(alarms) or 'none'}"
    )
