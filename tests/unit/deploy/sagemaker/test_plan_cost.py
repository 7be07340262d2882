"""`mlops plan --backend sagemaker` states the monthly cost of an environment and the delta a change implies."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.cli.app import main

from .test_endpoints_cli import pin, register


def test_doubling_prod_instances_prints_the_monthly_delta(sm_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    version, arn, digest = register(sm_repo, "weights")
    pin(sm_repo, version, digest, arn)
    assert main(["deploy", "--env", "prod", "--backend", "sagemaker"]) == 0
    capsys.readouterr()
    prod = sm_repo / "config" / "prod.yaml"
    prod.write_text(prod.read_text().replace("instance_count: 2", "instance_count: 4"))
    assert main(["plan", "--env", "prod", "--backend", "sagemaker", "--prices", "table"]) == 10
    stdout = capsys.readouterr().out
    assert "~ endpoint.instance_count: 2 → 4" in stdout
    # The table's us-east-1 price of ml.m5.large, 0.115 $/h × 730 h × 2 more instances.
    assert "monthly cost: $167.90/month (ml.m5.large × 2) → $335.80/month (ml.m5.large × 4), +$167.90/month" in stdout
    assert "[eu-west-1; prices: table us-east-1 as of" in stdout


def test_plan_asks_the_price_list_api_on_sagemaker_and_falls_back_when_it_cannot(
    sm_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", "--env", "staging", "--backend", "sagemaker"]) == 10
    stdout = capsys.readouterr().out
    assert "monthly cost: $83.95/month (ml.m5.large × 1) (new)" in stdout
    # moto has no Price List API: the answer is the table's, and the line says why.
    assert "prices: table us-east-1 as of" in stdout and "(Price List API not used: " in stdout
