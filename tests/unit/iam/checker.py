"""Judging a job's needs against its role, and a role's grants against everything its jobs need (test side)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from deploy.bootstrap.policy import action_matches, arn_matches, conditions_hold
from deploy.bootstrap.roles import Role

from .actions import Need, formats


@dataclass(frozen=True)
class Denial:
    job: str
    role: str
    need: Need

    def __str__(self) -> str:
        return f"{self.job}: role {self.role} may not call {self.need.describe()}"


def principal_role(need: Need, caller: Role, roles: dict[str, Role]) -> Role:
    if need.principal == "caller":
        return caller
    for role in roles.values():
        if role.arn == need.principal:
            return role
    raise AssertionError(f"{need.why}: {need.principal} is not a role of the bootstrap template")


def denials(job: str, caller: Role, needs: Iterable[Need], roles: dict[str, Role]) -> list[Denial]:
    found = []
    for need in dict.fromkeys(needs):
        role = principal_role(need, caller, roles)
        if not role.decide(need.request()).allowed:
            found.append(Denial(job, role.logical_id, need))
    return found


def applicable(action: str, resource: str) -> bool:
    """Whether `resource` can name a resource type of `action` (IAM ignores the others)."""
    if resource == "*" or "*" in action:
        return True
    sample = resource.replace("*", "x").replace("?", "x")
    # A resource of another type, or any ARN for an action without resource types, never matches.
    return any(fmt != "*" and arn_matches(re.sub(r"\$\{\w+\}", "*", fmt), sample) for fmt in formats(action))


def unused_grants(role: Role, needs: Iterable[Need]) -> list[str]:
    """Each (statement, action, resource) the role allows that no request of its jobs uses."""
    requests = [need.request() for need in dict.fromkeys(needs)]
    unused = []
    for statement in role.statements:
        body = statement.body
        if body["Effect"] != "Allow" or "Action" not in body:
            continue
        for action in statement.actions():
            for resource in statement.resources():
                if not applicable(action, resource):
                    continue
                used = any(
                    action_matches(action, r.action)
                    and arn_matches(resource, r.resource)
                    and conditions_hold(body.get("Condition", {}), r.context)
                    for r in requests
                )
                if not used:
                    unused.append(f"{role.logical_id} ({statement.policy}/{statement.sid}): {action} on {resource}")
    return unused
