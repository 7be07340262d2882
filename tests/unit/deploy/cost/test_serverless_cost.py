"""What a serverless environment costs in `mlops plan` and the promotion PR: the fixed part, or per request."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from deploy.cli.app import main
from deploy.config import load_environment
from deploy.config.schema import EnvironmentConfig
from deploy.cost.estimate import endpoint_cost, environment_cost
from deploy.cost.prices import Prices, PriceTable
from deploy.promotion.cost import cost_view
from tests.conftest import REPO
from tests.unit.deploy.live_state import matching_live_state

TABLE = Prices(PriceTable.load())
INSTANCES = "  instance_type: ml.m5.large\n  instance_count: 1\n"


def staging(**serverless: Any) -> EnvironmentConfig:
    data = load_environment(REPO / "config", "staging").model_dump(exclude_unset=True)
    data["endpoint"] = {k: v for k, v in data["endpoint"].items() if k not in ("instance_type", "instance_count")}
    data["endpoint"]["serverless"] = {"memory_size_mb": 2048, "max_concurrency": 5, **serverless}
    return EnvironmentConfig.model_validate(data)


def test_without_provisioned_concurrency_nothing_is_billed_while_idle() -> None:
    cost = endpoint_cost(TABLE, "us-east-1", staging().endpoint)
    assert (
        cost.describe()
        == "billed per request, nothing while idle (serverless 2048 MB, $0.0000200/GB-second of compute)"
    )
    assert cost.monthly_low == cost.monthly_high == 0


def test_provisioned_concurrency_is_a_fixed_monthly_cost() -> None:
    cost = endpoint_cost(TABLE, "us-east-1", staging(provisioned_concurrency=2).endpoint)
    # 2 provisioned × 2 GB × 730 h × 3600 s × $0.0000048 per GB-second = $50.46.
    assert cost.monthly_low == pytest.approx(2 * 2 * 730 * 3600 * 0.0000048)
    assert cost.describe() == (
        "$50.46/month for provisioned concurrency (serverless 2048 MB × 2), plus requests at $0.0000200/GB-second"
    )


def test_plan_line_from_an_instance_to_serverless_saves_the_instance_hours() -> None:
    instance = load_environment(REPO / "config", "staging")
    line = environment_cost(TABLE, "us-east-1", staging(), matching_live_state(instance))
    assert line.startswith(
        "monthly cost: $83.95/month (ml.m5.large × 1) → billed per request, nothing while idle "
        "(serverless 2048 MB, $0.0000200/GB-second of compute), -$83.95/month"
    )
    assert "[us-east-1; prices: table us-east-1 as of 2026-12-01]" in line


def test_plan_line_when_provisioned_concurrency_changes() -> None:
    live = matching_live_state(staging(provisioned_concurrency=1))
    line = environment_cost(TABLE, "us-east-1", staging(provisioned_concurrency=2), live)
    assert "(serverless 2048 MB × 1)" in line and "(serverless 2048 MB × 2)" in line
    assert ", +$25.23/month" in line
    unchanged = environment_cost(TABLE, "us-east-1", staging(), matching_live_state(staging()))
    assert "(unchanged)" in unchanged


def test_config_overrides_the_serverless_prices() -> None:
    prices = Prices(PriceTable.load(None, {"provisioned_gb_second": 0.00001}))
    cost = endpoint_cost(prices, "eu-west-1", staging(provisioned_concurrency=1, memory_size_mb=1024).endpoint)
    assert cost.monthly_low == pytest.approx(730 * 3600 * 0.00001)
    assert cost.price.source == "config override" and cost.price.compute_gb_second == 0.00002


def test_promotion_report_serving_line_for_a_serverless_environment() -> None:
    from tests.unit.deploy.promotion.test_report_golden import CANDIDATE

    envs = {"staging": staging(), "prod": load_environment(REPO / "config", "prod")}
    view = cost_view(CANDIDATE, TABLE, "us-east-1", envs)
    rows = {row["env"]: row["monthly"] for row in view.serving}
    assert rows["staging"].startswith("billed per request, nothing while idle (serverless 2048 MB")
    assert rows["prod"] == "$167.90/month (ml.m5.large × 2)"


def test_mlops_plan_prints_the_serverless_cost(repo_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = repo_copy / "config" / "staging.yaml"
    text = path.read_text()
    assert INSTANCES in text
    serverless = "  serverless: {memory_size_mb: 1024, max_concurrency: 10, provisioned_concurrency: 1}\n"
    path.write_text(text.replace(INSTANCES, serverless))
    assert main(["plan", "--env", "staging"]) == 10
    out = capsys.readouterr().out
    assert "endpoint.serverless: — → memory_size_mb=1024, max_concurrency=10, provisioned_concurrency=1" in out
    assert (
        "monthly cost: $12.61/month for provisioned concurrency (serverless 1024 MB × 1), "
        "plus requests at $0.0000200/GB-second (new)"
    ) in out
    assert "endpoint.instance_type" not in out
