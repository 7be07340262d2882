"""Benchmark: wall time and peak memory of the monitor step over 100k and 1M captured rows.

Run on demand (not collected by pytest):

    .venv/bin/python tests/bench/bench_monitor.py [--rows 100000 1000000] [--rows-per-request 1]

Trains a model and its baseline on the sample data once, writes N rows of traffic as
SageMaker capture files (one CSV row per request by default, the hardest case: one JSON line
per row), then runs `python -m ml.monitor` over them in a fresh process and reports wall
time, peak RSS and seconds per million rows (to show whether cost grows linearly).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from measured import measured  # noqa: E402

from deploy.local.data_capture import capture_key, capture_record  # noqa: E402
from ml.artifact import load_model, pack_archive  # noqa: E402
from ml.baseline import baseline  # noqa: E402
from ml.dataset import make_churn, write_table  # noqa: E402
from ml.preprocess import preprocess  # noqa: E402
from ml.schema import DEFAULT_SCHEMA  # noqa: E402
from ml.train import train  # noqa: E402

FILE_ROWS = 50_000  # capture files of this many records, like an hour's file on a busy endpoint


def prepare(root: Path) -> Path:
    write_table(make_churn(20000, 42), root / "raw" / "churn.csv")
    (root / "schema.json").write_text(json.dumps(DEFAULT_SCHEMA.to_dict()))
    preprocess(root / "raw", root / "schema.json", root / "split", 0.15, 0.15, 7)
    names = (DEFAULT_SCHEMA.numeric_names, DEFAULT_SCHEMA.categorical_names, DEFAULT_SCHEMA.label)
    train(root / "split" / "train", root / "model", {"algorithm": "logistic_regression"}, *names)
    pack_archive(root / "model", root / "archive" / "model.tar.gz")
    baseline(root / "split" / "train", root / "split" / "test", root / "archive", root / "schema.json", root / "base")
    return root / "base"


def write_traffic(root: Path, folder: Path, rows: int, per_request: int) -> None:
    estimator, info = load_model(root / "model")
    frame = make_churn(rows, 99).drop(columns=["churned"])
    scores = estimator.predict_proba(frame[info["features"]])[:, 1]
    lines = frame.to_csv(header=False, index=False).splitlines()
    answers = [f"{s:.6f},{int(s >= 0.5)}\n" for s in np.asarray(scores)]
    now = datetime.now(UTC)
    for start in range(0, rows, FILE_ROWS):
        records = []
        for i in range(start, min(start + FILE_ROWS, rows), per_request):
            body = "\n".join(lines[i : i + per_request]).encode()
            answer = "".join(answers[i : i + per_request]).encode()
            records.append(json.dumps(capture_record(body, "text/csv", answer, "text/csv", when=now)))
        path = folder / capture_key("churn-prod", "AllTraffic", now)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(records) + "\n")


def run_once(root: Path, base: Path, rows: int, per_request: int) -> dict:
    folder = root / f"capture-{rows}"
    write_traffic(root, folder, rows, per_request)
    step = [sys.executable, "-m", "ml.monitor", "--baseline-dir", str(base), "--data", str(folder)]
    step += ["--output-dir", str(root / f"out-{rows}")]
    env = ["env", f"PYTHONPATH={REPO}", f"SM_OUTPUT_DIR={root / 'sm-output'}"]
    result = measured([*env, *step], f"monitor at {rows} rows")
    verdict = json.loads((root / f"out-{rows}" / "monitor_result.json").read_text())
    result["status"] = verdict["status"]
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--rows-per-request", type=int, default=1)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        base = prepare(root)
        print(f"{'rows':>10} {'wall s':>8} {'peak MiB':>9} {'s per 1M rows':>14}  verdict")
        for rows in args.rows:
            result = run_once(root, base, rows, args.rows_per_request)
            per_million = result["wall"] / rows * 1e6
            wall, peak = result["wall"], result["peak_mib"]
            print(f"{rows:>10,} {wall:>8.1f} {peak:>9.0f} {per_million:>14.1f}  {result['status']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
