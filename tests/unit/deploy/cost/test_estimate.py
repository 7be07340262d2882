"""Monthly serving cost of an environment, the plan's delta line, and the cost of a training run."""

from __future__ import annotations

from dataclasses import replace

import pytest

from deploy.config import load_environment
from deploy.cost.estimate import JobCost, delta_line, environment_cost, run_cost, serving_cost
from deploy.cost.prices import Price, Prices, PriceTable
from tests.conftest import REPO
from tests.unit.deploy.live_state import matching_live_state

PRICES = Prices(PriceTable.load({"hosting": {"ml.m5.large": 0.1}}))


def prod(**endpoint):
    cfg = load_environment(REPO / "config", "prod")
    return cfg.model_copy(update={"endpoint": cfg.endpoint.model_copy(update=endpoint)})


def test_doubling_the_instance_count_doubles_the_bill() -> None:
    live = matching_live_state(prod(instance_count=2))
    line = environment_cost(PRICES, "us-east-1", prod(instance_count=4), live)
    # 0.1 $/h × 730 h × 2 = 146; × 4 = 292.
    assert line.startswith(
        "monthly cost: $146.00/month (ml.m5.large × 2) → $292.00/month (ml.m5.large × 4), +$146.00/month"
    )
    assert "config override" in line


def test_a_smaller_instance_saves() -> None:
    live = matching_live_state(prod(instance_type="ml.m5.xlarge"))
    line = environment_cost(Prices(PriceTable.load()), "us-east-1", prod(), live)
    assert "$335.80/month (ml.m5.xlarge × 2) → $167.90/month (ml.m5.large × 2), -$167.90/month" in line


def test_unchanged_and_new_endpoints() -> None:
    cfg = prod()
    assert "$146.00/month (ml.m5.large × 2) (unchanged)" in environment_cost(PRICES, "r", cfg, matching_live_state(cfg))
    assert "$146.00/month (ml.m5.large × 2) (new)" in environment_cost(PRICES, "r", cfg, None)


def test_autoscaling_shows_the_range() -> None:
    autoscaling = {"enabled": True, "min_capacity": 2, "max_capacity": 4}
    cost = serving_cost(PRICES, "r", "ml.m5.large", 2, autoscaling)
    assert cost.describe() == "$146.00–$292.00/month (ml.m5.large × 2–4)"
    fixed = serving_cost(PRICES, "r", "ml.m5.large", 2, None)
    assert delta_line(cost, fixed).endswith("+$0.00 to +$146.00/month")


def test_an_unpriced_instance_says_how_to_price_it() -> None:
    cost = serving_cost(PRICES, "r", "ml.x99.large", 1, None)
    assert "no price known (add it to cost.price_overrides)" in cost.describe()
    assert "unknown/month" in delta_line(cost, serving_cost(PRICES, "r", "ml.m5.large", 1, None))


def test_a_live_endpoint_without_instances_is_not_billed() -> None:
    cfg = prod()
    live = replace(matching_live_state(cfg), instance_type=None, instance_count=None)
    assert "(new)" in environment_cost(PRICES, "r", cfg, live)


def test_training_run_cost_with_spot_savings() -> None:
    price = Price("training", "ml.m5.large", "us-east-1", 0.115, "table")
    spot = JobCost("train", "training", "ml.m5.large", 1, billed_seconds=300, run_seconds=1000, price=price)
    on_demand = JobCost(
        "preprocess", "processing", "ml.m5.large", 2, billed_seconds=3600, run_seconds=3600, price=price
    )
    assert spot.usd == pytest.approx(0.115 * 300 / 3600) and spot.spot_saving == pytest.approx(0.7)
    assert on_demand.spot_saving is None and on_demand.usd == pytest.approx(0.23)
    assert run_cost([spot, on_demand]) == pytest.approx(0.23 + 0.115 * 300 / 3600)
    assert run_cost([replace(spot, price=None)]) is None
