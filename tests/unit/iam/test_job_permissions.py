"""Each workflow job's AWS calls, recorded from its own commands, against its role in bootstrap.yaml.

The calls are recorded while the job's `mlops` commands (read from the workflow file) run
against moto in every situation they can meet, mapped to IAM requests (the call's own
action and resource, tags on create, passed roles, and what services check with other
principals), and evaluated against the role the job assumes (found through
scripts/bootstrap.sh and the stack's outputs), resolved for a sample account.
"""

from __future__ import annotations

import shutil
from functools import cache
from pathlib import Path

import pytest

from deploy.bootstrap import template as cfn
from deploy.bootstrap.roles import Role, roles

from .actions import Need
from .checker import denials, unused_grants
from .conftest import TARGET
from .evidence import job_needs
from .jobs import Job, jobs_with_roles, role_outputs

JOBS = {job.label: job for job in jobs_with_roles()}


@cache
def outputs() -> dict[str, str]:
    return cfn.outputs(cfn.load(), TARGET)


def evidence(label: str) -> tuple[tuple[Need, ...], tuple[str, ...]]:
    return _evidence(tuple(JOBS[label].commands))


@cache
def _evidence(commands: tuple) -> tuple[tuple[Need, ...], tuple[str, ...]]:
    """Keyed by the commands: jobs that run the same commands (ci and drift plans) are run once."""
    job = next(j for j in JOBS.values() if tuple(j.commands) == commands)
    needs, unknown = job_needs(job, TARGET, outputs())
    return tuple(needs), tuple(unknown)


@cache
def variable_roles() -> dict[tuple[str, str | None], str]:
    """(variable, environment) → role name for project `mlops`, from bootstrap.sh's dry run."""
    return {key: arn.rsplit("/", 1)[-1] for key, arn in role_outputs().items() if ":role/" in arn}


def role_of(job: Job, template_roles: dict[str, Role]) -> Role:
    key = (job.role_variable, job.environment)
    if key not in variable_roles():
        key = (job.role_variable, None)
    assert key in variable_roles(), f"{job.label}: scripts/bootstrap.sh sets no {job.role_variable} for it"
    name = variable_roles()[key].replace("mlops-", f"{TARGET.parameters['ProjectName']}-", 1)
    (role,) = [r for r in template_roles.values() if r.name == name]
    return role


@pytest.mark.parametrize("label", sorted(JOBS))
def test_the_role_allows_every_call_the_job_makes(label: str) -> None:
    template_roles = roles(TARGET)
    job = JOBS[label]
    needs, unknown = evidence(label)
    assert not unknown, f"calls with no entry in the Service Authorization Reference: {unknown}"
    found = denials(label, role_of(job, template_roles), needs, template_roles)
    assert not found, "\n".join(str(d) for d in found)


def all_requests(template_roles: dict[str, Role]) -> dict[str, list]:
    """Role logical id → every request made with it, by its jobs or by services on its behalf."""
    by_role: dict[str, list] = {r: [] for r in template_roles}
    for label, job in JOBS.items():
        caller = role_of(job, template_roles)
        for need in evidence(label)[0]:
            owner = caller if need.principal == "caller" else next(r for r in template_roles.values() if r.arn == need.principal)
            by_role[owner.logical_id].append(need)
    return by_role


def test_no_role_is_granted_what_nothing_calls() -> None:
    template_roles = roles(TARGET)
    requests = all_requests(template_roles)
    unused = [line for role in template_roles.values() for line in unused_grants(role, requests[role.logical_id])]
    assert not unused, "granted but never needed:\n" + "\n".join(unused)
