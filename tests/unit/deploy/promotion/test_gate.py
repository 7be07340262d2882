"""The quality gate: thresholds, absolute and relative improvement, direction, test splits."""

from __future__ import annotations

from deploy.promotion.gate import describe_rule, evaluate_gate
from tests.unit.deploy.promotion.sample import SPLIT, evaluation, gate, model


def single(rule: dict, **extra) -> object:
    return gate(metrics={"auc": rule}, **extra)


def test_thresholds_alone_without_champion() -> None:
    good = evaluate_gate(model(1, evaluation(0.80, 0.6, 0.8)), None, gate())
    assert good.passed and good.split.state == "no-champion"
    assert all(c.improvement_ok is None for c in good.checks)
    bad = evaluate_gate(model(1, evaluation(0.74, 0.6, 0.8)), None, gate())
    assert not bad.passed
    assert bad.reasons == ["auc: 0.7400 is below the threshold 0.75"]


def test_absolute_improvement_over_the_champion() -> None:
    champion = model(1, evaluation(0.80, 0.6, 0.8))
    rule = single({"min_improvement": 0.01})
    assert evaluate_gate(model(2, evaluation(0.81, 0.6, 0.8)), champion, rule).passed  # float edge: exactly +0.01
    report = evaluate_gate(model(2, evaluation(0.805, 0.6, 0.8)), champion, rule)
    assert not report.passed
    assert report.reasons == [
        "auc: 0.8050 is 0.0050 better than the champion's 0.8000; required: at least 0.01 better than the champion"
    ]
    assert report.checks[0].delta is not None and round(report.checks[0].delta, 4) == 0.005


def test_negative_min_improvement_tolerates_a_small_drop() -> None:
    champion = model(1, evaluation(0.80, 0.60, 0.80))
    assert evaluate_gate(model(2, evaluation(0.80, 0.595, 0.795)), champion, gate()).passed
    report = evaluate_gate(model(2, evaluation(0.80, 0.58, 0.80)), champion, gate())
    assert [c.name for c in report.checks if not c.passed] == ["f1"]
    assert report.reasons[0].endswith("required: at most 0.01 worse than the champion")


def test_relative_improvement() -> None:
    champion = model(1, evaluation(0.80, 0.6, 0.8))
    rule = single({"min_improvement": 0.02, "improvement": "relative"})
    assert evaluate_gate(model(2, evaluation(0.817, 0.6, 0.8)), champion, rule).passed  # +2.1 %
    report = evaluate_gate(model(2, evaluation(0.812, 0.6, 0.8)), champion, rule)  # +1.5 %
    assert not report.passed
    assert "1.50% better than the champion's 0.8000; required: at least 2.00% better" in report.reasons[0]


def test_direction_lower_flips_threshold_and_improvement() -> None:
    # Pretend auc is an error rate: lower is better.
    rule = single({"direction": "lower", "threshold": 0.3, "min_improvement": 0.01})
    champion = model(1, evaluation(0.25, 0.6, 0.8))
    assert evaluate_gate(model(2, evaluation(0.20, 0.6, 0.8)), champion, rule).passed
    worse = evaluate_gate(model(2, evaluation(0.245, 0.6, 0.8)), champion, rule)
    assert not worse.passed and "0.0050 better" in worse.reasons[0]
    over = evaluate_gate(model(2, evaluation(0.31, 0.6, 0.8)), None, rule)
    assert over.reasons == ["auc: 0.3100 is above the threshold 0.3"]


def test_missing_metric_fails() -> None:
    ev = evaluation(0.9, 0.9, 0.9)
    del ev["binary_classification_metrics"]["f1"]
    report = evaluate_gate(model(2, ev), None, gate())
    assert not report.passed
    assert report.reasons == ["f1: the candidate's evaluation has no 'f1' metric"]


def test_split_mismatch_compare_notes_it() -> None:
    champion = model(1, evaluation(0.80, 0.6, 0.8))
    other = {**SPLIT, "test_sha256": "6" * 64, "test_rows": 3100}
    report = evaluate_gate(model(2, evaluation(0.82, 0.6, 0.8, split=other)), champion, gate())
    assert report.passed
    assert report.split.state == "different" and not report.split.blocks
    assert "compared anyway" in report.split.note and "3100 rows" in report.split.note


def test_split_mismatch_fail_refuses() -> None:
    champion = model(1, evaluation(0.80, 0.6, 0.8))
    other = {**SPLIT, "test_sha256": "6" * 64}
    report = evaluate_gate(model(2, evaluation(0.90, 0.7, 0.9, split=other)), champion, gate(on_split_mismatch="fail"))
    assert not report.passed
    assert all(c.passed for c in report.checks)
    assert report.reasons[0].startswith("split: the test splits differ")


def test_same_or_unknown_split() -> None:
    champion = model(1, evaluation(0.80, 0.6, 0.8))
    same = evaluate_gate(model(2, evaluation(0.81, 0.6, 0.8)), champion, gate(on_split_mismatch="fail"))
    assert same.passed and same.split.state == "same"
    unknown = evaluate_gate(model(2, evaluation(0.81, 0.6, 0.8, split=None)), champion, gate(on_split_mismatch="fail"))
    assert unknown.passed and unknown.split.state == "unknown"


def test_rules_in_words() -> None:
    g = gate(
        metrics={
            "auc": {"threshold": 0.75},
            "f1": {"min_improvement": -0.01},
            "recall": {"direction": "lower", "threshold": 0.2, "min_improvement": 0.05, "improvement": "relative"},
        }
    )
    words = [describe_rule(name, rule) for name, rule in g.metrics.items()]
    assert words == [
        "auc (higher is better): at least 0.75 and no worse than the champion",
        "f1 (higher is better): at most 0.01 worse than the champion",
        "recall (lower is better): at most 0.2 and at least 5.00% better than the champion",
    ]
