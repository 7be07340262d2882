"""Benchmark: wall time and peak memory of the local pipeline at 10k, 100k and 1M rows.

Run on demand (not collected by pytest):

    .venv/bin/python tests/bench/bench_pipeline.py [--rows 10000 100000 1000000]

Each size runs `mlops pipeline run --rows N` in a scratch copy of the repository, in a
fresh wrapper process, so the peak RSS reported is the largest process of that run (the
control plane or one of its step subprocesses). It prints per-step seconds and the cost
per million rows, to show whether cost grows linearly.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import sys
import tempfile
from pathlib import Path

from measured import measured

REPO = Path(__file__).resolve().parents[2]


def scratch_repo(base: Path) -> Path:
    root = base / "repo"
    shutil.copytree(REPO / "config", root / "config")
    shutil.copytree(REPO / "ml", root / "ml", ignore=shutil.ignore_patterns("__pycache__"))
    return root


def run_once(rows: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        root = scratch_repo(Path(tmp))
        mlops = [sys.executable, "-m", "deploy", "pipeline", "run", "--rows", str(rows), "--json"]
        env_prefix = ["env", f"MLOPS_ROOT={root}", f"PYTHONPATH={REPO}"]
        result = measured([*env_prefix, *mlops], f"pipeline at {rows} rows")
        db = root / ".mlops" / "registry.db"
        lineage = json.loads(sqlite3.connect(db).execute("SELECT lineage FROM model_versions").fetchone()[0])
        result["steps"] = lineage["step_seconds"]
        return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    args = parser.parse_args(argv)
    header = f"{'rows':>10} {'wall s':>8} {'peak MiB':>9} {'preprocess':>10} {'train':>7} {'evaluate':>8}"
    print(f"{header} {'baseline':>8} {'s per 1M':>9}")
    for rows in args.rows:
        r = run_once(rows)
        s = r["steps"]
        print(
            f"{rows:>10,} {r['wall']:>8.1f} {r['peak_mib']:>9.0f} {s['preprocess']:>10.1f} {s['train']:>7.1f} "
            f"{s['evaluate']:>8.1f} {s.get('baseline', 0.0):>8.1f} {r['wall'] / rows * 1e6:>9.1f}",
            flush=True,
        )
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
