"""Model quality once labels arrive: captured predictions joined with ground truth; runs in the processing container.

The labels file (CSV or Parquet) names each inference by ``inference_id`` (what the client
sent as the runtime's ``InferenceId``) or ``event_id`` (the capture's own id), optionally a
``row`` (the instance's place in its request, from 0; default 0), and holds the true
``label`` (0 or 1). Each label is joined to the captured score of that instance, and the
metrics of ``evaluation.json`` are computed on the joined rows::

    {"binary_classification_metrics": {...as evaluation.json...},
     "join": {"labels": n, "joined": k, "unmatched_labels": n - k, "captured_rows": m, "key": "inference_id"}}

CLI: ``python -m ml.model_quality --data DIR --labels FILE --output-dir DIR [--threshold 0.5]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ml.capture import EVENT_ID, INFERENCE_ID, ROW, SCORE, read_capture
from ml.contract import PROCESSING_INPUT, PROCESSING_OUTPUT, DataError, StepParser, exit_process, run_step, write_json
from ml.dataset import load_table
from ml.evaluate import binary_metrics

KEYS = {"inference_id": INFERENCE_ID, "event_id": EVENT_ID}
RESULT_FILE = "quality.json"


def _labels(path: Path) -> tuple[pd.DataFrame, str]:
    labels = load_table(path)
    key = next((k for k in KEYS if k in labels), None)
    if key is None or "label" not in labels:
        raise DataError(f"{path}: needs a 'label' column and 'inference_id' or 'event_id' (found {list(labels)})")
    values = pd.to_numeric(labels["label"], errors="coerce")
    bad = ~values.isin([0, 1])
    if bad.any():
        rows = ", ".join(str(i + 2) for i in np.flatnonzero(bad.to_numpy())[:5])
        raise DataError(f"{path}: column 'label' must hold 0 or 1 (lines {rows})")
    row = pd.to_numeric(labels["row"], errors="coerce").fillna(0) if "row" in labels else 0
    frame = pd.DataFrame(
        {KEYS[key]: labels[key].astype(str), ROW: np.asarray(row, dtype=np.int64) + 0, "label": values}
    )
    return frame, key


def model_quality(data: Path, labels_path: Path, output_dir: Path, threshold: float = 0.5) -> dict[str, Any]:
    labels, key = _labels(Path(labels_path))
    captured = read_capture(Path(data), []).frame
    column = KEYS[key]
    scored = captured[[column, ROW, SCORE]].dropna(subset=[column, SCORE])
    scored = scored.assign(**{column: scored[column].astype(str), ROW: scored[ROW].astype(np.int64)})
    joined = labels.merge(scored.drop_duplicates([column, ROW]), on=[column, ROW], how="inner")
    if joined.empty:
        raise DataError(
            f"no label matched a captured inference by {key} (labels: {len(labels)}, captured: {len(captured)})"
        )
    y = joined["label"].to_numpy(dtype=np.int64)
    report = {
        "binary_classification_metrics": binary_metrics(y, joined[SCORE].to_numpy(dtype=float), threshold),
        "join": {
            "key": key,
            "labels": len(labels),
            "joined": len(joined),
            "unmatched_labels": len(labels) - len(joined),
            "captured_rows": len(captured),
        },
    }
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    write_json(output_dir / RESULT_FILE, report)
    print(f"model_quality: {len(joined)} of {len(labels)} labels joined by {key}")
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = StepParser(prog="python -m ml.model_quality", description=__doc__, allow_abbrev=False)
    parser.add_argument("--data", type=Path, default=PROCESSING_INPUT / "capture")
    parser.add_argument("--labels", type=Path, default=PROCESSING_INPUT / "labels")
    parser.add_argument("--output-dir", type=Path, default=PROCESSING_OUTPUT / "quality")
    parser.add_argument("--threshold", type=float, default=0.5)

    def step() -> None:
        args = parser.parse_args(argv)
        model_quality(args.data, args.labels, args.output_dir, args.threshold)

    return run_step(step)


if __name__ == "__main__":
    exit_process(main())
