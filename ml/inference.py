"""SageMaker serving handlers ``model_fn``, ``input_fn``, ``predict_fn``, ``output_fn``; runs in the serving container.

Requests: ``text/csv`` (one or many rows, with or without a header row) and
``application/json`` (``{"instances": [...]}``, a list, or one object; each instance an
object keyed by feature or a list in feature order). Responses: JSON
``{"predictions": [{"label": 1, "probability": 0.83}, ...]}`` by default, or CSV lines
``probability,label`` for ``Accept: text/csv``. Client mistakes raise ``PayloadError`` with
400, 406, 413 or 415 in ``.status``.

SageMaker calls ``input_fn(body, content_type)`` without the model, so ``model_fn`` remembers
the features of the model it loaded in this worker process; callers holding the model can
pass it explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ml.artifact import load_model
from ml.payload import (
    CSV,
    JSON,
    MAX_PAYLOAD_BYTES,
    Batch,
    Features,
    PayloadError,
    choose_accept,
    decode,
    encode_csv,
    encode_json,
    media_type,
    parse_csv,
    parse_json,
)
from ml.scoring import CompiledScorer, compile_scorer

__all__ = ["MAX_PAYLOAD_BYTES", "PayloadError", "ServingModel", "input_fn", "model_fn", "output_fn", "predict_fn"]


@dataclass(frozen=True)
class ServingModel:
    """The loaded estimator, its ``model_info.json``, and the fast scorer when one applies."""

    estimator: Any
    info: dict[str, Any]
    features: Features
    threshold: float
    scorer: CompiledScorer | None

    def predict_proba(self, batch: Batch) -> np.ndarray:
        if self.scorer is not None:
            return self.scorer.predict_proba(batch)
        return self.estimator.predict_proba(batch.to_frame())


_loaded: list[ServingModel] = []


def model_fn(model_dir: str | Path) -> ServingModel:
    """Load ``model.joblib`` and ``model_info.json`` from the unpacked model folder."""
    estimator, info = load_model(Path(model_dir))
    model = ServingModel(
        estimator=estimator,
        info=info,
        features=Features(tuple(info["numeric_features"]), tuple(info["categorical_features"])),
        threshold=float(info.get("threshold", 0.5)),
        scorer=compile_scorer(estimator),
    )
    _loaded[:] = [model]
    return model


def _features(model: ServingModel | None) -> Features:
    if model is not None:
        return model.features
    if not _loaded:
        raise RuntimeError("input_fn called before model_fn loaded a model")
    return _loaded[0].features


def input_fn(body: bytes | str, content_type: str | None, model: ServingModel | None = None) -> Batch:
    """Parse and check a request body; raise PayloadError for anything the client must fix."""
    size = len(body) if isinstance(body, bytes | bytearray) else len(body.encode())
    if size > MAX_PAYLOAD_BYTES:
        raise PayloadError(413, f"body of {size} bytes exceeds the limit of {MAX_PAYLOAD_BYTES} bytes")
    # An absent Content-Type is read as JSON, the SageMaker SDK's default serializer.
    kind, charset = media_type(content_type or JSON)
    if kind not in (CSV, JSON):
        raise PayloadError(415, f"unsupported content type {kind!r}; send {CSV} or {JSON}")
    text = decode(bytes(body) if isinstance(body, bytearray) else body, charset)
    if not text.strip():
        raise PayloadError(400, "empty request body")
    features = _features(model)
    return parse_csv(text, features) if kind == CSV else parse_json(text, features)


def predict_fn(data: Batch, model: ServingModel) -> dict[str, np.ndarray]:
    """Probability of the positive class and the label at the model's threshold."""
    probability = model.predict_proba(data)[:, 1]
    return {"probability": probability, "label": (probability >= model.threshold).astype(np.int64)}


def output_fn(prediction: dict[str, np.ndarray], accept: str | None) -> tuple[bytes, str]:
    """``(body, content_type)``; JSON unless the client asks for CSV."""
    kind = choose_accept(accept)
    if kind == CSV:
        return encode_csv(prediction["probability"], prediction["label"]), CSV
    return encode_json(prediction["probability"], prediction["label"]), JSON
