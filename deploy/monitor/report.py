"""The monitor's result as text for people: terminal lines, markdown with a chart, JSON (control plane).

The markdown goes to the job summary and to the drift issue; its chart is a mermaid
`xychart-beta` bar chart of every feature's effect as a multiple of its threshold (1.0 is the
line a drift crosses), which GitHub renders in issues and summaries without images.
"""

from __future__ import annotations

import json
from typing import Any

from deploy.monitor.quality import QualityRun
from deploy.monitor.run import MonitorRun

STATUS_WORDS = {"ok": "no drift", "drift": "DRIFT", "insufficient_data": "not judged: too few rows"}


def _ratio(check: dict[str, Any] | None) -> float:
    if not check:
        return 0.0
    return max(float(check["statistic"]), 0.0) / float(check["threshold"])


def _feature_ratio(item: dict[str, Any]) -> float:
    return max(_ratio(item.get("distribution")), _ratio(item["missing"]))


def _cells(item: dict[str, Any]) -> list[str]:
    check = item.get("distribution") or {}
    missing = item["missing"]
    return [
        item["name"],
        item["kind"],
        check.get("test", "-"),
        f"{check['statistic']:.3f}" if check else "-",
        f"{check['threshold']:g}" if check else "-",
        f"{check['p_value']:.2g}" if check else "-",
        f"{missing['baseline']:.1%} → {missing['current']:.1%}",
        "DRIFT" if item["drift"] else "ok",
    ]


HEADER = ["feature", "kind", "test", "statistic", "threshold", "p-value", "missing", "verdict"]


def _headline(run: MonitorRun) -> str:
    volume = run.result["volume"]
    since = f" since {run.since:%Y-%m-%d %H:%M} UTC" if run.since else ""
    return (
        f"{run.env}: {run.model.label}, {volume['rows']:,} rows in {volume['requests']:,} requests{since} "
        f"from {run.source}"
    )


def _prediction_lines(result: dict[str, Any]) -> list[str]:
    prediction = result.get("prediction")
    if not prediction:
        return []
    score, rate = prediction["score"], prediction["positive_rate"]
    return [
        f"score distribution: {score['test']} {score['statistic']:.3f} (threshold {score['threshold']:g}, "
        f"p {score['p_value']:.2g}) {'DRIFT' if score['drift'] else 'ok'}",
        f"positive rate: {rate['baseline']:.1%} → {rate['current']:.1%} (threshold ±{rate['threshold']:.0%}) "
        f"{'DRIFT' if rate['drift'] else 'ok'}",
    ]


def verdict(run: MonitorRun) -> str:
    result = run.result
    if result["status"] == "insufficient_data":
        return f"verdict: not judged — {result['reason']}"
    parts = []
    if result["drifted_features"]:
        parts.append(f"drift in {', '.join(result['drifted_features'])}")
    if (result.get("prediction") or {}).get("drift"):
        parts.append("prediction drift")
    if run.violations:
        parts.append(f"{len(run.violations)} data-quality violation{'s' if len(run.violations) > 1 else ''}")
    return "verdict: " + ("; ".join(parts) if parts else "no drift, no violations")


def terminal_rows(run: MonitorRun) -> list[list[str]]:
    return [_cells(item) for item in run.result["features"]]


def text_lines(run: MonitorRun) -> list[str]:
    """Everything but the table: headline, prediction, violations, verdict."""
    lines = [_headline(run), *_prediction_lines(run.result)]
    for item in run.violations:
        lines.append(f"violation: {item['feature_name']}: {item['constraint_check_type']}: {item['description']}")
    lines.append(verdict(run))
    return lines


def _chart(run: MonitorRun) -> list[str]:
    features = run.result["features"]
    if not features:
        return []
    names = ", ".join(f'"{f["name"]}"' for f in features)
    ratios = ", ".join(f"{_feature_ratio(f):.2f}" for f in features)
    top = max(1.5, max(_feature_ratio(f) for f in features) * 1.1)
    return [
        "```mermaid",
        "xychart-beta",
        '    title "Drift per feature (effect ÷ threshold; above 1 is drift)"',
        f"    x-axis [{names}]",
        f'    y-axis "effect ÷ threshold" 0 --> {top:.1f}',
        f"    bar [{ratios}]",
        f"    line [{', '.join('1' for _ in features)}]",
        "```",
    ]


def markdown(run: MonitorRun) -> str:
    status = STATUS_WORDS[run.result["status"]]
    lines = [f"## Monitor {run.env}: {status}", "", _headline(run), ""]
    lines += _chart(run)
    if run.result["features"]:
        lines += ["", "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
        for cells in terminal_rows(run):
            cells[-1] = "**DRIFT**" if cells[-1] == "DRIFT" else cells[-1]
            lines.append("| " + " | ".join(cells) + " |")
    prediction = _prediction_lines(run.result)
    if prediction:
        lines += ["", "**Predictions**", "", *(f"- {line}" for line in prediction)]
    if run.violations:
        lines += ["", "**Data-quality violations** (`constraint_violations.json`)", ""]
        lines += [f"- `{v['feature_name']}` {v['constraint_check_type']}: {v['description']}" for v in run.violations]
    lines += ["", verdict(run), ""]
    return "\n".join(lines)


def as_json(run: MonitorRun) -> str:
    document = {
        "environment": run.env,
        "model": {"group": run.model.group, "version": run.model.version, "sha256": run.model.sha256},
        "source": run.source,
        "since": run.since.isoformat() if run.since else None,
        **run.result,
        "violations": run.violations,
    }
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


QUALITY_HEADER = ["metric", "now", "evaluation", "gate threshold", "verdict"]


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def quality_rows(run: QualityRun) -> list[list[str]]:
    rows = []
    for check in run.checks:
        verdict = "below the gate" if check.below_threshold else "DEGRADED" if check.degraded else "ok"
        threshold = "-" if check.threshold is None else f"{check.threshold:g}"
        rows.append([check.name, _number(check.current), _number(check.baseline), threshold, verdict])
    return rows


def quality_lines(run: QualityRun) -> list[str]:
    join = run.join
    lines = [
        f"{run.env}: {run.model.label}, {join['joined']:,} of {join['labels']:,} labels joined to captured "
        f"inferences by {join['key']} ({join['captured_rows']:,} captured rows)"
    ]
    breaches = [c.name for c in run.checks if c.breach]
    lines.append("verdict: " + (f"quality breach in {', '.join(breaches)}" if breaches else "quality as evaluated"))
    return lines


def quality_markdown(run: QualityRun) -> str:
    lines = quality_lines(run)
    table = ["| " + " | ".join(QUALITY_HEADER) + " |", "|" + "---|" * len(QUALITY_HEADER)]
    table += ["| " + " | ".join(cells) + " |" for cells in quality_rows(run)]
    status = "BREACH" if run.breach else "ok"
    return "\n".join([f"## Model quality {run.env}: {status}", "", lines[0], "", *table, "", lines[1], ""])
