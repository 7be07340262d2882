"""Reading SageMaker data capture files: both payload types, encodings, time filters, bad lines."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from deploy.local.data_capture import capture_key, capture_record
from ml.capture import EVENT_ID, INFERENCE_ID, SCORE, read_capture
from ml.contract import DataError
from ml.schema import DEFAULT_SCHEMA

FEATURES = list(DEFAULT_SCHEMA.features)
ROW = ["5", "70.5", "352.5", "3", "40", "10.0", "month-to-month", "electronic_check", "fiber_optic", "yes"]
T0 = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)


def write(folder: Path, records: list[dict], when: datetime = T0) -> Path:
    path = folder / capture_key("ep", "AllTraffic", when)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    return path


def test_csv_and_json_requests_become_rows_with_scores_and_ids(tmp_path: Path) -> None:
    csv_body = ("\n".join([",".join(ROW)] * 2)).encode()
    json_body = json.dumps({"instances": [dict(zip(FEATURES, ROW, strict=True))]}).encode()
    answer = json.dumps({"predictions": [{"label": 1, "probability": 0.7}]}).encode()
    write(
        tmp_path,
        [
            capture_record(csv_body, "text/csv", b"0.1,0\n0.9,1\n", "text/csv", when=T0, inference_id="a"),
            capture_record(json_body, "application/json", answer, "application/json", when=T0, event_id="e2"),
        ],
    )
    capture = read_capture(tmp_path, FEATURES)
    frame = capture.frame
    assert (len(frame), capture.requests, capture.files) == (3, 2, 1)
    assert frame[SCORE].tolist() == [0.1, 0.9, 0.7]
    assert frame[INFERENCE_ID].tolist()[:2] == ["a", "a"] and frame[EVENT_ID].iloc[2] == "e2"
    assert frame["monthly_charges"].astype(float).tolist() == [70.5, 70.5, 70.5]
    assert capture.extra_columns == set() and capture.missing_columns == set()


def test_base64_payloads_and_csv_with_header(tmp_path: Path) -> None:
    record = capture_record(b"x", "application/octet-stream", b"0.2,0\n", "text/csv", when=T0)
    body = ",".join(FEATURES) + "\n" + ",".join(ROW)
    record["captureData"]["endpointInput"] = {
        "observedContentType": "text/csv",
        "mode": "INPUT",
        "data": base64.b64encode(body.encode()).decode(),
        "encoding": "BASE64",
    }
    write(tmp_path, [record])
    frame = read_capture(tmp_path, FEATURES).frame
    assert frame["contract"].tolist() == ["month-to-month"] and frame[SCORE].tolist() == [0.2]


def test_bad_lines_are_counted_not_fatal(tmp_path: Path) -> None:
    good = capture_record(",".join(ROW).encode(), "text/csv", b"0.3,0\n", "text/csv", when=T0)
    path = write(tmp_path, [good])
    path.write_text(path.read_text() + "not json\n" + json.dumps({"captureData": {}}) + "\n")
    capture = read_capture(tmp_path, FEATURES)
    assert len(capture.frame) == 1 and capture.skipped == {"not a capture record": 2}


def test_since_skips_older_hours_and_records(tmp_path: Path) -> None:
    body = ",".join(ROW).encode()
    write(
        tmp_path,
        [capture_record(body, "text/csv", b"0.1,0\n", "text/csv", when=T0 - timedelta(hours=3))],
        T0 - timedelta(hours=3),
    )
    write(tmp_path, [capture_record(body, "text/csv", b"0.2,0\n", "text/csv", when=T0)], T0)
    assert len(read_capture(tmp_path, FEATURES).frame) == 2
    recent = read_capture(tmp_path, FEATURES, since=T0 - timedelta(minutes=5))
    assert recent.files == 1 and recent.frame[SCORE].tolist() == [0.2]


def test_extra_and_missing_json_keys_are_reported(tmp_path: Path) -> None:
    instance = dict(zip(FEATURES, ROW, strict=True))
    instance.pop("age")
    instance["coupon"] = "x"
    body = json.dumps([instance]).encode()
    write(tmp_path, [capture_record(body, "application/json", b"[0.4]", "application/json", when=T0)])
    capture = read_capture(tmp_path, FEATURES)
    assert capture.extra_columns == {"coupon"} and capture.missing_columns == {"age"}
    assert capture.frame[SCORE].tolist() == [0.4]


def test_no_capture_folder_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no capture data at"):
        read_capture(tmp_path / "absent", FEATURES)


def test_empty_folder_gives_an_empty_frame(tmp_path: Path) -> None:
    capture = read_capture(tmp_path, FEATURES)
    assert capture.frame.empty and list(capture.frame.columns)[: len(FEATURES)] == FEATURES
