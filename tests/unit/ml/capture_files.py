"""Test support: capture files for a frame, written with the local endpoint's capture writer."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from deploy.local.data_capture import capture_key, capture_record


def write_capture(
    folder: Path, frame: pd.DataFrame, scores: np.ndarray, *, rows_per_request: int = 1, when: datetime | None = None
) -> Path:
    """CSV requests of ``rows_per_request`` rows each and CSV answers, in one capture file."""
    when = when or datetime.now(UTC)
    lines = frame.to_csv(header=False, index=False).splitlines()
    records = []
    for start in range(0, len(lines), rows_per_request):
        body = "\n".join(lines[start : start + rows_per_request]).encode()
        answer = "".join(f"{s:.6f},{int(s >= 0.5)}\n" for s in scores[start : start + rows_per_request]).encode()
        record = capture_record(body, "text/csv", answer, "text/csv", when=when, inference_id=f"req-{start}")
        records.append(json.dumps(record))
    path = Path(folder) / capture_key("churn-prod", "AllTraffic", when)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(records) + "\n")
    return path


def shifted(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    """A price rise, a new payment method and more missing ages: the demo's shift."""
    rng = np.random.default_rng(seed)
    out = frame.copy()
    out["monthly_charges"] = out["monthly_charges"] * 1.3
    payment = out["payment_method"].astype(object)
    payment[rng.random(len(out)) < 0.1] = "crypto"
    out["payment_method"] = payment
    age = out["age"].copy()
    age[rng.random(len(out)) < 0.25] = np.nan
    out["age"] = age
    return out
