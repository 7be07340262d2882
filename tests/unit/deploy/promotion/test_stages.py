"""Staging before prod, on the model record: prod refuses a pin that never served in staging."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from deploy.backends import load_backend
from deploy.cli.app import main
from deploy.config import load_environment, load_pipeline
from deploy.config.schema import ModelPin
from deploy.errors import NotStaged
from deploy.local.registry import SqliteRegistry
from deploy.promotion.pins import plan_pins, write_pins
from deploy.promotion.stages import check_served, record_served
from deploy.workspace import Workspace
from tests.unit.deploy.promotion.sample import evaluation, register

# SageMaker's pattern for CustomerMetadataProperties values, for the characters Python's `re` can name.
METADATA_VALUE = re.compile(r"[\w\s.:/=+\-@]*")


def pin(root: Path, model, envs: tuple[str, ...] = ("staging", "prod")) -> None:
    changes = plan_pins(root / "config", ModelPin(version=model.version, package_arn=model.arn, sha256=model.sha256))
    write_pins([c for c in changes if c.env in envs])


def backend(root: Path):
    return load_backend("local", Workspace(root), load_pipeline(root / "config"))


def test_a_pin_served_in_staging_passes_and_one_that_did_not_is_refused(
    root: Path, registry: SqliteRegistry, tmp_path: Path
) -> None:
    v1 = register(registry, tmp_path, evaluation(0.80, 0.60, 0.80), "v1")
    v2 = register(registry, tmp_path, evaluation(0.85, 0.65, 0.85), "v2")
    pin(root, v1)
    staging = load_environment(root / "config", "staging")
    record_served(backend(root), "staging", staging, "a" * 40)
    check = check_served(backend(root), "prod", load_environment(root / "config", "prod"), "staging")
    assert not check.overridden and check.message == "churn-classifier v1 served in staging (commit aaaaaaaaaaaa)"
    # A hand edit pins v2 in prod only: staging never served it.
    pin(root, v2, ("prod",))
    with pytest.raises(NotStaged, match=r"config/prod.yaml:model.version pins churn-classifier v2, which has not"):
        check_served(backend(root), "prod", load_environment(root / "config", "prod"), "staging")
    # Recording kept the status and reason; only the metadata grew.
    assert registry.get("churn-classifier", 1).status == "PendingManualApproval"
    assert registry.get("churn-classifier", 1).metadata == {"served_staging": "a" * 40}


def test_an_override_lets_it_through_and_is_recorded_on_the_model(
    root: Path, registry: SqliteRegistry, tmp_path: Path
) -> None:
    v1 = register(registry, tmp_path, evaluation(0.80, 0.60, 0.80), "v1")
    pin(root, v1, ("prod",))
    prod = load_environment(root / "config", "prod")
    reason = 'hotfix, "staging" is down (INC-42)'
    check = check_served(backend(root), "prod", prod, "staging", override=reason)
    assert check.overridden and "has not served in staging; deploying anyway: hotfix" in check.message
    recorded = registry.get("churn-classifier", 1).metadata["stage_override_prod"]
    assert recorded == "hotfix staging is down INC-42"
    assert METADATA_VALUE.fullmatch(recorded)
    # Whitespace is no reason.
    with pytest.raises(NotStaged):
        check_served(backend(root), "prod", prod, "staging", override="   ")


def test_the_cli_refuses_before_touching_any_endpoint(
    root: Path, registry: SqliteRegistry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    v1 = register(registry, tmp_path, evaluation(0.80, 0.60, 0.80), "v1")
    pin(root, v1)
    assert main(["deploy", "--env", "prod", "--after", "staging"]) == 14
    err = capsys.readouterr().err
    assert "has not served in staging" in err and "Traceback" not in err
    assert not (root / ".mlops" / "endpoints").exists()


def test_an_empty_pin_is_a_clear_no_op_even_with_the_staging_check(
    root: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert main(["deploy", "--env", "prod", "--after", "staging"]) == 0
    assert main(["smoke", "--env", "staging", "--record"]) == 0
    err = capsys.readouterr().err
    assert "config/prod.yaml pins no model" in err and "nothing to deploy" in err
    assert "config/staging.yaml pins no model: nothing to smoke-test" in err
    assert "nothing to deploy" in summary.read_text(encoding="utf-8")
