"""The call recorder: what it records, when, and how scripted answers are held to the service model."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ParamValidationError

from tests.aws_account import use_fake_account

from .recorder import Call, CallRecorder


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CallRecorder:
    from moto import mock_aws

    use_fake_account(monkeypatch, tmp_path, "eu-west-1")
    recorder = CallRecorder()
    recorder.install(monkeypatch)
    with mock_aws():
        yield recorder


def test_only_calls_inside_recording_are_kept_with_their_parameters(recorder: CallRecorder) -> None:
    s3 = boto3.client("s3", region_name="eu-west-1")
    s3.create_bucket(Bucket="recorded-bucket", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    with recorder.recording():
        s3.put_object(Bucket="recorded-bucket", Key="k", Body=b"x")
        boto3.client("cloudwatch", region_name="eu-west-1").describe_alarms(AlarmNames=["a"])
    s3.get_object(Bucket="recorded-bucket", Key="k")
    assert [(c.service, c.operation) for c in recorder.calls] == [("s3", "PutObject"), ("cloudwatch", "DescribeAlarms")]
    assert recorder.calls[0].params["Key"] == "k"
    assert recorder.calls[1] == Call("cloudwatch", "DescribeAlarms", {"AlarmNames": ["a"]})


def test_scripted_answers_replace_the_call_and_are_validated(recorder: CallRecorder) -> None:
    arn = "arn:aws:sagemaker:eu-west-1:123456789012:endpoint/"
    recorder.script("sagemaker", "UpdateEndpoint", lambda params: {"EndpointArn": arn + params["EndpointName"]})
    sagemaker = boto3.client("sagemaker", region_name="eu-west-1")
    assert sagemaker.update_endpoint(EndpointName="e", EndpointConfigName="c")["EndpointArn"] == arn + "e"
    recorder.script("sagemaker", "UpdateEndpoint", lambda params: {"EndpointArn": "too short"})
    with pytest.raises(ParamValidationError):
        sagemaker.update_endpoint(EndpointName="e", EndpointConfigName="c")


def test_a_scripted_answer_may_pass_the_call_on(recorder: CallRecorder) -> None:
    recorder.script("sagemaker", "ListEndpoints", lambda params: None)
    assert boto3.client("sagemaker", region_name="eu-west-1").list_endpoints()["Endpoints"] == []
