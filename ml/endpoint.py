"""Serving entry point that answers client mistakes with 4xx; runs in the SageMaker scikit-learn container.

The container's stock handler chain (``sagemaker_containers`` Transformer) turns any exception
raised by ``input_fn`` into HTTP 500, except its own UnsupportedFormatError, so a malformed
request would count as a model failure and trip 5xx rollback alarms. Pointing
``SAGEMAKER_PROGRAM`` at this module instead of ``ml.inference`` serves the same handlers
through ``transform_fn`` and answers a ``PayloadError`` with its own status and a JSON body.
A Batch Transform job started by ``mlops batch`` sets ``MLOPS_RECORD_ERRORS=inline``: then each
mini-batch is answered record by record (``ml.batch``), a bad record on its own line.

Only ``model_fn`` and ``transform_fn`` may be visible here: the container refuses a module that
defines ``transform_fn`` together with ``input_fn``, ``predict_fn`` or ``output_fn``.
"""

from __future__ import annotations

import json
from typing import Any

import ml.batch as _batch
import ml.inference as _handlers

model_fn = _handlers.model_fn


def transform_fn(model: _handlers.ServingModel, body: bytes | str, content_type: str, accept: str) -> Any:
    """``(body, content_type)`` for a good request; an error response for a bad one."""
    try:
        if _batch.inline_errors():  # a Batch Transform job asking for one answer line per record
            return _batch.transform_records(model, body, content_type, accept)
        data = _handlers.input_fn(body, content_type, model)
        return _handlers.output_fn(_handlers.predict_fn(data, model), accept)
    except _handlers.PayloadError as error:
        return error_response(error)


def error_response(error: _handlers.PayloadError) -> Any:
    """A Flask response with the error's status inside the container; re-raise anywhere else."""
    try:
        from sagemaker_containers.beta.framework import worker
    except ImportError:
        # Outside the container the caller (the local endpoint server) maps ``.status`` itself.
        raise error from None
    body = json.dumps({"error": error.reason, "status": error.status})
    return worker.Response(response=body, status=error.status, mimetype="application/json")
