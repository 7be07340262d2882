"""Serving handlers: every accepted payload form, every PayloadError status, fast and exact answers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ml import inference
from ml.inference import MAX_PAYLOAD_BYTES, PayloadError, input_fn, model_fn, output_fn, predict_fn

HEADER = (
    "tenure_months,monthly_charges,total_charges,support_calls,age,data_usage_gb,"
    "contract,payment_method,internet_service,paperless_billing"
)
ROW = "12,70.5,846.0,1,41,20.5,month-to-month,electronic_check,fiber_optic,yes"
RECORD = {
    "tenure_months": 12,
    "monthly_charges": 70.5,
    "total_charges": 846.0,
    "support_calls": 1,
    "age": 41,
    "data_usage_gb": 20.5,
    "contract": "month-to-month",
    "payment_method": "electronic_check",
    "internet_service": "fiber_optic",
    "paperless_billing": "yes",
}


@pytest.fixture(scope="module")
def model(model_dir: Path) -> inference.ServingModel:
    return model_fn(model_dir)


def _probabilities(body: str | bytes, content_type: str, model: inference.ServingModel) -> list[float]:
    answer, kind = output_fn(predict_fn(input_fn(body, content_type, model), model), "application/json")
    assert kind == "application/json"
    return [p["probability"] for p in json.loads(answer)["predictions"]]


def test_model_fn_loads_info_and_compiles(model: inference.ServingModel) -> None:
    assert model.features.names == tuple(HEADER.split(","))
    assert model.scorer is not None


def test_one_row_csv_with_and_without_header(model: inference.ServingModel) -> None:
    bare = _probabilities(ROW, "text/csv", model)
    assert len(bare) == 1
    assert _probabilities(f"{HEADER}\n{ROW}\n", "text/csv; charset=utf-8", model) == bare
    assert _probabilities(ROW.encode(), "text/csv", model) == bare


def test_header_in_other_order_with_extra_columns(model: inference.ServingModel) -> None:
    names, values = HEADER.split(","), ROW.split(",")
    body = "churned," + ",".join(reversed(names)) + "\n1," + ",".join(reversed(values))
    assert _probabilities(body, "text/csv", model) == _probabilities(ROW, "text/csv", model)


def test_json_forms_agree(model: inference.ServingModel) -> None:
    expected = _probabilities(ROW, "text/csv", model)
    values = list(RECORD.values())
    for document in ({"instances": [RECORD]}, [RECORD], RECORD, {"instances": [values]}, values):
        assert _probabilities(json.dumps(document), "application/json", model) == expected


def test_many_rows_match_the_pipeline(model: inference.ServingModel, prepared: Path) -> None:
    test = pd.read_csv(prepared / "test" / "test.csv")
    features = list(model.features.names)
    body = test[features].iloc[:100].to_csv(index=False, header=False)
    answer, kind = output_fn(predict_fn(input_fn(body, "text/csv", model), model), "text/csv")
    assert kind == "text/csv"
    lines = answer.decode().splitlines()
    assert len(lines) == 100
    expected = model.estimator.predict_proba(test[features].iloc[:100])[:, 1]
    np.testing.assert_allclose([float(line.split(",")[0]) for line in lines], expected, atol=1e-6)
    assert {line.split(",")[1] for line in lines} <= {"0", "1"}


def test_missing_values_are_allowed(model: inference.ServingModel) -> None:
    record = {**RECORD, "age": None, "contract": None}
    assert len(_probabilities(json.dumps(record), "application/json", model)) == 1
    assert len(_probabilities("12,70.5,,1,,20.5,,electronic_check,fiber_optic,yes", "text/csv", model)) == 1


def test_unknown_category_is_ignored(model: inference.ServingModel) -> None:
    assert len(_probabilities(ROW.replace("month-to-month", "weekly"), "text/csv", model)) == 1


@pytest.mark.parametrize(
    ("body", "content_type", "status", "reason"),
    [
        ("", "text/csv", 400, "empty request body"),
        ("  \n", "application/json", 400, "empty request body"),
        ("1,2,3", "text/csv", 400, "CSV row 1 has 3 columns, expected 10 columns"),
        (ROW.replace("70.5", "abc"), "text/csv", 400, "feature 'monthly_charges' at row 1: non-numeric value 'abc'"),
        (ROW.replace("70.5", "inf"), "text/csv", 400, "infinite value"),
        ("tenure_months,age\n1,2", "text/csv", 400, "CSV header lacks features monthly_charges"),
        (HEADER, "text/csv", 400, "header but no data rows"),
        (f"{HEADER},age\n{ROW},41", "text/csv", 400, "CSV header names age more than once"),
        ('{"instances": [', "application/json", 400, "invalid JSON"),
        ('{"instances": []}', "application/json", 400, "no instances"),
        ('{"instances": [{"age": 3}]}', "application/json", 400, "instance 1 lacks features tenure_months"),
        ('{"instances": [[1, 2]]}', "application/json", 400, "instance 1 has 2 values"),
        ('"text"', "application/json", 400, "JSON body must be"),
        (json.dumps({**RECORD, "age": "old"}), "application/json", 400, "feature 'age' at row 1: non-numeric"),
        (json.dumps({**RECORD, "age": True}), "application/json", 400, "expected a number"),
        (b"\xff\xfe", "text/csv", 400, "not valid utf-8"),
        (ROW, "application/x-npy", 415, "unsupported content type 'application/x-npy'"),
        (ROW, "text/plain", 415, "unsupported content type"),
        (ROW.encode(), "text/csv; charset=klingon", 415, "unsupported charset"),
    ],
)
def test_payload_errors(model, body: str | bytes, content_type: str, status: int, reason: str) -> None:
    with pytest.raises(PayloadError) as caught:
        input_fn(body, content_type, model)
    assert caught.value.status == status
    assert reason in caught.value.reason


def _with_age(digits: str) -> str:
    return json.dumps({**RECORD, "age": 0}).replace('"age": 0', f'"age": {digits}')


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        ("[" * 100_000 + "]" * 100_000, "application/json", "nested too deeply"),
        ('{"instances": ' * 50_000 + "[]" + "}" * 50_000, "application/json", "nested too deeply"),
        (_with_age("9" * 400), "application/json", "feature 'age' at row 1: number too large for a float"),
        (_with_age("9" * 5000), "application/json", "a number has more than 4300 digits"),
        (ROW.replace("fiber_optic", "x" * 200_000), "text/csv", "a CSV field is longer than 131072 characters"),
        (ROW.encode(), "text/csv; charset=undefined", "cannot be decoded as undefined"),
        (b"\xff" + ROW.encode(), "text/csv; charset=idna", "not valid idna"),
    ],
    ids=["deep-list", "deep-object", "int-beyond-float", "int-digit-limit", "csv-field-limit", "codec", "idna"],
)
def test_hostile_payloads_are_400_not_500(model, body: str | bytes, content_type: str, reason: str) -> None:
    """What the standard library raises on hostile input is the client's mistake: a 400, never a 500."""
    with pytest.raises(PayloadError) as caught:
        input_fn(body, content_type, model)
    assert caught.value.status == 400
    assert reason in caught.value.reason
    assert len(caught.value.reason) < 200  # the reason never echoes the client's giant field back


def test_oversized_body_is_413_before_parsing(model: inference.ServingModel) -> None:
    body = b"x" * (MAX_PAYLOAD_BYTES + 1)
    with pytest.raises(PayloadError) as caught:
        input_fn(body, "application/x-npy", model)
    assert caught.value.status == 413


def test_input_fn_uses_the_model_loaded_by_model_fn(model_dir: Path) -> None:
    model_fn(model_dir)
    assert len(input_fn(ROW, "text/csv")) == 1


@pytest.mark.parametrize(
    ("accept", "kind"),
    [
        (None, "application/json"),
        ("*/*", "application/json"),
        ("text/csv", "text/csv"),
        ("application/xml, text/csv;q=0.9", "text/csv"),
        ("application/json; charset=utf-8", "application/json"),
    ],
)
def test_output_content_negotiation(accept: str | None, kind: str) -> None:
    prediction = {"probability": np.array([0.83, 0.1]), "label": np.array([1, 0])}
    body, chosen = output_fn(prediction, accept)
    assert chosen == kind
    if kind == "text/csv":
        assert body == b"0.83,1\n0.1,0\n"
    else:
        assert json.loads(body) == {
            "predictions": [{"label": 1, "probability": 0.83}, {"label": 0, "probability": 0.1}]
        }


def test_unsupported_accept_is_406() -> None:
    with pytest.raises(PayloadError) as caught:
        output_fn({"probability": np.array([0.5]), "label": np.array([1])}, "application/x-npy")
    assert caught.value.status == 406


def test_fallback_without_compiled_scorer_agrees(model: inference.ServingModel) -> None:
    plain = inference.ServingModel(model.estimator, model.info, model.features, model.threshold, None)
    data = input_fn(f"{ROW}\n{ROW.replace('41', '').replace('month-to-month', '')}", "text/csv", model)
    np.testing.assert_allclose(predict_fn(data, plain)["probability"], predict_fn(data, model)["probability"])
