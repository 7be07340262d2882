"""One timed request to a SageMaker endpoint through the `sagemaker-runtime` client (control plane).

`mlops smoke` and `mlops invoke` read the answer as an HTTP exchange: a payload the model
rejects comes back as a `ModelError` carrying the container's own status (4xx for a client
mistake), and a request SageMaker refuses as a `ValidationError` (400). Both become an
`Invocation` with that status, so the smoke report shows the status and message, not a traceback.
"""

from __future__ import annotations

import time
from typing import Any

from botocore.exceptions import ClientError

from deploy.endpoints import Invocation
from deploy.sagemaker.session import SETUP_CODES


def failed_invocation(exc: ClientError, latency_ms: float) -> Invocation:
    """A runtime error as the HTTP answer it was: the model's status for ModelError, else the service's."""
    response = exc.response
    status = response.get("OriginalStatusCode") or response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 500
    message = response.get("OriginalMessage") or response.get("Error", {}).get("Message", "")
    return Invocation(int(status), str(message).encode(), "text/plain", latency_ms, None)


def invoke_endpoint(runtime: Any, endpoint: str, body: bytes, content_type: str, accept: str) -> Invocation:
    began = time.perf_counter()
    try:
        answer = runtime.invoke_endpoint(EndpointName=endpoint, Body=body, ContentType=content_type, Accept=accept)
        data = answer["Body"].read()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in SETUP_CODES:
            raise  # `translated` makes it an AwsSetupError
        return failed_invocation(exc, (time.perf_counter() - began) * 1000)
    latency_ms = (time.perf_counter() - began) * 1000
    variant = answer.get("InvokedProductionVariant")
    return Invocation(200, data, answer.get("ContentType", accept), latency_ms, variant)
