"""Render the promotion pull request (title, body) and the job summary from templates (control plane).

The templates live in `deploy/promotion/templates/*.md.j2` and ship as package data. This
module turns a `GateReport` into plain strings and small row dicts, so the templates only lay
out Markdown: the metric table with ✅/❌ per bar, the rules in words, a Mermaid `xychart-beta`
chart (GitHub renders it natively), the lineage of both models and the pin change.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from deploy.config.schema import GateRule
from deploy.promotion.cost import CostView
from deploy.promotion.gate import GateReport, MetricCheck, describe_rule
from deploy.promotion.importance import importance_view
from deploy.promotion.pins import PinChange
from deploy.promotion.profile import ProfileView
from deploy.registry import ModelVersion

PASS, FAIL, NA = "✅", "❌", "—"


@dataclass(frozen=True)
class Rendered:
    title: str
    body: str


@functools.cache
def _environment() -> Environment:
    # The templates are Markdown, not HTML: table cells are escaped by the `cell` filter instead.
    # One environment per process, so each template is compiled once (jinja2 caches them per environment).
    env = Environment(
        loader=PackageLoader("deploy.promotion", "templates"),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=select_autoescape(enabled_extensions=("html",), default=False),
    )
    env.filters["cell"] = _cell
    env.filters["sentence"] = lambda text: text[:1].upper() + text[1:]
    return env


def _cell(value: object) -> str:
    """A value safe inside a Markdown table cell."""
    text = "" if value is None else str(value)
    return text.replace("|", "\\|").replace("\r", " ").replace("\n", " ") or NA


def render_promotion(
    report: GateReport,
    changes: list[PinChange],
    *,
    repo_url: str | None = None,
    cost: CostView | None = None,
    profile: ProfileView | None = None,
) -> Rendered:
    """The pull request title and body for a candidate that passed the gate."""
    env = _environment()
    context = _context(report, changes, repo_url) | {"cost": cost, "profile": profile}
    title = env.get_template("pr_title.md.j2").render(context).strip()
    return Rendered(title, env.get_template("pr_body.md.j2").render(context))


def render_rejection(report: GateReport, *, repo_url: str | None = None) -> str:
    """The job summary for a candidate the gate rejected."""
    return _environment().get_template("rejected.md.j2").render(_context(report, [], repo_url) | {"cost": None})


def _context(report: GateReport, changes: list[PinChange], repo_url: str | None) -> dict[str, Any]:
    candidate, champion = report.candidate, report.champion
    return {
        "group": candidate.group,
        "candidate": candidate,
        "champion": champion,
        "passed": report.passed,
        "reasons": report.reasons,
        "rows": [_row(check) for check in report.checks],
        "rules": [describe_rule(c.name, c.rule) for c in report.checks],
        "split": report.split,
        "chart": _chart(report),
        "lineage": _lineage(candidate, champion, repo_url),
        "hyperparameters": _hyperparameters(candidate, champion),
        "pins": [_pin_row(c, candidate) for c in changes],
        "importance": importance_view(candidate, champion),
    }


def _row(check: MetricCheck) -> dict[str, str]:
    rule = check.rule
    return {
        "metric": f"{check.name} {'↑' if rule.direction == 'higher' else '↓'}",
        "candidate": _number(check.candidate),
        "champion": _number(check.champion),
        "delta": _delta(check),
        "threshold": _mark(check.threshold_ok, _threshold_text(rule)),
        "improvement": _mark(check.improvement_ok, _improvement_text(rule)),
        "passed": PASS if check.passed else FAIL,
    }


def _number(value: float | None) -> str:
    return NA if value is None else f"{value:.4f}"


def _delta(check: MetricCheck) -> str:
    if check.delta is None:
        return NA
    if check.rule.improvement == "relative" and check.champion:
        return f"{check.delta:+.4f} ({check.delta / abs(check.champion):+.2%})"
    return f"{check.delta:+.4f}"


def _mark(ok: bool | None, text: str) -> str:
    if ok is None:
        return NA
    return f"{PASS if ok else FAIL} {text}"


def _threshold_text(rule: GateRule) -> str:
    return "" if rule.threshold is None else f"{'≥' if rule.direction == 'higher' else '≤'} {rule.threshold:g}"


def _improvement_text(rule: GateRule) -> str:
    """The bar on Δ = candidate − champion, in the table's own terms."""
    bar = rule.min_improvement if rule.direction == "higher" else -rule.min_improvement
    amount = f"{bar:+.2%}" if rule.improvement == "relative" else f"{bar:+g}"
    if bar == 0:
        amount = "0"
    return f"Δ {'≥' if rule.direction == 'higher' else '≤'} {amount}"


def _chart(report: GateReport) -> dict[str, Any]:
    names = [c.name for c in report.checks]
    bars = [c.candidate or 0.0 for c in report.checks]
    line = [c.champion or 0.0 for c in report.checks] if report.champion is not None else []
    values = bars + line
    low = max(0.0, math.floor(min(values) * 10) / 10 - 0.1) if values else 0.0
    high = 1.0 if max(values, default=1.0) <= 1 else math.ceil(max(values))
    return {
        "names": ", ".join(names),
        "bar": ", ".join(f"{v:.4f}" for v in bars),
        "line": ", ".join(f"{v:.4f}" for v in line),
        "low": f"{low:g}",
        "high": f"{high:g}",
    }


def _commit(commit: object, repo_url: str | None) -> str:
    text = str(commit or "")
    if not text:
        return NA
    sha = text.removesuffix("-dirty")
    short = f"`{sha[:12]}`" + (" (dirty tree)" if text.endswith("-dirty") else "")
    if repo_url and re.fullmatch(r"[0-9a-f]{40}", sha):
        return f"[{short}]({repo_url}/commit/{sha})"
    return short


def _link(url: object, label: str) -> str:
    return f"[{label}]({url})" if url else NA


def _lineage_of(model: ModelVersion, repo_url: str | None) -> dict[str, str]:
    lin = model.lineage
    execution = lin.get("pipeline_execution_arn") or lin.get("pipeline_execution")
    digest = str(lin.get("data_digest") or "")
    return {
        "package": f"`{model.arn}`",
        "registered": model.created_at,
        "status": model.status,
        "git commit": _commit(lin.get("git_commit"), repo_url),
        "data": f"`{lin['data_source']}`" if lin.get("data_source") else NA,
        "data digest": f"`sha256:{digest[:12]}…`" if digest else NA,
        "artifact sha256": f"`{model.sha256}`",
        "training run": _link(lin.get("run_url"), "workflow run"),
        "pipeline execution": f"`{execution}`" if execution else NA,
        "backend": str(lin.get("backend") or NA),
    }


def _lineage(candidate: ModelVersion, champion: ModelVersion | None, repo_url: str | None) -> list[dict[str, str]]:
    mine = _lineage_of(candidate, repo_url)
    theirs = _lineage_of(champion, repo_url) if champion is not None else {}
    return [{"field": key, "candidate": mine[key], "champion": theirs.get(key, NA)} for key in mine]


def _hyperparameters(candidate: ModelVersion, champion: ModelVersion | None) -> list[dict[str, str]]:
    mine = candidate.lineage.get("hyperparameters") or {}
    theirs = (champion.lineage.get("hyperparameters") or {}) if champion is not None else {}
    rows = []
    for name in sorted({*mine, *theirs}):
        a, b = mine.get(name), theirs.get(name)
        changed = champion is not None and a != b
        rows.append(
            {
                "name": name,
                "candidate": _hp(a),
                "champion": _hp(b) if champion else NA,
                "changed": "✏️" if changed else "",
            }
        )
    return rows


def _hp(value: object) -> str:
    return NA if value is None else f"`{value}`"


def _pin_row(change: PinChange, candidate: ModelVersion) -> dict[str, str]:
    before = change.old.get("version")
    return {
        "file": f"config/{change.path.name}",
        "before": f"v{before}" if before else "(empty)",
        "after": f"v{candidate.version}",
        "changed": "yes" if change.changed else "no (already pinned)",
    }
