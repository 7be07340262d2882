"""The deployment policy from git turned into SageMaker's `DeploymentConfig`, in one place (control plane).

Rollout policy is data: `deployment:` in `config/<env>.yaml` says all-at-once, canary or
linear, the step size, bake, termination wait and timeout; `alarms:` names what rolls it
back. This module is the only code that knows how those fields map onto the
`UpdateEndpoint` request, and how long a deploy may take before the follow loop gives up.
"""

from __future__ import annotations

from typing import Any

from deploy.config.schema import DeploymentPolicy

ROUTING_TYPES = {"all_at_once": "ALL_AT_ONCE", "canary": "CANARY", "linear": "LINEAR"}
# Provisioning the new fleet comes on top of the bake steps SageMaker's own timeout covers.
FOLLOW_MARGIN_SECONDS = 900
# CreateEndpoint has no policy timeout; endpoints take 20–30 min to come up, sometimes more.
CREATE_TIMEOUT_SECONDS = 3600


def traffic_routing(policy: DeploymentPolicy) -> dict[str, Any]:
    routing: dict[str, Any] = {"Type": ROUTING_TYPES[policy.strategy], "WaitIntervalInSeconds": policy.wait_seconds}
    if policy.strategy == "canary":
        routing["CanarySize"] = {"Type": "CAPACITY_PERCENT", "Value": policy.canary_percent}
    elif policy.strategy == "linear":
        routing["LinearStepSize"] = {"Type": "CAPACITY_PERCENT", "Value": policy.linear_step_percent}
    return routing


def deployment_config(policy: DeploymentPolicy, alarm_names: list[str]) -> dict[str, Any]:
    """`DeploymentConfig` of UpdateEndpoint: blue/green with the policy, rolled back by the alarms."""
    config: dict[str, Any] = {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": traffic_routing(policy),
            "TerminationWaitInSeconds": policy.termination_wait_seconds,
            "MaximumExecutionTimeoutInSeconds": policy.max_execution_timeout_seconds,
        }
    }
    if alarm_names:  # AutoRollbackConfiguration needs 1–10 alarms; without any there is no auto-rollback
        config["AutoRollbackConfiguration"] = {"Alarms": [{"AlarmName": name} for name in alarm_names]}
    return config


def follow_timeout_seconds(policy: DeploymentPolicy, *, creating: bool) -> int:
    """How long `mlops deploy` follows the endpoint before it reports the deploy as stuck."""
    if creating:
        return CREATE_TIMEOUT_SECONDS
    return policy.max_execution_timeout_seconds + policy.termination_wait_seconds + FOLLOW_MARGIN_SECONDS
