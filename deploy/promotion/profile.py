"""The data-profile rows of the promotion report: the candidate's training data next to the champion's (control plane).

Reads the `statistics.json` baselines the pipeline's baseline step registers with each
version (SageMaker Model Monitor's shape, with 101 percentiles per numeric feature). Each
feature gets a shift score, largest first, so a reviewer sees at once whether the training
data changed shape since the champion:

- numeric: the mean absolute difference of the two quantile functions (the 1-Wasserstein
  distance) in units of the champion's standard deviation: 0.1 σ is noise, 1 σ a new world;
- categorical: the total variation distance of the value shares, in percentage points (half
  the sum of the absolute share differences): the share of rows that would have to change
  category to turn one distribution into the other.

A change in completeness (the share of present values) of a point or more is added to the
shift text, and counts toward the order as a share (7 points fewer present values ranks
like a 0.07 shift).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

NA = "—"
CHART_FEATURES = 10


@dataclass(frozen=True)
class ProfileView:
    summary: list[dict[str, str]]
    features: list[dict[str, str]]
    chart: dict[str, str] | None  # xychart-beta of the shift scores, when there is a champion


def _features(stats: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    return {f["name"]: f for f in (stats or {}).get("features", [])}


def _common(entry: dict[str, Any]) -> dict[str, int]:
    block = entry.get("numerical_statistics") or entry.get("string_statistics") or {}
    return block.get("common", {})


def _completeness(entry: dict[str, Any] | None) -> float | None:
    if not entry:
        return None
    common = _common(entry)
    total = common.get("num_present", 0) + common.get("num_missing", 0)
    return common.get("num_present", 0) / total if total else None


def _quantiles(entry: dict[str, Any]) -> list[float] | None:
    values = (entry.get("numerical_statistics") or {}).get("distribution", {}).get("quantiles")
    return None if not values or any(v is None for v in values) else [float(v) for v in values]


def _shares(entry: dict[str, Any]) -> dict[str, float]:
    buckets = (entry.get("string_statistics") or {}).get("distribution", {}).get("categorical", {}).get("buckets", [])
    total = sum(int(b["count"]) for b in buckets)
    return {str(b["value"]): int(b["count"]) / total for b in buckets} if total else {}


def _numeric_shift(mine: dict[str, Any], theirs: dict[str, Any]) -> float | None:
    a, b = _quantiles(mine), _quantiles(theirs)
    if a is None or b is None or len(a) != len(b):
        return None
    sigma = float((theirs.get("numerical_statistics") or {}).get("std_dev") or 0)
    distance = sum(abs(x - y) for x, y in zip(a, b, strict=True)) / len(a)
    return distance / sigma if sigma > 0 else (0.0 if distance == 0 else None)


def _categorical_shift(mine: dict[str, Any], theirs: dict[str, Any]) -> float:
    a, b = _shares(mine), _shares(theirs)
    return 0.5 * sum(abs(a.get(k, 0.0) - b.get(k, 0.0)) for k in {*a, *b})


def _describe(entry: dict[str, Any] | None) -> str:
    """p5 / median / p95 of a numeric feature, or its three largest category shares."""
    if not entry:
        return NA
    quantiles = _quantiles(entry)
    if quantiles is not None:
        return f"{quantiles[5]:.4g} / {quantiles[50]:.4g} / {quantiles[95]:.4g}"
    shares = sorted(_shares(entry).items(), key=lambda kv: (-kv[1], kv[0]))
    return ", ".join(f"{value} {share:.0%}" for value, share in shares[:3]) or NA


def _percent(value: float | None) -> str:
    return NA if value is None else f"{value:.1%}"


def _shift(mine: dict[str, Any], theirs: dict[str, Any] | None) -> tuple[float | None, str]:
    if not theirs:
        return None, NA if theirs is None else "new"
    if "string_statistics" in mine:
        score: float | None = _categorical_shift(mine, theirs)
        text = f"{score * 100:.1f} pts"
    else:
        score = _numeric_shift(mine, theirs)
        text = NA if score is None else f"{score:.2f} σ"
    a, b = _completeness(mine), _completeness(theirs)
    if a is not None and b is not None and abs(a - b) >= 0.01:
        text += f"; {(a - b) * 100:+.1f} pts complete"
        score = max(score or 0.0, abs(a - b))
    return score, text


def profile_view(candidate: dict[str, Any] | None, champion: dict[str, Any] | None) -> ProfileView | None:
    """Summary rows, per-feature rows (largest shift first) and a chart; None without the candidate's profile."""
    mine = _features(candidate)
    if not mine:
        return None
    theirs = _features(champion) if champion else {}
    rows = []
    for name, entry in mine.items():
        score, shift = _shift(entry, theirs.get(name) if champion else None)
        rows.append(
            (
                score,
                {
                    "feature": name,
                    "completeness": _percent(_completeness(entry)),
                    "champion_completeness": _percent(_completeness(theirs.get(name))),
                    "candidate": _describe(entry),
                    "champion": _describe(theirs.get(name)),
                    "shift": shift,
                },
            )
        )
    if champion:
        rows.sort(key=lambda r: -(r[0] if r[0] is not None else float("inf")))
    return ProfileView(
        _summary(candidate or {}, champion), [row for _, row in rows], _chart(rows) if champion else None
    )


def _summary(candidate: dict[str, Any], champion: dict[str, Any] | None) -> list[dict[str, str]]:
    def rows(stats: dict[str, Any] | None) -> str:
        count = (stats or {}).get("dataset", {}).get("item_count")
        return NA if count is None else f"{int(count):,}"

    def positive(stats: dict[str, Any] | None) -> str:
        value = (stats or {}).get("label", {}).get("positive_fraction")
        return NA if value is None else f"{float(value):.1%}"

    return [
        {"what": "training rows", "candidate": rows(candidate), "champion": rows(champion)},
        {"what": "positive labels", "candidate": positive(candidate), "champion": positive(champion)},
    ]


def _chart(rows: list[tuple[float | None, dict[str, str]]]) -> dict[str, str] | None:
    scored = [(score, row["feature"]) for score, row in rows if score is not None][:CHART_FEATURES]
    if not scored:
        return None
    high = max(0.5, max(score for score, _ in scored))
    return {
        "names": ", ".join(name for _, name in scored),
        "bar": ", ".join(f"{score:.3f}" for score, _ in scored),
        "high": f"{high:.2g}",
    }
