"""The endpoint client against a stubbed `sagemaker-runtime`: content types, retries, typed answers and errors."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore import UNSIGNED
from botocore.stub import ANY, Stubber

from deploy.endpoints.client import (
    EndpointClient,
    EndpointFailed,
    EndpointUnreachable,
    PayloadRejected,
    Prediction,
    RetryPolicy,
    exchange,
    runtime_client,
)
from deploy.errors import ExitCode

ROW = {"tenure_months": 3, "contract": "month-to-month"}
ANSWER = json.dumps({"predictions": [{"label": 1, "probability": 0.83}]}).encode()


@pytest.fixture
def runtime(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    return boto3.client("sagemaker-runtime", region_name="eu-west-1")


def make(runtime: Any, attempts: int = 4) -> tuple[EndpointClient, list[float]]:
    slept: list[float] = []
    return EndpointClient("churn-prod", runtime=runtime, retry=RetryPolicy(attempts), sleep=slept.append), slept


def ok(body: bytes = ANSWER, content_type: str = "application/json") -> dict[str, Any]:
    import io

    from botocore.response import StreamingBody

    return {
        "Body": StreamingBody(io.BytesIO(body), len(body)),
        "ContentType": content_type,
        "InvokedProductionVariant": "AllTraffic",
    }


@pytest.mark.parametrize(
    ("payload", "sent", "kind"),
    [
        (ROW, json.dumps(ROW).encode(), "application/json"),
        ([ROW, ROW], json.dumps([ROW, ROW]).encode(), "application/json"),
        ('  {"instances": []}', b'  {"instances": []}', "application/json"),
        ("3,89.5,a\n", b"3,89.5,a\n", "text/csv"),
        (b"3,89.5,a\n", b"3,89.5,a\n", "text/csv"),
    ],
)
def test_the_content_type_follows_the_payload(runtime: Any, payload: Any, sent: bytes, kind: str) -> None:
    client, _ = make(runtime)
    with Stubber(runtime) as stub:
        stub.add_response(
            "invoke_endpoint",
            ok(),
            {"EndpointName": "churn-prod", "Body": sent, "ContentType": kind, "Accept": "application/json"},
        )
        answer = client.predict(payload)
    assert answer.predictions == [Prediction(label=1, probability=0.83)]
    assert answer.variant == "AllTraffic" and answer.attempts == 1


def test_a_dataframe_goes_as_csv_with_its_header(runtime: Any) -> None:
    import pandas as pd

    client, _ = make(runtime)
    with Stubber(runtime) as stub:
        stub.add_response(
            "invoke_endpoint",
            ok(b"0.5,1\n", "text/csv"),
            {"EndpointName": "churn-prod", "Body": b"a,b\n1,x\n", "ContentType": "text/csv", "Accept": "text/csv"},
        )
        answer = client.invoke(pd.DataFrame({"a": [1], "b": ["x"]}), accept="text/csv")
    assert answer.predictions == [Prediction(1, 0.5)]


def test_the_inference_id_and_target_variant_are_passed_through(runtime: Any) -> None:
    client, _ = make(runtime)
    with Stubber(runtime) as stub:
        stub.add_response(
            "invoke_endpoint",
            ok(),
            {
                "EndpointName": "churn-prod",
                "Body": ANY,
                "ContentType": ANY,
                "Accept": ANY,
                "InferenceId": "order-17",
                "TargetVariant": "Blue",
            },
        )
        client.predict(ROW, inference_id="order-17", target_variant="Blue")
    with pytest.raises(PayloadRejected, match="inference_id"):
        client.predict(ROW, inference_id="x" * 65)


def test_throttling_is_retried_with_backoff_then_answers(runtime: Any) -> None:
    client, slept = make(runtime)
    with Stubber(runtime) as stub:
        stub.add_client_error("invoke_endpoint", "ThrottlingException", "Rate exceeded", 400)
        stub.add_client_error("invoke_endpoint", "ServiceUnavailable", "try again", 503)
        stub.add_response("invoke_endpoint", ok())
        answer = client.predict(ROW)
    assert answer.attempts == 3 and len(slept) == 2 and all(0 <= s <= 5 for s in slept)


def test_throttling_that_never_ends_is_a_typed_429(runtime: Any) -> None:
    client, slept = make(runtime, attempts=3)
    with Stubber(runtime) as stub:
        for _ in range(3):
            stub.add_client_error("invoke_endpoint", "ThrottlingException", "Rate exceeded", 400)
        with pytest.raises(EndpointFailed) as failed:
            client.predict(ROW)
    assert failed.value.status == 429 and len(slept) == 2


def test_a_model_500_is_not_retried(runtime: Any) -> None:
    """The model ran: a retry would count twice against the 5xx alarm that judges a canary."""
    client, slept = make(runtime)
    with Stubber(runtime) as stub:
        stub.add_client_error(
            "invoke_endpoint",
            "ModelError",
            "Received server error (500)",
            424,
            response_meta={},
            modeled_fields={"OriginalStatusCode": 500, "OriginalMessage": '{"error": "model error: boom"}'},
        )
        with pytest.raises(EndpointFailed) as failed:
            client.predict(ROW)
    assert (failed.value.status, failed.value.reason, slept) == (500, "model error: boom", [])
    assert failed.value.exit_code == ExitCode.REQUEST_FAILED


def test_a_payload_error_is_the_4xx_it_is_with_the_servers_reason(runtime: Any) -> None:
    client, slept = make(runtime)
    reason = "feature 'tenure_months' at row 1: non-numeric value 'abc'"
    with Stubber(runtime) as stub:
        stub.add_client_error(
            "invoke_endpoint",
            "ModelError",
            "Received client error (400)",
            424,
            modeled_fields={"OriginalStatusCode": 400, "OriginalMessage": json.dumps({"error": reason, "status": 400})},
        )
        with pytest.raises(PayloadRejected) as rejected:
            client.predict("abc,1\n")
    assert (rejected.value.status, rejected.value.reason, slept) == (400, reason, [])
    assert rejected.value.exit_code == ExitCode.REQUEST_REFUSED
    assert str(rejected.value) == f"endpoint 'churn-prod' answered 400: {reason}"


def test_an_endpoint_that_does_not_exist_is_not_a_payload_error(runtime: Any) -> None:
    client, _ = make(runtime)
    with Stubber(runtime) as stub:
        stub.add_client_error("invoke_endpoint", "ValidationError", "Endpoint churn-prod of account 1 not found.", 400)
        with pytest.raises(EndpointFailed, match="not found"):
            client.predict(ROW)


def test_a_200_that_breaks_the_schema_is_an_endpoint_failure(runtime: Any) -> None:
    client, _ = make(runtime)
    with Stubber(runtime) as stub:
        stub.add_response("invoke_endpoint", ok(b'{"predictions": [{"label": 3, "probability": 0.5}]}'))
        with pytest.raises(EndpointFailed, match="label 3 is not 0 or 1"):
            client.predict(ROW)


def test_refused_connections_are_retried_and_typed(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    slept: list[float] = []
    client = EndpointClient(
        "churn-prod", endpoint_url=f"http://127.0.0.1:{port}", retry=RetryPolicy(2), sleep=slept.append
    )
    with pytest.raises(EndpointUnreachable) as unreachable:
        client.predict(ROW)
    assert unreachable.value.status == 0 and len(slept) == 1


def test_loopback_urls_are_unsigned_with_timeouts_and_no_botocore_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", "http://127.0.0.1:8082")
    client = runtime_client("eu-west-1", None, 7.5)
    assert client.meta.endpoint_url == "http://127.0.0.1:8082"
    assert client.meta.config.signature_version is UNSIGNED
    assert client.meta.config.read_timeout == 7.5 and client.meta.config.retries["total_max_attempts"] == 1
    monkeypatch.delenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    assert runtime_client("eu-west-1", None, 60).meta.config.signature_version == "v4"


def test_exchange_gives_the_adapters_an_http_answer_with_the_servers_reason(runtime: Any) -> None:
    client, _ = make(runtime)
    with Stubber(runtime) as stub:
        stub.add_response("invoke_endpoint", ok())
        stub.add_client_error(
            "invoke_endpoint", "ModelError", "Received client error (415)", 424,
            modeled_fields={"OriginalStatusCode": 415, "OriginalMessage": '{"error": "unsupported content type"}'},
        )  # fmt: skip
        good = exchange(client, b"{}", "application/json", "application/json")
        bad = exchange(client, b"x", "application/x-npy", "application/json")
    assert (good.status, good.variant, good.body) == (200, "AllTraffic", ANSWER)
    assert (bad.status, json.loads(bad.body)) == (415, {"error": "unsupported content type"})


def test_a_body_over_invoke_endpoints_limit_is_a_413_without_a_request(runtime: Any) -> None:
    client, _ = make(runtime)
    with Stubber(runtime), pytest.raises(PayloadRejected) as refused:  # no response queued: nothing may be sent
        client.invoke(b"1," * (4 * 1024 * 1024), content_type="text/csv")
    assert refused.value.status == 413 and "6291456" in refused.value.reason
