"""The transform_fn entry point: 4xx responses inside the container, exceptions outside it."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest

from ml import endpoint
from ml.inference import PayloadError

ROW = "12,70.5,846.0,1,41,20.5,month-to-month,electronic_check,fiber_optic,yes"


def test_module_exposes_only_what_the_container_allows() -> None:
    assert {"model_fn", "transform_fn"} <= set(vars(endpoint))
    assert not {"input_fn", "predict_fn", "output_fn"} & set(vars(endpoint))


def test_good_request_returns_body_and_type(model_dir: Path) -> None:
    model = endpoint.model_fn(model_dir)
    body, kind = endpoint.transform_fn(model, ROW, "text/csv", "text/csv")
    assert kind == "text/csv"
    assert body.decode().count("\n") == 1


def test_bad_request_raises_outside_the_container(model_dir: Path) -> None:
    with pytest.raises(PayloadError) as caught:
        endpoint.transform_fn(endpoint.model_fn(model_dir), "", "text/csv", "text/csv")
    assert caught.value.status == 400


class _Response:
    def __init__(self, response: str, status: int, mimetype: str) -> None:
        self.response, self.status, self.mimetype = response, status, mimetype


def test_bad_request_becomes_a_4xx_response_inside_the_container(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    framework = types.ModuleType("sagemaker_containers.beta.framework")
    framework.worker = types.SimpleNamespace(Response=_Response)
    for name, module in {
        "sagemaker_containers": types.ModuleType("sagemaker_containers"),
        "sagemaker_containers.beta": types.ModuleType("sagemaker_containers.beta"),
        "sagemaker_containers.beta.framework": framework,
    }.items():
        monkeypatch.setitem(sys.modules, name, module)
    answer = endpoint.transform_fn(endpoint.model_fn(model_dir), ROW, "application/x-npy", "application/json")
    assert (answer.status, answer.mimetype) == (415, "application/json")
    assert "application/x-npy" in json.loads(answer.response)["error"]


@pytest.mark.parametrize(
    "body",
    ["[" * 100_000 + "]" * 100_000, '{"age": ' + "9" * 5000 + "}", ROW.replace("yes", "y" * 200_000)],
    ids=["deep-json", "digit-limit", "csv-field-limit"],
)
def test_hostile_payloads_are_payload_errors_on_sagemaker_too(model_dir: Path, body: str) -> None:
    """The container turns anything but a PayloadError into a 500: hostile input must arrive as one."""
    kind = "text/csv" if body.startswith("12,") else "application/json"
    with pytest.raises(PayloadError) as caught:
        endpoint.transform_fn(endpoint.model_fn(model_dir), body, kind, "application/json")
    assert caught.value.status == 400
