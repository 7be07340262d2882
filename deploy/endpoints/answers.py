"""What an endpoint of this template answers, as types: predictions and error reasons (control plane and applications).

A 200 carries `{"predictions": [{"label": 0|1, "probability": p}, ...]}` (application/json)
or `probability,label` lines (text/csv); an error carries `{"error": reason, ...}` (the local
server; the container's `transform_fn` inside SageMaker's ModelError). The OpenAPI document
`deploy/endpoints/openapi.yaml` describes the same shapes.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from functools import cached_property


@dataclass(frozen=True)
class Prediction:
    label: int
    probability: float


class ResponseInvalid(ValueError):
    """A 200 whose body is not the prediction schema: a bug in the server, not in the request."""


def _prediction(item: object, number: int) -> Prediction:
    if not isinstance(item, dict):
        raise ResponseInvalid(f"prediction {number} is not an object")
    label, probability = item.get("label"), item.get("probability")
    if label not in (0, 1) or isinstance(label, bool):
        raise ResponseInvalid(f"prediction {number}: label {label!r} is not 0 or 1")
    if not isinstance(probability, int | float) or isinstance(probability, bool) or not 0 <= probability <= 1:
        raise ResponseInvalid(f"prediction {number}: probability {probability!r} is not in [0, 1]")
    return Prediction(int(label), float(probability))


def parse_predictions(body: bytes, content_type: str) -> list[Prediction]:
    if content_type.split(";")[0].strip().lower() == "text/csv":
        rows = [row for row in csv.reader(io.StringIO(body.decode())) if row]
        try:
            return [_prediction({"probability": float(p), "label": int(y)}, i) for i, (p, y) in enumerate(rows, 1)]
        except ValueError as error:
            raise ResponseInvalid(f"CSV answer is not probability,label lines: {error}") from None
    try:
        document = json.loads(body)
    except ValueError as error:
        raise ResponseInvalid(f"answer is not JSON: {error}") from None
    items = document.get("predictions") if isinstance(document, dict) else None
    if not isinstance(items, list) or not items:
        raise ResponseInvalid('answer has no "predictions" list')
    return [_prediction(item, i) for i, item in enumerate(items, 1)]


def parse_reason(message: str) -> str:
    """The server's reason from an error body: `{"error": …}` as this template writes it, else the text."""
    try:
        document = json.loads(message)
    except (TypeError, ValueError):
        return str(message)
    if isinstance(document, dict):
        for key in ("error", "message", "Message"):
            if isinstance(document.get(key), str):
                return document[key]
    return str(message)


@dataclass(frozen=True)
class Answer:
    """A 2xx answer: the raw body, who served it, how long it took, and the predictions parsed on demand."""

    status: int
    body: bytes
    content_type: str
    latency_ms: float
    variant: str | None = None
    attempts: int = 1
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names, as botocore reports them

    @cached_property
    def predictions(self) -> list[Prediction]:
        return parse_predictions(self.body, self.content_type)
