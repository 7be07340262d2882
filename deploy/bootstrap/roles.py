"""The IAM roles of the resolved bootstrap template, each with every statement it holds (control plane).

A role's permissions are its inline policies plus the template's managed policies it
attaches; each statement keeps the name of the policy it came from so a finding (or the
README's table) can say where to look.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from deploy.bootstrap.policy import Decision, Request, evaluate, listed
from deploy.bootstrap.template import Target, TemplateError, load, resolve


@dataclass(frozen=True)
class Statement:
    policy: str  # the inline policy's name or the managed policy's logical id
    body: dict[str, Any]
    why: str = ""  # from the owning resource's Metadata.Reasons, keyed by Sid

    @property
    def sid(self) -> str:
        return self.body.get("Sid", "")

    def actions(self) -> list[str]:
        return listed(self.body.get("Action"))

    def resources(self) -> list[str]:
        return listed(self.body.get("Resource"))


@dataclass(frozen=True)
class Role:
    logical_id: str
    name: str
    arn: str
    description: str
    max_session: int
    trust: list[dict[str, Any]]
    statements: list[Statement]

    def decide(self, request: Request) -> Decision:
        return evaluate([s.body for s in self.statements], request)


def _statements(policy: str, document: dict[str, Any], resource: dict[str, Any]) -> list[Statement]:
    reasons = resource.get("Metadata", {}).get("Reasons", {})
    return [Statement(policy, body, reasons.get(body.get("Sid", ""), "")) for body in document["Statement"]]


def _managed_policies(resources: dict[str, Any], target: Target) -> dict[str, list[Statement]]:
    """Managed policy ARN (as `Ref` resolves it) → its statements."""
    found = {}
    for name, resource in resources.items():
        if resource["Type"] == "AWS::IAM::ManagedPolicy":
            arn = f"arn:{target.partition}:iam::{target.account}:policy/{target.stack_name}-{name}"
            found[arn] = _statements(name, resource["Properties"]["PolicyDocument"], resource)
    return found


def roles(target: Target, template: dict[str, Any] | None = None) -> dict[str, Role]:
    """Every AWS::IAM::Role of the template, resolved for `target`, by logical id."""
    resources = resolve(template if template is not None else load(), target)
    managed = _managed_policies(resources, target)
    found = {}
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        props = resource["Properties"]
        statements = [
            s
            for policy in props.get("Policies", [])
            for s in _statements(policy["PolicyName"], policy["PolicyDocument"], resource)
        ]
        for arn in props.get("ManagedPolicyArns", []):
            if arn not in managed:
                raise TemplateError(f"{logical_id}: managed policy {arn} is not in the template")
            statements += managed[arn]
        found[logical_id] = Role(
            logical_id=logical_id,
            name=props["RoleName"],
            arn=f"arn:{target.partition}:iam::{target.account}:role{props.get('Path', '/')}{props['RoleName']}",
            description=props.get("Description", ""),
            max_session=int(props.get("MaxSessionDuration", 3600)),
            trust=props["AssumeRolePolicyDocument"]["Statement"],
            statements=statements,
        )
    return found
