"""The feature-importance rows of the promotion report: candidate and champion side by side (control plane).

Reads the `feature_importance` block that the evaluation step writes into `evaluation.json`
(permutation importance on the test split, `ml/importance.py`). A reviewer sees which
features the candidate relies on, how sure that is (the spread over repeats), and which
features moved most in rank since the champion: a large move with unchanged metrics often
means the model found a different shortcut, and is worth a look before merging.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from deploy.registry import ModelVersion

NA = "—"
MOVE_CALLOUT = 2  # a rank change of at least this many places is called out
MAX_CALLOUTS = 3


@dataclass(frozen=True)
class ImportanceView:
    rows: list[dict[str, str]]
    callouts: list[str]
    method: str


def _block(model: ModelVersion | None) -> dict[str, Any]:
    if model is None:
        return {}
    return (model.evaluation or {}).get("feature_importance") or {}


def _value(entry: dict[str, Any] | None) -> str:
    if not entry:
        return NA
    return f"{entry['mean']:+.4f} ± {entry['std']:.4f} (#{entry['rank']})"


def _move(mine: dict[str, Any] | None, theirs: dict[str, Any] | None) -> int | None:
    """Places gained (positive) or lost since the champion; None when either side lacks the feature."""
    if not mine or not theirs:
        return None
    return int(theirs["rank"]) - int(mine["rank"])


def _arrow(move: int | None, has_champion: bool) -> str:
    if move is None:
        return "new" if has_champion else NA
    if move == 0:
        return "="
    return f"↑{move}" if move > 0 else f"↓{-move}"


def importance_view(candidate: ModelVersion, champion: ModelVersion | None) -> ImportanceView | None:
    """Rows in the candidate's rank order, and the biggest rank moves in words; None without importance."""
    mine, theirs = _block(candidate), _block(champion)
    if not mine.get("features"):
        return None
    features, old = mine["features"], theirs.get("features") or {}
    has_champion = bool(old)
    rows, moves = [], []
    for name in sorted(features, key=lambda n: features[n]["rank"]):
        move = _move(features[name], old.get(name))
        rows.append(
            {
                "feature": name,
                "candidate": _value(features[name]),
                "champion": _value(old.get(name)) if has_champion else NA,
                "move": _arrow(move, has_champion),
            }
        )
        if move is not None and abs(move) >= MOVE_CALLOUT:
            moves.append((abs(move), name, old[name]["rank"], features[name]["rank"]))
    callouts = [
        f"`{name}` moved from #{before} to #{after}"
        for _, name, before, after in sorted(moves, key=lambda m: (-m[0], m[1]))[:MAX_CALLOUTS]
    ]
    method = f"{mine.get('method', 'permutation')} importance, drop in {mine.get('metric', 'auc')}"
    method += f" over {mine.get('repeats', '?')} repeats on {mine.get('rows', '?')} test rows"
    return ImportanceView(rows, callouts, method)
