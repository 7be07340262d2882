"""A recorded AWS call as the IAM request(s) it makes: action, resource ARN, condition keys (test side).

The action is the service's IAM prefix plus the service model's operation name, except
where the Service Authorization Reference names it differently (S3's HeadObject is
s3:GetObject, and so on: `RENAMED`). The resource ARN comes from policy_sentry's offline
copy of that reference: for each resource type the action lists, its ARN format with the
placeholders filled from the call's parameters (`${EndpointName}` from `EndpointName`,
with the few differently named ones in `PLACEHOLDERS`), or an ARN the call passes as is.
An action whose resource cannot be named from the call is checked against `*`, which only
a `Resource: "*"` grant covers, as in IAM.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from policy_sentry.querying.actions import get_action_data

from deploy.bootstrap.policy import Request
from deploy.bootstrap.template import Target

from .recorder import Call

PREFIX = {  # botocore service name → IAM service prefix
    "sagemaker": "sagemaker",
    "sagemaker-runtime": "sagemaker",
    "s3": "s3",
    "cloudwatch": "cloudwatch",
    "logs": "logs",
    "application-autoscaling": "application-autoscaling",
    "iam": "iam",
    "sts": "sts",
    "ecr": "ecr",
    "pricing": "pricing",
}
RENAMED = {  # (service, operation) → IAM action, where the two differ
    ("s3", "HeadBucket"): "s3:ListBucket",
    ("s3", "HeadObject"): "s3:GetObject",
    ("s3", "ListObjectsV2"): "s3:ListBucket",
    ("s3", "CreateMultipartUpload"): "s3:PutObject",
    ("s3", "UploadPart"): "s3:PutObject",
    ("s3", "CompleteMultipartUpload"): "s3:PutObject",
    ("s3", "AbortMultipartUpload"): "s3:AbortMultipartUpload",
}
FREE = {("sts", "GetCallerIdentity")}  # needs no permission
PLACEHOLDERS = {  # ARN placeholder → parameter names that fill it, where they differ
    "BucketName": ("Bucket",),
    "ObjectName": ("Key",),
    "LogGroupName": ("logGroupName",),
    "LogStreamName": ("logStreamName",),
    "AlarmName": ("AlarmName", "AlarmNames"),
    "DashboardName": ("DashboardName", "DashboardNames"),
    "RoleNameWithPath": (),
    "ResourceId": (),  # a scalable target's id is not the call's ResourceId
}


@dataclass(frozen=True)
class Need:
    """One IAM request a principal must be allowed to make."""

    principal: str  # "caller" (the job's role) or the ARN of another role
    action: str
    resource: str
    context: tuple[tuple[str, tuple[str, ...]], ...] = ()
    why: str = ""  # the call (and rule) it comes from

    def request(self) -> Request:
        return Request(self.action, self.resource, {k: list(v) for k, v in self.context})

    def describe(self) -> str:
        context = f" with {dict(self.context)}" if self.context else ""
        return f"{self.action} on {self.resource}{context} (for {self.why})"


@dataclass
class Naming:
    target: Target
    unknown: list[str] = field(default_factory=list)  # calls whose action has no reference entry

    def action(self, call: Call) -> str | None:
        if (call.service, call.operation) in FREE:
            return None
        if (call.service, call.operation) in RENAMED:
            return RENAMED[(call.service, call.operation)]
        return f"{PREFIX[call.service]}:{call.operation}"

    def resources(self, action: str, params: dict[str, Any]) -> list[str]:
        """Every ARN the call names for the action's resource types; ["*"] when it names none."""
        found: list[str] = []
        for fmt in formats(action):
            for arn in self._fill(fmt, params):
                if arn not in found:
                    found.append(arn)
        return found or ["*"]

    def _fill(self, fmt: str, params: dict[str, Any]) -> list[str]:
        if fmt == "*":
            return []
        given = [v for k, v in params.items() if k.endswith("Arn") and isinstance(v, str) and v.startswith("arn:")]
        pattern = re.escape(fmt)
        pattern = re.sub(r"\\\$\\\{\w+\\\}", "[^:]+", pattern)
        matching = [arn for arn in given if re.fullmatch(pattern.replace("[^:]+", ".+"), arn)]
        if matching:
            return matching
        values: list[dict[str, str]] = [
            {"Partition": self.target.partition, "Region": self.target.region, "Account": self.target.account}
        ]
        for name in re.findall(r"\$\{(\w+)\}", fmt):
            if name in values[0]:
                continue
            keys = PLACEHOLDERS.get(name, (name,))
            value = next((params[k] for k in keys if k in params), None)
            if value is None or value == []:
                return []
            if isinstance(value, str) and value.startswith("arn:"):  # e.g. ModelPackageName given as an ARN
                return [value] if re.fullmatch(pattern.replace("[^:]+", ".+"), value) else []
            choices = value if isinstance(value, list) else [value]
            values = [{**v, name: str(c)} for v in values for c in choices]
        return [re.sub(r"\$\{(\w+)\}", lambda m, v=v: v[m.group(1)], fmt) for v in values]

    def direct(self, call: Call) -> list[Need]:
        action = self.action(call)
        if action is None:
            return []
        if not formats(action):
            self.unknown.append(f"{call.service}.{call.operation} → {action}")
            return []
        context = tag_context(call.params.get("Tags"))
        if call.service == "sagemaker" and "ModelApprovalStatus" in call.params:
            # The status a registry write sets is a condition key: policies may limit it.
            context += (("sagemaker:ModelApprovalStatus", (call.params["ModelApprovalStatus"],)),)
        if (call.service, call.operation) == ("cloudwatch", "PutMetricData"):
            # The namespace is a condition key: policies confine metric writes to theirs.
            context += (("cloudwatch:namespace", (call.params["Namespace"],)),)
        why = f"{call.service}.{call.operation}"
        return [Need("caller", action, arn, context, why) for arn in self.resources(action, call.params)]


@cache
def formats(action: str) -> tuple[str, ...]:
    """The ARN formats the Service Authorization Reference lists for `action` (empty: no such action)."""
    prefix, name = action.split(":", 1)
    try:
        data = get_action_data(prefix, name)
    except Exception:  # policy_sentry raises on an unknown service prefix
        return ()
    entries = data.get(prefix, []) if isinstance(data, dict) else []
    return tuple(e["resource_arn_format"] for e in entries)


def tag_context(tags: list[dict[str, str]] | None) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """aws:RequestTag/<key> and aws:TagKeys for a request that carries tags."""
    if not tags:
        return ()
    pairs = [(f"aws:RequestTag/{t['Key']}", (t["Value"],)) for t in tags]
    return (*pairs, ("aws:TagKeys", tuple(t["Key"] for t in tags)))
