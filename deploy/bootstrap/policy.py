"""A small IAM policy evaluator for identity policies (control plane, no AWS calls).

Answers "may this principal call `action` on `resource` with this request context?" the
way IAM does for one account: an explicit Deny wins, then any Allow, else the implicit
deny. Supports Action/NotAction and Resource/NotResource with `*` and `?` wildcards
(actions case-insensitive, ARNs case-sensitive and matched segment by segment), and the
condition operators the bootstrap template can use: String*, Arn*, Bool, Null, with the
`ForAnyValue:`/`ForAllValues:` set prefixes and the `IfExists` suffix.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Context = Mapping[str, str | Sequence[str]]


class PolicyError(ValueError):
    """A statement this evaluator cannot judge (an unknown operator, a malformed statement)."""


@dataclass(frozen=True)
class Request:
    action: str
    resource: str
    context: Context = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str  # "allowed by <sid>", "denied by <sid>" or "no statement allows it"


def listed(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


@functools.lru_cache(maxsize=4096)
def _compiled(pattern: str) -> re.Pattern[str]:
    """An IAM wildcard pattern as a regex: only * and ? are wildcards ([...] is literal, unlike fnmatch).

    Compiled once: a policy check matches the same few patterns against every request.
    """
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern), re.DOTALL)


def _glob(pattern: str, text: str, *, case: bool) -> bool:
    if not case:
        pattern, text = pattern.lower(), text.lower()
    return _compiled(pattern).fullmatch(text) is not None


def action_matches(pattern: str, action: str) -> bool:
    return _glob(pattern, action, case=False)


def arn_matches(pattern: str, arn: str) -> bool:
    """IAM's resource match: `*` alone matches anything, else the six ARN parts one by one."""
    if pattern == "*":
        return True
    wanted, given = pattern.split(":", 5), arn.split(":", 5)
    if len(wanted) != 6 or len(given) != 6:
        return _glob(pattern, arn, case=True)
    return all(_glob(w, g, case=True) for w, g in zip(wanted, given, strict=True))


_STRING_TESTS = {
    "StringEquals": lambda p, v: p == v,
    "StringEqualsIgnoreCase": lambda p, v: p.lower() == v.lower(),
    "StringLike": lambda p, v: _glob(p, v, case=True),
    "ArnEquals": lambda p, v: p == v,
    "ArnLike": arn_matches,
    "Bool": lambda p, v: p.lower() == v.lower(),
}
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}


def _context_values(context: Context, key: str) -> list[str] | None:
    for name, value in context.items():
        if name.lower() == key.lower():  # condition key names are case-insensitive
            return listed(value)
    return None


def _operator_holds(operator: str, key: str, wanted: list[str], context: Context) -> bool:
    prefix, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists") and base != "IfExists"
    base = base.removesuffix("IfExists") if if_exists else base
    values = _context_values(context, key)
    if base == "Null":
        return (values is None) == (wanted[0].lower() == "true")
    if values is None:
        # A missing key: IfExists and negated operators hold, the others do not.
        return if_exists or base in _NEGATED
    negated = base in _NEGATED
    test = _STRING_TESTS.get(_NEGATED.get(base, base))
    if test is None:
        raise PolicyError(f"condition operator {operator} is not supported")

    def matches(value: str) -> bool:
        return any(test(str(p), str(value)) for p in wanted)

    if prefix == "ForAllValues":
        held = all(matches(v) for v in values)
    elif prefix in ("ForAnyValue", ""):
        held = any(matches(v) for v in values)
    else:
        raise PolicyError(f"condition operator {operator} is not supported")
    return not held if negated else held


def conditions_hold(condition: Mapping[str, Mapping[str, Any]], context: Context) -> bool:
    return all(
        _operator_holds(operator, key, [str(v) for v in listed(wanted)], context)
        for operator, tests in condition.items()
        for key, wanted in tests.items()
    )


def statement_applies(statement: Mapping[str, Any], request: Request) -> bool:
    """True when the statement's action, resource and conditions all cover the request."""
    if ("Action" in statement) == ("NotAction" in statement):
        raise PolicyError(f"statement {statement.get('Sid', '?')} needs exactly one of Action and NotAction")
    if "Action" in statement:
        action_ok = any(action_matches(p, request.action) for p in listed(statement["Action"]))
    else:
        action_ok = not any(action_matches(p, request.action) for p in listed(statement["NotAction"]))
    if not action_ok:
        return False
    if "NotResource" in statement:
        resource_ok = not any(arn_matches(p, request.resource) for p in listed(statement["NotResource"]))
    else:
        resource_ok = any(arn_matches(p, request.resource) for p in listed(statement.get("Resource")))
    return resource_ok and conditions_hold(statement.get("Condition", {}), request.context)


def evaluate(statements: Iterable[Mapping[str, Any]], request: Request) -> Decision:
    """IAM's decision for one identity-policy request: explicit Deny, then Allow, else deny."""
    allowed_by = None
    for statement in statements:
        if not statement_applies(statement, request):
            continue
        sid = statement.get("Sid", "a statement without Sid")
        if statement["Effect"] == "Deny":
            return Decision(False, f"denied by {sid}")
        allowed_by = allowed_by or sid
    if allowed_by:
        return Decision(True, f"allowed by {allowed_by}")
    return Decision(False, "no statement allows it")
