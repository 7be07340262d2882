"""Each workflow job's AWS calls, recorded from its own commands, against its role in bootstrap.yaml.

The calls are recorded while the job's `mlops` commands (read from the workflow file) run
against moto in every situation they can meet, mapped to IAM requests (the call's own
action and resource, tags on create, passed roles, and what services check with other
principals), and evaluated against the role the job assumes (found through
scripts/bootstrap.sh and the stack's outputs), resolved for a sample account. A template
copy with one needed action removed, or one unused action added, must fail.
"""

from __future__ import annotations

from typing import Any

import pytest

from deploy.bootstrap import template as cfn
from deploy.bootstrap.roles import Role, roles

from .checker import denials, unused_grants
from .conftest import TARGET
from .evidence import JOBS, evidence, needs_by_role, role_of

# The recordings are made once per process: keep every test of them on one xdist worker
# (scripts/test.sh runs pytest with --dist loadgroup).
pytestmark = pytest.mark.xdist_group("iam-recordings")


@pytest.mark.parametrize("label", sorted(JOBS))
def test_the_role_allows_every_call_the_job_makes(label: str) -> None:
    template_roles = roles(TARGET)
    needs, unknown = evidence(label)
    assert not unknown, f"calls with no entry in the Service Authorization Reference: {unknown}"
    found = denials(label, role_of(JOBS[label], template_roles), needs, template_roles)
    assert not found, "\n".join(str(d) for d in found)


def test_no_role_is_granted_what_nothing_calls() -> None:
    template_roles = roles(TARGET)
    needs = needs_by_role(template_roles)
    unused = [line for role in template_roles.values() for line in unused_grants(role, needs[role.logical_id])]
    assert not unused, "granted but never needed:\n" + "\n".join(unused)


def edited_copy(resource: str, sid: str, change: Any) -> dict[str, Role]:
    """The roles of a copy of the template (as `cfn.load` reads it) in which `change` edited one statement."""
    template = cfn.load()
    props = template["Resources"][resource]["Properties"]
    documents = (
        [props["PolicyDocument"]] if "PolicyDocument" in props else [p["PolicyDocument"] for p in props["Policies"]]
    )
    (statement,) = [s for d in documents for s in d["Statement"] if s.get("Sid") == sid]
    change(statement)
    for document in documents:
        document["Statement"] = [s for s in document["Statement"] if s["Action"]]
    return roles(TARGET, template)


def remove(action: str) -> Any:
    def change(statement: dict[str, Any]) -> None:
        actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        assert action in actions
        statement["Action"] = [a for a in actions if a != action]

    return change


@pytest.mark.parametrize(
    ("resource", "sid", "action", "label", "role", "resource_arn"),
    [
        (
            "TrainingRole",
            "RejectCandidates",
            "sagemaker:UpdateModelPackage",
            "train.yml/train",
            "TrainingRole",
            "model-package/churn-classifier/",
        ),
        (
            "TrainingRole",
            "ReadStepJobs",
            "sagemaker:DescribeTrainingJob",
            "train.yml/train",
            "TrainingRole",
            "training-job/pipelines-",
        ),
        (
            "EndpointDeployPolicy",
            "RollbackAlarms",
            "cloudwatch:TagResource",
            "deploy.yml/prod",
            "ProductionDeployRole",
            "alarm:churn-prod-5xx",
        ),
        (
            "SageMakerExecutionRole",
            "ReadRollbackAlarms",
            "cloudwatch:DescribeAlarms",
            "deploy.yml/prod",
            "SageMakerExecutionRole",
            "alarm:churn-prod-5xx",
        ),
        (
            "EndpointDeployPolicy",
            "TargetTrackingAlarms",
            "cloudwatch:PutMetricAlarm",
            "deploy.yml/staging",
            "StagingDeployRole",
            "alarm:TargetTracking-endpoint/churn-staging/variant/AllTraffic-AlarmHigh-",
        ),
        (
            "BatchRole",
            "TransformJobs",
            "sagemaker:StopTransformJob",
            "batch.yml/batch",
            "BatchRole",
            "transform-job/churn-prod-batch-v1-",
        ),
        (
            "BatchRole",
            "WriteBatchErrors",
            "s3:PutObject",
            "batch.yml/batch",
            "BatchRole",
            "/batch/out/batch-errors.csv",
        ),
        (
            "SageMakerExecutionRole",
            "ReadWriteArtifacts",
            "s3:PutObject",
            "batch.yml/batch",
            "SageMakerExecutionRole",
            "/batch/out/nightly.csv.out",
        ),
    ],
)
def test_a_template_without_a_needed_action_fails_naming_job_role_action_and_resource(
    resource: str, sid: str, action: str, label: str, role: str, resource_arn: str
) -> None:
    template_roles = edited_copy(resource, sid, remove(action))
    found = denials(label, role_of(JOBS[label], template_roles), evidence(label)[0], template_roles)
    assert found, f"removing {action} from {resource}/{sid} went unnoticed"
    messages = [str(d) for d in found]
    assert all(d.need.action == action for d in found), messages
    assert any(
        m.startswith(f"{label}: role {role} may not call {action} on arn:aws:") and resource_arn in m for m in messages
    ), messages


def test_a_template_granting_an_unused_action_fails() -> None:
    def add_delete_endpoint(statement: dict[str, Any]) -> None:
        statement["Action"] = [*statement["Action"], "sagemaker:DeleteEndpoint"]

    template_roles = edited_copy("EndpointDeployPolicy", "ManageEndpoints", add_delete_endpoint)
    needs = needs_by_role(template_roles)
    unused = [line for r in template_roles.values() for line in unused_grants(r, needs[r.logical_id])]
    endpoint = "arn:aws:sagemaker:eu-west-1:123456789012:endpoint/churn-*"
    assert sorted(unused) == [
        f"ProductionDeployRole (EndpointDeployPolicy/ManageEndpoints): sagemaker:DeleteEndpoint on {endpoint}",
        f"StagingDeployRole (EndpointDeployPolicy/ManageEndpoints): sagemaker:DeleteEndpoint on {endpoint}",
    ]
