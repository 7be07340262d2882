"""The quality gate: is the candidate good enough to replace the champion? (control plane)

Pure logic, no I/O: two `ModelVersion`s and the `gate:` block of `config/pipeline.yaml` in,
a `GateReport` out, with one `MetricCheck` per gated metric and a verdict.

Per metric, a `GateRule` says which direction is better and sets two independent bars:

* `threshold`: an absolute bound the candidate must meet (≥ for `higher`, ≤ for `lower`).
* `min_improvement`: the change over the champion required in the better direction, in
  metric units (`improvement: absolute`) or as a fraction of the champion's value
  (`relative`). It may be negative to tolerate noise: `-0.01` lets a candidate be at most
  0.01 worse. With no champion (nothing pinned yet) only the thresholds apply.

Test splits. `evaluation.json` may carry `dataset.test_rows` and `dataset.test_sha256`. When
both models carry them and they differ, the two were scored on different test sets and the
comparison with the champion is not like for like. `gate.on_split_mismatch` decides:
`compare` (the default) compares anyway and the report says so in plain words, because every
data refresh changes the split and blocking on it would freeze promotions; `fail` rejects
the candidate until the champion is re-evaluated on the same split. When either model lacks
the block the split is reported as unknown and the metrics are compared.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from deploy.config.schema import GateConfig, GateRule
from deploy.registry import ModelVersion

# Metrics are floats from JSON: a difference like 0.81 - 0.80 must meet a 0.01 bar.
EPSILON = 1e-9

SplitState = Literal["same", "different", "unknown", "no-champion"]


@dataclass(frozen=True)
class MetricCheck:
    """One gated metric: the two values, the delta and what each bar said."""

    name: str
    rule: GateRule
    candidate: float | None
    champion: float | None
    threshold_ok: bool | None  # None: the rule sets no threshold
    improvement_ok: bool | None  # None: nothing to compare with
    reasons: tuple[str, ...]

    @property
    def passed(self) -> bool:
        present = self.candidate is not None
        return present and self.threshold_ok is not False and self.improvement_ok is not False

    @property
    def delta(self) -> float | None:
        """candidate − champion, in metric units (sign independent of direction)."""
        if self.candidate is None or self.champion is None:
            return None
        return self.candidate - self.champion

    @property
    def gain(self) -> float | None:
        """The change in the better direction, in the rule's units (absolute or relative)."""
        return _gain(self.rule, self.candidate, self.champion)


@dataclass(frozen=True)
class SplitCheck:
    """Whether candidate and champion were scored on the same test split."""

    state: SplitState
    candidate: dict[str, Any]
    champion: dict[str, Any]
    policy: Literal["compare", "fail"]

    @property
    def blocks(self) -> bool:
        return self.state == "different" and self.policy == "fail"

    @property
    def note(self) -> str:
        if self.state == "different":
            what = f"candidate {_split_words(self.candidate)}, champion {_split_words(self.champion)}"
            if self.policy == "fail":
                return f"the test splits differ ({what}); gate.on_split_mismatch is 'fail'"
            return (
                f"the test splits differ ({what}); compared anyway (gate.on_split_mismatch: compare), "
                "so the deltas mix model and data changes"
            )
        if self.state == "same":
            return f"same test split ({_split_words(self.candidate)})"
        if self.state == "unknown":
            return "test split unknown (an evaluation lacks dataset.test_sha256); metrics compared as they are"
        return "no champion to compare with"


@dataclass(frozen=True)
class GateReport:
    candidate: ModelVersion
    champion: ModelVersion | None
    checks: tuple[MetricCheck, ...]
    split: SplitCheck

    @property
    def passed(self) -> bool:
        return not self.split.blocks and all(c.passed for c in self.checks)

    @property
    def reasons(self) -> list[str]:
        """One line per failed bar, naming the metric; empty when the gate passed."""
        found = [r for c in self.checks for r in c.reasons]
        if self.split.blocks:
            found.insert(0, f"split: {self.split.note}")
        return found


def evaluate_gate(candidate: ModelVersion, champion: ModelVersion | None, gate: GateConfig) -> GateReport:
    """Check every gated metric of `candidate` against its thresholds and against `champion`."""
    checks = tuple(_check(name, rule, candidate, champion) for name, rule in gate.metrics.items())
    return GateReport(candidate, champion, checks, _split(candidate, champion, gate.on_split_mismatch))


def _check(name: str, rule: GateRule, candidate: ModelVersion, champion: ModelVersion | None) -> MetricCheck:
    value = candidate.metric(name)
    base = champion.metric(name) if champion is not None else None
    reasons: list[str] = []
    if value is None:
        reasons.append(f"{name}: the candidate's evaluation has no '{name}' metric")
        return MetricCheck(name, rule, None, base, None, None, tuple(reasons))
    threshold_ok = None
    if rule.threshold is not None:
        threshold_ok = _meets(rule, value, rule.threshold)
        if not threshold_ok:
            word = "below" if rule.direction == "higher" else "above"
            reasons.append(f"{name}: {value:.4f} is {word} the threshold {rule.threshold:g}")
    improvement_ok = None
    gain = _gain(rule, value, base)
    if gain is not None:
        improvement_ok = gain >= rule.min_improvement - EPSILON
        if not improvement_ok:
            reasons.append(
                f"{name}: {value:.4f} is {_gain_words(rule, gain)} than the champion's {base:.4f}; "
                f"required: {describe_improvement(rule)}"
            )
    return MetricCheck(name, rule, value, base, threshold_ok, improvement_ok, tuple(reasons))


def _meets(rule: GateRule, value: float, bound: float) -> bool:
    if rule.direction == "higher":
        return value >= bound - EPSILON
    return value <= bound + EPSILON


def _gain(rule: GateRule, value: float | None, base: float | None) -> float | None:
    if value is None or base is None:
        return None
    gain = value - base if rule.direction == "higher" else base - value
    if rule.improvement == "absolute":
        return gain
    if base == 0:
        return 0.0 if gain == 0 else float("inf") if gain > 0 else float("-inf")
    return gain / abs(base)


def _gain_words(rule: GateRule, gain: float) -> str:
    amount = f"{abs(gain):.2%}" if rule.improvement == "relative" else f"{abs(gain):.4f}"
    return f"{amount} {'better' if gain >= 0 else 'worse'}"


def describe_improvement(rule: GateRule) -> str:
    """`min_improvement` in words: "at least 0.01 better", "at most 1.00% worse", "no worse"."""
    bar = rule.min_improvement
    if bar == 0:
        return "no worse than the champion"
    amount = f"{abs(bar):.2%}" if rule.improvement == "relative" else f"{abs(bar):g}"
    if bar > 0:
        return f"at least {amount} better than the champion"
    return f"at most {amount} worse than the champion"


def describe_rule(name: str, rule: GateRule) -> str:
    """The whole rule as one sentence for the PR body."""
    better = "higher" if rule.direction == "higher" else "lower"
    parts = []
    if rule.threshold is not None:
        parts.append(f"{'at least' if rule.direction == 'higher' else 'at most'} {rule.threshold:g}")
    parts.append(describe_improvement(rule))
    return f"{name} ({better} is better): {' and '.join(parts)}"


def _dataset(model: ModelVersion) -> dict[str, Any]:
    block = model.evaluation.get("dataset")
    return dict(block) if isinstance(block, dict) else {}


def _split(candidate: ModelVersion, champion: ModelVersion | None, policy: Literal["compare", "fail"]) -> SplitCheck:
    mine = _dataset(candidate)
    if champion is None:
        return SplitCheck("no-champion", mine, {}, policy)
    theirs = _dataset(champion)
    if not mine.get("test_sha256") or not theirs.get("test_sha256"):
        return SplitCheck("unknown", mine, theirs, policy)
    keys = ("test_sha256", "test_rows")
    same = all(mine.get(k) == theirs.get(k) for k in keys)
    return SplitCheck("same" if same else "different", mine, theirs, policy)


def _split_words(block: dict[str, Any]) -> str:
    rows = block.get("test_rows")
    digest = str(block.get("test_sha256", ""))[:12]
    return f"{rows if rows is not None else '?'} rows, sha256 {digest or '?'}"
