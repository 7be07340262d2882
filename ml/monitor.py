"""Monitor step: captured traffic against the model's baseline; runs in the processing container.

Reads the baseline (``statistics.json`` and ``constraints.json`` from the pipeline's baseline
step), the traffic (a data capture folder or ``.jsonl`` file, or a CSV/Parquet table) and the
monitoring settings (JSON, from the ``monitoring:`` section of ``config/<env>.yaml``), and
writes into ``--output-dir``::

    monitor_result.json         per-feature drift, prediction drift, volume, the verdict
    constraint_violations.json  data-quality violations in Model Monitor's shape
    statistics.json             the traffic's own profile, shaped like the baseline's

The step succeeds when it could judge the traffic, drift or not; the control plane turns the
verdict into an exit code, metrics, a report and an issue. Only scipy, numpy and pandas.

CLI: ``python -m ml.monitor --baseline-dir DIR --data PATH --output-dir DIR [--config FILE]
[--since 2026-01-01T00:00:00+00:00]``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ml.capture import META, SCORE, TIME, Capture, read_capture
from ml.contract import PROCESSING_INPUT, PROCESSING_OUTPUT, DataError, StepParser, exit_process, run_step, write_json
from ml.dataset import TABLE_SUFFIXES, load_table
from ml.drift import categorical_drift, numeric_drift, rate_rise
from ml.profile import STRING, as_numbers, as_text, category_counts, feature_statistics
from ml.quality import feature_violations, frame_violations

RESULT_FILE = "monitor_result.json"
VIOLATIONS_FILE = "constraint_violations.json"
DEFAULTS: dict[str, Any] = {
    "alpha": 0.01,
    "min_rows": 100,
    "missing_threshold": 0.05,
    "numeric": {"test": "wasserstein", "threshold": 0.1},
    "categorical": {"test": "total_variation", "threshold": 0.05},
    "features": {},
    "prediction": {"test": "wasserstein", "threshold": 0.1, "positive_rate_threshold": 0.05},
}


def settings(overrides: dict[str, Any] | None) -> dict[str, Any]:
    merged = json.loads(json.dumps(DEFAULTS))
    for key, value in (overrides or {}).items():
        merged[key] = {**merged[key], **value} if isinstance(merged.get(key), dict) else value
    return merged


def load_traffic(path: Path, statistics: dict[str, Any], since: datetime | None) -> Capture:
    """Capture files (a folder or ``.jsonl``) or a plain table (CSV/Parquet, no scores)."""
    path = Path(path)
    features = [entry["name"] for entry in statistics["features"]]
    categorical = [entry["name"] for entry in statistics["features"] if entry["inferred_type"] == STRING]
    if path.is_file() and path.suffix.lower() in TABLE_SUFFIXES:
        capture = Capture(load_table(path), requests=0, files=1)
        capture.requests = len(capture.frame)
    else:
        capture = read_capture(path, features, since, categorical)
    for name in categorical:
        if name in capture.frame:
            # Text once, here: every check below then takes as_text's vectorised path.
            capture.frame[name] = as_text(capture.frame[name], strip=True)
    return capture


def _missing_check(entry: dict[str, Any], column: pd.Series, cfg: dict[str, Any]) -> dict[str, Any]:
    block = entry.get("numerical_statistics") or entry["string_statistics"]
    n_ref = block["common"]["num_present"] + block["common"]["num_missing"]
    missing = int(column.isna().sum())
    share = block["common"]["num_missing"] / n_ref if n_ref else 0.0
    return rate_rise(share, n_ref, missing, len(column), cfg["missing_threshold"], cfg["alpha"])


def _feature_drift(entry: dict[str, Any], column: pd.Series, cfg: dict[str, Any]) -> dict[str, Any]:
    name, categorical = entry["name"], entry["inferred_type"] == STRING
    rule = {**cfg["categorical" if categorical else "numeric"], **cfg["features"].get(name, {})}
    result: dict[str, Any] = {"name": name, "kind": "categorical" if categorical else "numeric"}
    if categorical:
        current = as_text(column).dropna().value_counts().to_dict()
        if current:
            result["distribution"] = categorical_drift(
                category_counts(entry), current, rule["test"], rule["threshold"], cfg["alpha"]
            )
    else:
        values, _ = as_numbers(column)
        block = entry["numerical_statistics"]
        if (~np.isnan(values)).any() and "distribution" in block:
            result["distribution"] = numeric_drift(block, values, rule["test"], rule["threshold"], cfg["alpha"])
    result["missing"] = _missing_check(entry, column, cfg)
    result["drift"] = bool(result.get("distribution", {}).get("drift") or result["missing"]["drift"])
    return result


def _prediction(baseline: dict[str, Any], scores: np.ndarray, cfg: dict[str, Any]) -> dict[str, Any] | None:
    present = scores[~np.isnan(scores)]
    reference = baseline.get("prediction")
    if reference is None or not len(present):
        return None
    rule = cfg["prediction"]
    block = reference["numerical_statistics"]
    score = numeric_drift(block, present, rule["test"], rule["threshold"], cfg["alpha"])
    positives = int((present >= reference["threshold"]).sum())
    rate = rate_rise(
        reference["positive_rate"],
        reference["item_count"],
        positives,
        len(present),
        rule["positive_rate_threshold"],
        cfg["alpha"],
        two_sided=True,
    )
    return {"rows": len(present), "score": score, "positive_rate": rate, "drift": score["drift"] or rate["drift"]}


def _volume(capture: Capture) -> dict[str, Any]:
    frame = capture.frame
    volume: dict[str, Any] = {"rows": len(frame), "requests": capture.requests, "files": capture.files}
    if TIME in frame and frame[TIME].notna().any():
        times = pd.to_datetime(frame[TIME], utc=True, errors="coerce").dropna()
        volume.update(first=times.min().isoformat(), last=times.max().isoformat())
        hours = times.dt.floor("h").value_counts().sort_index()
        volume["rows_per_hour"] = {k.isoformat(): int(v) for k, v in hours.items()}
    if capture.skipped:
        volume["skipped"] = dict(capture.skipped)
    return volume


def monitor(
    statistics: dict[str, Any], constraints: dict[str, Any], capture: Capture, cfg: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(result, violations, current statistics) of the traffic against the baseline."""
    frame = capture.frame
    names = [entry["name"] for entry in statistics["features"]]
    violations = frame_violations(frame, names, capture, ignore={*META, statistics.get("label", {}).get("name")})
    result: dict[str, Any] = {"volume": _volume(capture), "features": [], "prediction": None}
    if len(frame) < cfg["min_rows"]:
        result["status"] = "insufficient_data"
        result["reason"] = f"{len(frame)} rows captured, fewer than monitoring.min_rows ({cfg['min_rows']})"
    by_name = {c["name"]: c for c in constraints["features"]}
    for entry in statistics["features"]:
        if entry["name"] not in frame:
            continue
        column = frame[entry["name"]]
        violations += feature_violations(entry, by_name.get(entry["name"], {}), column)
        if result.get("status") != "insufficient_data":
            result["features"].append(_feature_drift(entry, column, cfg))
    if result.get("status") != "insufficient_data" and SCORE in frame:
        result["prediction"] = _prediction(statistics, frame[SCORE].to_numpy(dtype=float), cfg)
    for item in result["features"]:
        if item["missing"]["drift"]:
            violations.append(_completeness(item))
    result["drifted_features"] = [f["name"] for f in result["features"] if f["drift"]]
    result["violations"] = len(violations)
    if "status" not in result:
        drifted = result["drifted_features"] or violations or (result["prediction"] or {}).get("drift")
        result["status"] = "drift" if drifted else "ok"
    current = {
        "version": 0.0,
        "dataset": {"item_count": len(frame)},
        "features": [feature_statistics(n, frame[n], _is_string(statistics, n)) for n in names if n in frame],
    }
    return result, {"violations": violations}, current


def _completeness(item: dict[str, Any]) -> dict[str, str]:
    missing = item["missing"]
    return {
        "feature_name": item["name"],
        "constraint_check_type": "completeness_check",
        "description": f"missing share {missing['current']:.1%} vs {missing['baseline']:.1%} in the baseline",
    }


def _is_string(statistics: dict[str, Any], name: str) -> bool:
    return next(e for e in statistics["features"] if e["name"] == name)["inferred_type"] == STRING


def _find(folder: Path, name: str) -> Path:
    """``folder/name``, or the one below it (a Processing job mounts each baseline file in its own folder)."""
    direct = folder / name
    if direct.is_file() or not folder.is_dir():
        return direct
    return next(iter(sorted(folder.rglob(name))), direct)


def run_monitor(
    baseline_dir: Path, data: Path, output_dir: Path, config: Path | None = None, since: datetime | None = None
) -> dict[str, Any]:
    """Read everything, judge, write the three files; returns the result."""
    try:
        statistics = json.loads(_find(Path(baseline_dir), "statistics.json").read_text(encoding="utf-8"))
        constraints = json.loads(_find(Path(baseline_dir), "constraints.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise DataError(f"cannot read the baseline in {baseline_dir}: {error}") from error
    cfg = settings(json.loads(Path(config).read_text(encoding="utf-8")) if config else None)
    result, violations, current = monitor(statistics, constraints, load_traffic(data, statistics, since), cfg)
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    for name, document in ((RESULT_FILE, result), (VIOLATIONS_FILE, violations), ("statistics.json", current)):
        write_json(output_dir / name, document)
    print(f"monitor: {result['volume']['rows']} rows, status {result['status']}, drift in {result['drifted_features']}")
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = StepParser(prog="python -m ml.monitor", description=__doc__, allow_abbrev=False)
    parser.add_argument("--baseline-dir", type=Path, default=PROCESSING_INPUT / "baseline")
    parser.add_argument("--data", type=Path, default=PROCESSING_INPUT / "capture")
    parser.add_argument("--output-dir", type=Path, default=PROCESSING_OUTPUT / "monitor")
    parser.add_argument("--config", type=Path, default=None)
    parser.add_argument("--since", type=datetime.fromisoformat, default=None)

    def step() -> None:
        args = parser.parse_args(argv)
        run_monitor(args.baseline_dir, args.data, args.output_dir, args.config, args.since)

    return run_step(step)


if __name__ == "__main__":
    exit_process(main())
