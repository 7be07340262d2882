"""The one client of this template's endpoints, local or on SageMaker (control plane and applications).

Every caller goes through boto3's `sagemaker-runtime` `InvokeEndpoint`: `mlops invoke`,
`mlops smoke`, the traffic replay of `mlops deploy --traffic`, the batch comparisons, and
your own application. A local endpoint answers the same SageMaker Runtime path, so the only
difference is where the client points: `endpoint_url=`, or `AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME`
in the environment. Requests to a loopback URL are not signed (no AWS credentials needed).

    client = EndpointClient("churn-prod", region="eu-west-1")
    answer = client.predict({"tenure_months": 3, "monthly_charges": 89.5, ...})
    answer.predictions[0].label, answer.predictions[0].probability

* The content type follows the payload: a dict or list is sent as JSON, a DataFrame as CSV
  with its header, text or bytes as JSON if they start with `{` or `[`, else as CSV.
* `inference_id=` is passed through (data capture records it).
* Throttling and "not processed" answers (429, 502, 503, 504, a refused connection) are
  retried with exponential backoff and jitter. A 500 or a read timeout is not: the model may
  have run, and a retry would count twice against the 5xx alarm that judges a canary.
* A 4xx raises `PayloadRejected` with the status and the server's reason: the request must be
  fixed, the endpoint is healthy. A 5xx raises `EndpointFailed`; no answer, `EndpointUnreachable`.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from deploy.endpoints import Invocation
from deploy.endpoints.answers import Answer, Prediction, ResponseInvalid, parse_reason
from deploy.errors import DeployError, ExitCode

__all__ = ["Answer", "EndpointClient", "EndpointError", "EndpointFailed", "EndpointUnreachable", "PayloadRejected",
           "Prediction"]  # fmt: skip

JSON, CSV = "application/json", "text/csv"
RETRY_STATUS = frozenset({429, 502, 503, 504})
THROTTLING = frozenset({"ThrottlingException", "Throttling", "TooManyRequestsException", "ServiceUnavailable",
                        "ModelNotReadyException"})  # fmt: skip
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
RUNTIME_URL_ENV = ("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", "AWS_ENDPOINT_URL")
VARIANT_HEADER = "x-amzn-invoked-production-variant"
MAX_BODY_BYTES = 6 * 1024 * 1024  # InvokeEndpoint's limit on Body


class EndpointError(DeployError):
    """An endpoint did not answer with a prediction; `status` is 0 when nothing answered."""

    def __init__(
        self, endpoint: str, status: int, reason: str, code: str = "", headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(f"endpoint '{endpoint}' answered {status or 'nothing'}: {reason}")
        self.endpoint, self.status, self.reason, self.code = endpoint, status, reason, code
        self.headers = headers or {}  # lower-case names, as botocore reports them


class PayloadRejected(EndpointError):
    """A 4xx: the request is wrong (bad payload, unsupported type, too large); the endpoint is fine."""

    exit_code = ExitCode.REQUEST_REFUSED


class EndpointFailed(EndpointError):
    """A 5xx (after retries where a retry was safe), or an endpoint that does not exist."""

    exit_code = ExitCode.REQUEST_FAILED


class EndpointUnreachable(EndpointError):
    """No HTTP answer: connection refused after retries, or a read timeout."""


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    base_seconds: float = 0.1
    cap_seconds: float = 5.0

    def delay(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(cap, base × 2^attempt)]."""
        return random.uniform(0, min(self.cap_seconds, self.base_seconds * 2**attempt))  # noqa: S311


def content_of(payload: Any, content_type: str | None) -> tuple[bytes, str]:
    """(body, content type) of a payload; an explicit content type wins."""
    if hasattr(payload, "to_csv"):  # a pandas DataFrame, without importing pandas here
        return payload.to_csv(index=False).encode(), content_type or CSV
    if isinstance(payload, dict | list):
        return json.dumps(payload).encode(), content_type or JSON
    body = payload.encode() if isinstance(payload, str) else bytes(payload)
    if content_type:
        return body, content_type
    return body, JSON if body.lstrip()[:1] in (b"{", b"[") else CSV


def check_inference_id(value: str) -> str:
    """InvokeEndpoint's rule: 1–64 printable characters, not starting with whitespace."""
    if not 1 <= len(value) <= 64 or not value.isprintable() or value[0].isspace():
        raise PayloadRejected("?", 400, f"inference_id {value!r}: 1–64 printable characters, no leading space")
    return value


def runtime_url(explicit: str | None) -> str | None:
    return explicit or next((os.environ[name] for name in RUNTIME_URL_ENV if os.environ.get(name)), None)


def runtime_client(region: str | None, endpoint_url: str | None, timeout: float) -> Any:
    """A `sagemaker-runtime` client with botocore's own retries off (this module retries) and the timeouts set."""
    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config

    url = runtime_url(endpoint_url)
    local = url is not None and urlparse(url).hostname in LOOPBACK
    config = Config(
        connect_timeout=min(timeout, 10),
        read_timeout=timeout,
        retries={"total_max_attempts": 1},
        signature_version=UNSIGNED if local else None,
    )
    region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    return boto3.session.Session().client("sagemaker-runtime", region_name=region, endpoint_url=url, config=config)


class EndpointClient:
    """Invoke one endpoint: typed predictions back, or a typed error with the status and the server's reason."""

    def __init__(
        self,
        endpoint_name: str,
        *,
        region: str | None = None,
        endpoint_url: str | None = None,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        runtime: Any = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.endpoint_name = endpoint_name
        self.retry = retry or RetryPolicy()
        self.runtime = runtime or runtime_client(region, endpoint_url, timeout)
        self.sleep = sleep

    def predict(self, payload: Any, **options: Any) -> Answer:
        """`invoke` asking for JSON; `answer.predictions` holds one (label, probability) per row."""
        answer = self.invoke(payload, accept=JSON, **options)
        try:
            answer.predictions  # noqa: B018 - parse now: a malformed answer raises here, not in the caller
        except ResponseInvalid as error:
            reason = f"answer breaks the prediction schema: {error}"
            raise EndpointFailed(self.endpoint_name, answer.status, reason) from None
        return answer

    def invoke(
        self,
        payload: Any,
        *,
        content_type: str | None = None,
        accept: str = JSON,
        inference_id: str | None = None,
        target_variant: str | None = None,
    ) -> Answer:
        body, kind = content_of(payload, content_type)
        if len(body) > MAX_BODY_BYTES:  # SageMaker refuses it before any model sees it; so do we
            raise PayloadRejected(self.endpoint_name, 413, f"body of {len(body)} bytes exceeds InvokeEndpoint's "
                                  f"limit of {MAX_BODY_BYTES} bytes (use `mlops batch` for large inputs)")  # fmt: skip
        request: dict[str, Any] = {"EndpointName": self.endpoint_name, "Body": body, "ContentType": kind,
                                   "Accept": accept}  # fmt: skip
        if inference_id is not None:
            request["InferenceId"] = check_inference_id(inference_id)
        if target_variant:
            request["TargetVariant"] = target_variant
        attempt = 0
        while True:
            began = time.perf_counter()
            try:
                return self._once(request, began, attempt + 1)
            except EndpointError as error:
                attempt += 1
                if not self._retryable(error) or attempt >= self.retry.attempts:
                    raise
                self.sleep(self.retry.delay(attempt))

    def _once(self, request: dict[str, Any], began: float, attempts: int) -> Answer:
        from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError, ReadTimeoutError

        try:
            reply = self.runtime.invoke_endpoint(**request)
            data = reply["Body"].read()
        except ClientError as exc:
            raise self._typed(exc) from None
        except EndpointConnectionError as exc:
            raise EndpointUnreachable(self.endpoint_name, 0, f"cannot connect: {exc}", "ConnectionRefused") from None
        except (ReadTimeoutError, ConnectionClosedError) as exc:
            raise EndpointUnreachable(self.endpoint_name, 0, f"no answer: {exc}", "Timeout") from None
        latency_ms = (time.perf_counter() - began) * 1000
        headers = reply.get("ResponseMetadata", {}).get("HTTPHeaders", {})
        return Answer(200, data, reply.get("ContentType", request["Accept"]), latency_ms,
                      reply.get("InvokedProductionVariant"), attempts, headers)  # fmt: skip

    def _typed(self, exc: Any) -> EndpointError:
        from deploy.sagemaker.session import SETUP_CODES

        response = exc.response
        error = response.get("Error", {})
        code = str(error.get("Code", ""))
        if code in SETUP_CODES:
            raise exc  # credentials or permissions: the caller's `translated` makes it an AwsSetupError
        status = int(response.get("OriginalStatusCode") or response.get("ResponseMetadata", {}).get("HTTPStatusCode")
                     or 500)  # fmt: skip
        reason = parse_reason(response.get("OriginalMessage") or error.get("Message") or code)
        if code in THROTTLING and status < 500:
            status = 429
        headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
        missing = status == 404 or (code == "ValidationError" and "not found" in reason.lower())
        if 400 <= status < 500 and status != 429 and not missing:
            return PayloadRejected(self.endpoint_name, status, reason, code, headers)
        return EndpointFailed(self.endpoint_name, status, reason, code, headers)

    @staticmethod
    def _retryable(error: EndpointError) -> bool:
        if isinstance(error, EndpointUnreachable):
            return error.code == "ConnectionRefused"  # never sent; a timeout may have run the model
        return error.status in RETRY_STATUS or error.code in THROTTLING


def exchange(
    client: EndpointClient,
    body: bytes,
    content_type: str,
    accept: str,
    on_headers: Callable[[dict[str, str]], None] | None = None,
    inference_id: str | None = None,
) -> Invocation:
    """One request as the HTTP exchange it was, for the adapters' `EndpointBackend.invoke` (smoke, replay, invoke).

    An error status comes back as an `Invocation` with the server's reason as a JSON error body,
    so smoke reports and replay counts see the status; no answer at all raises `EndpointUnreachable`.
    `on_headers` sees the reply's headers first (a local endpoint checks whose server answered).
    """
    began = time.perf_counter()
    try:
        answer = client.invoke(body, content_type=content_type, accept=accept, inference_id=inference_id)
    except EndpointUnreachable:
        raise
    except EndpointError as error:
        if on_headers is not None and error.headers:  # no headers: refused here, before any server saw it
            on_headers(error.headers)
        latency_ms = (time.perf_counter() - began) * 1000
        reply = json.dumps({"error": error.reason}).encode()
        return Invocation(error.status, reply, JSON, latency_ms, error.headers.get(VARIANT_HEADER))
    if on_headers is not None:
        on_headers(answer.headers)
    return Invocation(answer.status, answer.body, answer.content_type, answer.latency_ms, answer.variant)
