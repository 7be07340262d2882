"""The strict request validator: what the service enforces beyond botocore, and how a test learns of it."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import boto3
import botocore.session
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from tests.aws_service_model import compiled, translate, violations
from tests.aws_validation import LOG, definition_violations

SAGEMAKER = botocore.session.get_session().get_service_model("sagemaker")
REPO = Path(__file__).resolve().parents[4]
ARN = "arn:aws:sagemaker:eu-west-1:123456789012:model-package/churn-classifier/1"


def check(operation: str, params: dict) -> list[str]:
    return violations(SAGEMAKER.operation_model(operation), params)


def test_lengths_enums_ranges_and_patterns_are_enforced() -> None:
    found = check(
        "UpdateModelPackage",
        {
            "ModelPackageArn": ARN,
            "ModelApprovalStatus": "Maybe",
            "CustomerMetadataProperties": {"hyperparameters.json": '{"C":"1.0"}', "note": "x" * 257},
        },
    )
    assert found == [
        "ModelApprovalStatus: 'Maybe' is not one of Approved, Rejected, PendingManualApproval",
        "CustomerMetadataProperties['hyperparameters.json']: '{\"C\":\"1.0\"}' does not match the pattern "
        r"([\p{L}\p{Z}\p{N}_.:\/=+\-@]*)${1,256}",
        "CustomerMetadataProperties['note']: 257 characters, more than the maximum 256",
    ]
    assert check("UpdateModelPackage", {"ModelPackageArn": ARN, "CustomerMetadataProperties": {"é": "Zürich 3"}}) == []
    stopping = {"MaxRuntimeInSeconds": 10**9}
    assert any("above the maximum" in v for v in check("CreateProcessingJob", {"StoppingCondition": stopping}))
    assert "ProcessingJobName: required" in check("CreateProcessingJob", {})


def test_java_classes_keep_their_java_meaning() -> None:
    assert translate(r"[\w-]+") == "[[a-zA-Z0-9_]-]+"
    assert compiled(r"[\w-]+").fullmatch("a-b_1") and not compiled(r"[\w-]+").fullmatch("é")  # ASCII in Java
    assert compiled(r"\p{Print}+").fullmatch("ok ~") and not compiled(r"\p{Print}+").fullmatch("tab\t")
    supplementary = r"[\u0020-\uD7FF\uE000-\uFFFD\uD800\uDC00-\uDBFF\uDFFF]*"
    assert compiled(supplementary).fullmatch("emoji \U0001f600") and not compiled(supplementary).fullmatch("\x00")
    assert compiled(r"\A\S[\p{Print}]*\z").fullmatch("id-1") and not compiled(r"\A\S[\p{Print}]*\z").fullmatch(" x")


def test_every_pattern_of_the_services_used_compiles() -> None:
    session = botocore.session.get_session()
    for service in ("sagemaker", "s3", "cloudwatch", "application-autoscaling", "sts", "iam", "logs"):
        model = session.get_service_model(service)
        for name in model.shape_names:
            pattern = model.shape_for(name).metadata.get("pattern")
            if pattern:
                compiled(pattern)


def test_a_rejected_request_gets_the_services_error_and_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    client = boto3.client("sagemaker", region_name="eu-west-1")
    with Stubber(client) as stub, pytest.raises(ClientError, match="ValidationException"):
        stub.add_response("update_model_package", {"ModelPackageArn": ARN})
        client.update_model_package(ModelPackageArn=ARN, CustomerMetadataProperties={"lineage": "{}"})
    reported = LOG.take()  # taken here, so this test does not fail for the request it made on purpose
    assert reported == [
        "sagemaker.UpdateModelPackage: CustomerMetadataProperties['lineage']: '{}' does not match the pattern "
        r"([\p{L}\p{Z}\p{N}_.:\/=+\-@]*)${1,256}"
    ]


def test_the_test_that_made_the_request_fails_and_the_run_prints_the_count(pytester: pytest.Pytester) -> None:
    # The repository's tests folder as the package `tests`, as pytest's importlib mode sets it up
    # (an installed distribution may ship a top-level `tests` package that would shadow it).
    pytester.makeconftest(
        textwrap.dedent(
            f"""
            import sys, types
            sys.modules["tests"] = types.ModuleType("tests")
            sys.modules["tests"].__path__ = [{str(REPO / "tests")!r}]
            pytest_plugins = ["tests.aws_validation"]
            """
        )
    )
    pytester.makepyfile(
        textwrap.dedent(
            """
            import boto3
            from botocore.stub import Stubber

            def client():
                return boto3.client("sagemaker", region_name="eu-west-1", aws_access_key_id="x",
                                    aws_secret_access_key="x")

            def test_swallows_the_error():
                c = client()
                with Stubber(c) as stub:
                    stub.add_response("delete_model_package_group", {})
                    try:
                        c.delete_model_package_group(ModelPackageGroupName="bad name!")
                    except Exception:
                        pass

            def test_valid():
                c = client()
                with Stubber(c) as stub:
                    stub.add_response("list_model_package_groups", {"ModelPackageGroupSummaryList": []})
                    c.list_model_package_groups()
            """
        )
    )
    result = pytester.runpytest_subprocess("-p", "no:xdist", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*AWS requests the service would reject (call):*",
            "*sagemaker.DeleteModelPackageGroup: ModelPackageGroupName: 'bad name!' does not match*",
            "*2 requests validated across 2 operations: sagemaker.DeleteModelPackageGroup 1, "
            "sagemaker.ListModelPackageGroups 1*",
        ]
    )


def test_a_pipeline_definitions_steps_are_checked_as_the_job_requests_they_become() -> None:
    golden = json.loads((Path(__file__).parent / "golden" / "pipeline_definition.json").read_text())
    assert definition_violations(SAGEMAKER, json.dumps(golden)) == []
    golden["Steps"][0]["Arguments"]["AppSpecification"]["ContainerEntrypoint"][1] = "s" * 292
    golden["Steps"][1]["Arguments"]["ResourceConfig"]["InstanceType"] = "ml.m5.huge"
    assert definition_violations(SAGEMAKER, json.dumps(golden)) == [
        "PipelineDefinition step preprocess: AppSpecification.ContainerEntrypoint[1]: 292 characters, "
        "more than the maximum 256",
        "PipelineDefinition step train: ResourceConfig.InstanceType: 'ml.m5.huge' is not one of "
        + ", ".join(SAGEMAKER.shape_for("TrainingInstanceType").enum),
    ]
