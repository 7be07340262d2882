"""Autoscaling of an endpoint variant through Application Auto Scaling (control plane).

`endpoint.autoscaling` in git becomes a scalable target on the variant's instance count and
one target-tracking policy on `SageMakerVariantInvocationsPerInstance`. SageMaker refuses to
change the instance type of a variant that is registered, so a deploy deregisters first and
registers again once the new fleet serves.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from deploy.config.schema import Autoscaling

NAMESPACE = "sagemaker"
DIMENSION = "sagemaker:variant:DesiredInstanceCount"
POLICY_NAME = "mlops-invocations-per-instance"
METRIC = "SageMakerVariantInvocationsPerInstance"


def resource_id(endpoint: str, variant: str) -> str:
    return f"endpoint/{endpoint}/variant/{variant}"


def policy_request(scaling: Autoscaling, resource: str) -> dict[str, Any]:
    return {
        "PolicyName": POLICY_NAME,
        "ServiceNamespace": NAMESPACE,
        "ResourceId": resource,
        "ScalableDimension": DIMENSION,
        "PolicyType": "TargetTrackingScaling",
        "TargetTrackingScalingPolicyConfiguration": {
            "TargetValue": float(scaling.target_invocations_per_instance),
            "PredefinedMetricSpecification": {"PredefinedMetricType": METRIC},
            "ScaleInCooldown": scaling.scale_in_cooldown_seconds,
            "ScaleOutCooldown": scaling.scale_out_cooldown_seconds,
        },
    }


class VariantScaling:
    """The scalable target and policy of one endpoint variant."""

    def __init__(self, client: Any, endpoint: str, variant: str) -> None:
        self.client = client
        self.resource = resource_id(endpoint, variant)

    def target(self) -> dict[str, Any] | None:
        targets = self.client.describe_scalable_targets(
            ServiceNamespace=NAMESPACE, ResourceIds=[self.resource], ScalableDimension=DIMENSION
        ).get("ScalableTargets", [])
        return targets[0] if targets else None

    def read(self, desired: Autoscaling) -> dict[str, Any]:
        """The live setting in `Autoscaling.model_dump()` shape; when off, the other fields read as git's."""
        target = self.target()
        if target is None:
            return {**desired.model_dump(), "enabled": False}
        policies = self.client.describe_scaling_policies(
            ServiceNamespace=NAMESPACE, ResourceId=self.resource, ScalableDimension=DIMENSION, PolicyNames=[POLICY_NAME]
        ).get("ScalingPolicies", [])
        tracking = policies[0].get("TargetTrackingScalingPolicyConfiguration", {}) if policies else {}
        return {
            "enabled": True,
            "min_capacity": target["MinCapacity"],
            "max_capacity": target["MaxCapacity"],
            "target_invocations_per_instance": tracking.get("TargetValue"),
            "scale_in_cooldown_seconds": tracking.get("ScaleInCooldown"),
            "scale_out_cooldown_seconds": tracking.get("ScaleOutCooldown"),
        }

    def apply(self, scaling: Autoscaling) -> str | None:
        """Make the variant's scaling match git; a one-line description of what changed, or None."""
        if not scaling.enabled:
            return "autoscaling deregistered" if self.deregister() else None
        self.client.register_scalable_target(
            ServiceNamespace=NAMESPACE,
            ResourceId=self.resource,
            ScalableDimension=DIMENSION,
            MinCapacity=scaling.min_capacity,
            MaxCapacity=scaling.max_capacity,
        )
        self.client.put_scaling_policy(**policy_request(scaling, self.resource))
        return (
            f"autoscaling {scaling.min_capacity}–{scaling.max_capacity} instances, "
            f"target {scaling.target_invocations_per_instance:g} invocations/instance"
        )

    def deregister(self) -> bool:
        """Remove policy and target; False if the variant was not registered."""
        if self.target() is None:
            return False
        try:
            self.client.delete_scaling_policy(
                PolicyName=POLICY_NAME,
                ServiceNamespace=NAMESPACE,
                ResourceId=self.resource,
                ScalableDimension=DIMENSION,
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ObjectNotFoundException":
                raise
        self.client.deregister_scalable_target(
            ServiceNamespace=NAMESPACE, ResourceId=self.resource, ScalableDimension=DIMENSION
        )
        return True
