"""The rendered pull request body, compared with a checked-in golden file.

Regenerate after an intended template change with `UPDATE_GOLDEN=1 pytest tests/unit/deploy/promotion`,
then read the diff (and the file on GitHub) before committing it.
"""

from __future__ import annotations

import os
from pathlib import Path

from deploy.config import load_environment
from deploy.cost.prices import Prices, PriceTable
from deploy.promotion.cost import CostView, cost_view
from deploy.promotion.gate import evaluate_gate
from deploy.promotion.pins import PinChange
from deploy.promotion.profile import profile_view
from deploy.promotion.report import render_promotion, render_rejection
from tests.conftest import REPO
from tests.unit.deploy.promotion.sample import SPLIT, evaluation, gate, importance, model
from tests.unit.deploy.promotion.statistics_sample import CANDIDATE_STATS, CHAMPION_STATS

GOLDEN = Path(__file__).parent / "golden" / "pr_body.md"
REPO_URL = "https://github.com/example/churn-mlops"

JOBS = {
    "preprocess": {
        "use": "processing",
        "instance_type": "ml.m5.large",
        "instance_count": 1,
        "billed_seconds": 184,
        "run_seconds": 184,
        "spot": False,
    },
    "train": {
        "use": "training",
        "instance_type": "ml.m5.xlarge",
        "instance_count": 1,
        "billed_seconds": 216,
        "run_seconds": 720,
        "spot": True,
    },
    "evaluate": {
        "use": "processing",
        "instance_type": "ml.m5.large",
        "instance_count": 1,
        "billed_seconds": 95,
        "run_seconds": 95,
        "spot": False,
    },
}  # fmt: skip
CHAMPION_IMPORTANCE = {"contract": 0.081, "tenure_months": 0.064, "monthly_charges": 0.022, "support_calls": 0.018,
                       "payment_method": 0.009, "age": 0.001}  # fmt: skip
CANDIDATE_IMPORTANCE = {"contract": 0.079, "support_calls": 0.058, "tenure_months": 0.052, "monthly_charges": 0.020,
                        "payment_method": 0.008, "age": 0.0004, "data_usage_gb": 0.012}  # fmt: skip
CHAMPION = model(
    3,
    evaluation(0.8421, 0.6310, 0.8105) | {"feature_importance": importance(CHAMPION_IMPORTANCE)},
    git_commit="1" * 40,
    data_source="s3://example-bucket/churn/2025-01.parquet",
    data_digest="a" * 64,
    hyperparameters={"algorithm": "hist_gradient_boosting", "learning_rate": 0.1, "max_iter": 100},
    run_url=f"{REPO_URL}/actions/runs/111",
    backend="sagemaker",
    pipeline_execution_arn="arn:aws:sagemaker:eu-west-1:123456789012:pipeline/churn-training/execution/abc123",
)
CANDIDATE = model(
    4,
    evaluation(0.8587, 0.6402, 0.8093) | {"feature_importance": importance(CANDIDATE_IMPORTANCE)},
    git_commit="2" * 40,
    data_source="s3://example-bucket/churn/2025-02.parquet",
    data_digest="b" * 64,
    hyperparameters={"algorithm": "hist_gradient_boosting", "learning_rate": 0.05, "max_iter": 200},
    run_url=f"{REPO_URL}/actions/runs/222",
    backend="sagemaker",
    jobs=JOBS,
    pipeline_execution_arn="arn:aws:sagemaker:eu-west-1:123456789012:pipeline/churn-training/execution/def456",
)


PROFILE = profile_view(CANDIDATE_STATS, CHAMPION_STATS)


def changes() -> list[PinChange]:
    old = {"version": 3, "package_arn": CHAMPION.arn, "sha256": CHAMPION.sha256}
    return [PinChange(env, Path(f"config/{env}.yaml"), "before", "after", old) for env in ("prod", "staging")]


def cost() -> CostView:
    envs = {env: load_environment(REPO / "config", env) for env in ("staging", "prod")}
    return cost_view(CANDIDATE, Prices(PriceTable.load()), "eu-west-1", envs)


def test_pr_body_matches_golden_file() -> None:
    report = evaluate_gate(CANDIDATE, CHAMPION, gate())
    assert report.passed
    rendered = render_promotion(report, changes(), repo_url=REPO_URL, cost=cost(), profile=PROFILE)
    assert rendered.title == "Promote churn-classifier v4 (replaces v3)"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(rendered.body, encoding="utf-8")
    assert rendered.body == GOLDEN.read_text(encoding="utf-8")


def test_body_parts() -> None:
    body = render_promotion(evaluate_gate(CANDIDATE, CHAMPION, gate()), changes(), repo_url=REPO_URL).body
    assert "```mermaid\nxychart-beta\n" in body
    assert "    bar [0.8587, 0.6402, 0.8093]\n    line [0.8421, 0.6310, 0.8105]\n" in body
    assert f"[`{'2' * 12}`]({REPO_URL}/commit/{'2' * 40})" in body
    assert "| accuracy ↑ | 0.8093 | 0.8105 | -0.0012 | ✅ ≥ 0.7 | ✅ Δ ≥ -0.01 | ✅ |" in body


def test_first_promotion_and_rejection_render() -> None:
    first = render_promotion(evaluate_gate(CANDIDATE, None, gate()), changes())
    assert first.title == "Promote churn-classifier v4 (first promotion)"
    assert "line [" not in first.body and "No champion is pinned yet" in first.body
    weak = model(5, evaluation(0.70, 0.40, 0.60, split={**SPLIT, "test_rows": 10}))
    summary = render_rejection(evaluate_gate(weak, CHAMPION, gate()))
    assert summary.startswith("## ❌ `churn-classifier` v5 rejected by the quality gate")
    assert "- auc: 0.7000 is below the threshold 0.75" in summary
    assert "[!WARNING]" in summary  # v5 was scored on another split


def test_importance_side_by_side_with_rank_moves() -> None:
    body = render_promotion(evaluate_gate(CANDIDATE, CHAMPION, gate()), changes(), repo_url=REPO_URL).body
    assert "| `support_calls` | +0.0580 ± 0.0020 (#2) | +0.0180 ± 0.0020 (#4) | ↑2 |" in body
    assert "| `tenure_months` | +0.0520 ± 0.0020 (#3) | +0.0640 ± 0.0020 (#2) | ↓1 |" in body
    assert "| `data_usage_gb` | +0.0120 ± 0.0020 (#5) | — | new |" in body
    assert "Largest rank moves since v3: `support_calls` moved from #4 to #2." in body


def test_no_importance_no_section() -> None:
    plain = model(6, evaluation(0.86, 0.64, 0.81))
    body = render_promotion(evaluate_gate(plain, None, gate()), changes()).body
    assert "Feature importance" not in body


def test_cost_section_prices_each_job_and_every_environment() -> None:
    view = cost()
    # ml.m5.large 0.115 $/h × 184 s + ml.m5.xlarge 0.23 $/h × 216 s (spot: billed 216 of 720 s) + 0.115 × 95 s
    assert view.total == "$0.02" and not view.estimate
    assert view.jobs[1] == {"job": "train", "instance": "ml.m5.xlarge × 1", "billed": "3 min 36 s", "cost": "$0.01",
                            "note": "spot, saved 70%"}  # fmt: skip
    assert [row["monthly"] for row in view.serving] == [
        "$83.95/month (ml.m5.large × 1)",
        "$167.90/month (ml.m5.large × 2)",
    ]
    assert view.sources.startswith("eu-west-1, table us-east-1 as of ")
    body = render_promotion(evaluate_gate(CANDIDATE, CHAMPION, gate()), changes(), cost=view).body
    assert (
        "Training run of v4: **$0.02**." in body and "| prod | `churn-prod` | $167.90/month (ml.m5.large × 2) |" in body
    )


def test_a_local_run_is_labelled_an_estimate() -> None:
    local = model(7, evaluation(0.86, 0.64, 0.81), jobs={"train": {"use": "training", "instance_type": "ml.m5.large",
                  "billed_seconds": 30, "estimate": True}})  # fmt: skip
    view = cost_view(local, Prices(PriceTable.load()), "us-east-1", {})
    assert view.estimate and view.jobs[0]["billed"] == "30 s"
    body = render_promotion(evaluate_gate(local, None, gate()), changes(), cost=view).body
    assert "(an estimate: the local step times priced as the SageMaker instances in `config/pipeline.yaml`)" in body


def test_profile_puts_the_largest_shift_first() -> None:
    rows = {row["feature"]: row for row in PROFILE.features}
    assert [row["feature"] for row in PROFILE.features] == ["monthly_charges", "contract", "age", "tenure_months"]
    assert rows["monthly_charges"]["shift"] == "0.43 σ"  # every quantile 10 higher, σ 23
    assert rows["contract"]["shift"] == "10.0 pts"  # 10 % of rows moved from month-to-month to two-year
    assert rows["age"] | {"shift": None} == {
        "feature": "age", "completeness": "88.0%", "champion_completeness": "95.0%",
        "candidate": "21.1 / 49 / 76.9", "champion": "21.1 / 49 / 76.9", "shift": None,
    }  # fmt: skip
    assert rows["age"]["shift"] == "0.00 σ; -7.0 pts complete"  # more missing ages rank as a 0.07 shift
    assert rows["contract"]["candidate"] == "month-to-month 40%, one-year 30%, two-year 30%"
    assert PROFILE.summary == [
        {"what": "training rows", "candidate": "17,150", "champion": "16,800"},
        {"what": "positive labels", "candidate": "28.1%", "champion": "26.2%"},
    ]
    assert PROFILE.chart == {
        "names": "monthly_charges, contract, age, tenure_months",
        "bar": "0.435, 0.100, 0.070, 0.000",
        "high": "0.5",
    }


def test_first_promotion_profile_has_no_shift_column() -> None:
    view = profile_view(CANDIDATE_STATS, None)
    body = render_promotion(evaluate_gate(CANDIDATE, None, gate()), changes(), profile=view).body
    assert view.chart is None and 'xychart-beta\n    title "Training data shift' not in body
    assert "| feature | complete | candidate: p5 / median / p95, or top shares | \n" in body
    assert profile_view(None, CHAMPION_STATS) is None
