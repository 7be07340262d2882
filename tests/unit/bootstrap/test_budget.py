"""The bootstrap's AWS Budget: monthly SageMaker spend, alerts by email, created only with an address."""

import re
import subprocess

import pytest


def test_budget_watches_sagemaker_spend_and_mails_before_the_bill(template, resources):
    budget = resources["SageMakerBudget"]
    assert budget["Type"] == "AWS::Budgets::Budget" and budget["Condition"] == "CreateBudget"
    data = budget["Properties"]["Budget"]
    assert (data["BudgetType"], data["TimeUnit"]) == ("COST", "MONTHLY")
    assert data["BudgetLimit"] == {"Amount": {"Ref": "BudgetMonthlyLimitUsd"}, "Unit": "USD"}
    assert data["CostFilters"] == {"Service": ["Amazon SageMaker"]}
    alerts = {
        (n["Notification"]["NotificationType"], n["Notification"]["Threshold"]): n["Subscribers"]
        for n in budget["Properties"]["NotificationsWithSubscribers"]
    }
    assert set(alerts) == {("ACTUAL", 80), ("FORECASTED", 100)}
    for subscribers in alerts.values():
        assert subscribers == [{"SubscriptionType": "EMAIL", "Address": {"Ref": "BudgetAlertEmail"}}]
    # No address, no budget: the default deploys without one.
    assert template["Parameters"]["BudgetAlertEmail"]["Default"] == ""
    assert template["Conditions"]["CreateBudget"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "BudgetAlertEmail"}, ""]}]}


@pytest.mark.parametrize(
    ("address", "valid"), [("", True), ("ops@example.com", True), ("ops", False), ("a b@example.com", False)]
)
def test_the_address_pattern(template, address, valid):
    pattern = template["Parameters"]["BudgetAlertEmail"]["AllowedPattern"]
    assert bool(re.fullmatch(pattern, address)) is valid


def run(repo, *extra: str) -> subprocess.CompletedProcess[str]:
    args = ["--github-owner", "acme", "--github-repo", "churn", "--region", "eu-west-1", "--github-repository-id", "42"]
    return subprocess.run(
        ["bash", "scripts/bootstrap.sh", "--dry-run", *args, *extra],
        cwd=repo, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip


def test_bootstrap_sh_passes_the_budget_only_when_asked(repo):
    assert "Budget" not in run(repo).stdout
    asked = run(repo, "--budget-email", "ops@example.com", "--budget-limit", "40")
    assert asked.returncode == 0
    assert "BudgetAlertEmail=ops@example.com BudgetMonthlyLimitUsd=40" in asked.stdout
    assert "BudgetMonthlyLimitUsd=100" in run(repo, "--budget-email", "ops@example.com").stdout
    refused = run(repo, "--budget-limit", "40")
    assert refused.returncode == 2 and "--budget-limit needs --budget-email" in refused.stderr
    assert "must be an email address" in run(repo, "--budget-email", "ops").stderr
