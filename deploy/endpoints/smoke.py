"""`mlops smoke`: golden payloads against a live endpoint, checked for shape and latency (control plane)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from deploy.config.schema import EnvironmentConfig, SmokePayload
from deploy.endpoints import EndpointBackend
from deploy.errors import SmokeFailed


class Prediction(BaseModel):
    model_config = ConfigDict(extra="allow")
    label: int = Field(ge=0, le=1)
    probability: float = Field(ge=0, le=1)


class PredictionResponse(BaseModel):
    """The response schema every endpoint of this template returns for application/json."""

    predictions: list[Prediction] = Field(min_length=1)


@dataclass
class SmokeResult:
    payload: str
    requests: int
    p95_ms: float
    failures: list[str] = field(default_factory=list)


def payload_bytes(payload: SmokePayload) -> bytes:
    if isinstance(payload.body, str):
        return payload.body.encode()
    return json.dumps(payload.body).encode()


def check_response(payload: SmokePayload, status: int, body: bytes) -> str | None:
    """None if the answer is right, else why not."""
    if status != 200:
        return f"HTTP {status}: {body[:200].decode(errors='replace')}"
    try:
        parsed = PredictionResponse.model_validate_json(body)
    except ValidationError as exc:
        return f"response does not match the prediction schema: {exc.errors()[0]['msg']}"
    if len(parsed.predictions) != payload.expect_rows:
        return f"expected {payload.expect_rows} prediction(s), got {len(parsed.predictions)}"
    return None


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = max(0, math.ceil(q / 100 * len(ordered)) - 1)
    return ordered[index]


def run_smoke(endpoints: EndpointBackend, env: str, cfg: EnvironmentConfig) -> list[SmokeResult]:
    results = []
    for payload in cfg.smoke.payloads:
        body, latencies, result = payload_bytes(payload), [], SmokeResult(payload.name, 0, 0.0)
        for number in range(cfg.smoke.requests):
            # Captured with an id that says where it came from, so monitoring can tell smoke from traffic.
            inference_id = f"smoke-{payload.name[:40]}-{number + 1}"
            answer = endpoints.invoke(env, cfg, body, payload.content_type, "application/json", inference_id)
            latencies.append(answer.latency_ms)
            problem = check_response(payload, answer.status, answer.body)
            if problem and problem not in result.failures:
                result.failures.append(problem)
        result.requests, result.p95_ms = len(latencies), percentile(latencies, 95)
        if result.p95_ms > cfg.smoke.p95_latency_ms:
            result.failures.append(f"p95 {result.p95_ms:.1f} ms exceeds the budget of {cfg.smoke.p95_latency_ms} ms")
        results.append(result)
    return results


def assert_smoke(results: list[SmokeResult], env: str) -> None:
    failed = [f"{r.payload}: {'; '.join(r.failures)}" for r in results if r.failures]
    if failed:
        raise SmokeFailed(f"smoke test of '{env}' failed: " + " | ".join(failed))
