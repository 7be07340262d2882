"""The model-quality step: labels joined to captured scores by event id and row, metrics as evaluation.json."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ml.capture import EVENT_ID, ROW, read_capture
from ml.evaluate import binary_metrics
from ml.model_quality import main, model_quality

from .capture_files import write_capture


@pytest.fixture
def captured(tmp_path: Path) -> tuple[Path, np.ndarray]:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"x": rng.normal(size=300)})
    scores = rng.random(300)
    write_capture(tmp_path / "capture", frame, scores, rows_per_request=3, when=datetime(2026, 3, 1, tzinfo=UTC))
    return tmp_path / "capture", scores


def test_event_id_and_row_join_every_instance(captured: tuple[Path, np.ndarray], tmp_path: Path) -> None:
    folder, scores = captured
    rows = read_capture(folder, ["x"]).frame
    assert rows[ROW].tolist()[:6] == [0, 1, 2, 0, 1, 2]
    labels = (scores > 0.4).astype(int)
    table = pd.DataFrame({"event_id": rows[EVENT_ID], "row": rows[ROW], "label": labels})
    table.to_csv(tmp_path / "labels.csv", index=False)
    report = model_quality(folder, tmp_path / "labels.csv", tmp_path / "out")
    assert report["join"] == {
        "key": "event_id",
        "labels": 300,
        "joined": 300,
        "unmatched_labels": 0,
        "captured_rows": 300,
    }
    expected = binary_metrics(labels, scores.round(6), 0.5)
    assert report["binary_classification_metrics"]["auc"] == expected["auc"]
    assert json.loads((tmp_path / "out" / "quality.json").read_text()) == report


def test_labels_outside_0_and_1_are_a_data_error(
    captured: tuple[Path, np.ndarray], tmp_path: Path, read_failure: Callable[[], str]
) -> None:
    (tmp_path / "labels.csv").write_text("inference_id,label\nreq-0,1\nreq-3,yes\n")
    args = ["--data", str(captured[0]), "--labels", str(tmp_path / "labels.csv"), "--output-dir", str(tmp_path / "o")]
    assert main(args) == 3
    assert read_failure() == f"data error: {tmp_path / 'labels.csv'}: column 'label' must hold 0 or 1 (lines 3)"
