"""The desired-state schema: the repo's config is valid, and each bad edit gets one clear line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from deploy.cli.app import main
from deploy.config import load_environment, validate_all
from deploy.config.schema import DeploymentPolicy
from deploy.errors import ConfigError
from tests.conftest import REPO


def edit(root: Path, name: str, old: str, new: str) -> Path:
    path = root / "config" / name
    text = path.read_text()
    assert old in text, f"{old!r} not in {name}"
    path.write_text(text.replace(old, new, 1))
    return path


def test_repository_config_is_valid() -> None:
    result = validate_all(REPO / "config")
    assert result.problems == []
    assert set(result.environments) == {"staging", "prod"}
    assert result.pipeline is not None


@pytest.mark.parametrize(
    ("name", "old", "new", "key", "says"),
    [
        ("prod.yaml", "approve_on_deploy: true", "approve_on_deploy: true\ncolour: blue", "colour", "unknown key"),
        (
            "prod.yaml",
            "canary_percent: 10",
            "canary_percent: 60",
            "deployment.canary_percent",
            "less than or equal to 50",
        ),
        ("prod.yaml", "wait_seconds: 300", "wait_seconds: 5000", "deployment.wait_seconds", "3600"),
        ("prod.yaml", "instance_count: 2", "instance_count: 1", "(top level)", "instance_count ≥ 2"),
        ("prod.yaml", "instance_count: 2", "instance_count: two", "endpoint.instance_count", "valid integer"),
        ("prod.yaml", "strategy: canary", "strategy: blue-green", "deployment.strategy", "'canary'"),
        ("pipeline.yaml", "seed: 42", "seed: forty-two", "data.seed", "valid integer"),
        ("pipeline.yaml", "auc: {threshold", "roc: {threshold", "gate.metrics.roc", "auc"),
        ("staging.yaml", "port: 8081", "port: 8082", "local.port", "already used by 'prod'"),
    ],
)
def test_bad_config_names_file_and_key(
    repo_copy: Path, capsys: pytest.CaptureFixture[str], name: str, old: str, new: str, key: str, says: str
) -> None:
    edit(repo_copy, name, old, new)
    assert main(["config", "validate"]) == 3
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1, out
    assert out[0].startswith(f"{repo_copy / 'config' / name}:{key}: ")
    assert says in out[0]
    assert "Traceback" not in out[0]


def test_every_problem_is_reported_at_once(repo_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(repo_copy, "prod.yaml", "canary_percent: 10", "canary_percent: 60")
    edit(repo_copy, "prod.yaml", "wait_seconds: 300", "wait_seconds: 5000")
    edit(repo_copy, "staging.yaml", "name: churn-staging", "name: churn_staging!")
    assert main(["config", "validate"]) == 3
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    assert any(re.search(r"line \d+", line) for line in lines)


def test_unknown_key_lists_the_allowed_keys(repo_copy: Path) -> None:
    edit(repo_copy, "prod.yaml", "  termination_wait_seconds: 120", "  termination_wait: 120")
    with pytest.raises(ConfigError) as caught:
        load_environment(repo_copy / "config", "prod")
    assert "deployment.termination_wait: unknown key (allowed: canary_percent," in caught.value.message


def test_invalid_yaml_names_the_line(repo_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo_copy / "config" / "prod.yaml").write_text("endpoint: [unclosed\n")
    assert main(["config", "validate"]) == 3
    assert "prod.yaml: invalid YAML (line" in capsys.readouterr().out


def test_missing_environment_lists_known_ones(repo_copy: Path) -> None:
    with pytest.raises(ConfigError, match=r"no such environment \(known: prod, staging\)"):
        load_environment(repo_copy / "config", "qa")


def test_pin_needs_version_and_sha_together(repo_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(repo_copy, "staging.yaml", "  version:\n", "  version: 3\n")
    assert main(["config", "validate"]) == 3
    out = capsys.readouterr().out
    assert "staging.yaml:model: version and sha256 are pinned together: set both or neither" in out


@pytest.mark.parametrize("step", [15, 30, 40])
def test_linear_step_must_divide_full_traffic(step: int) -> None:
    with pytest.raises(ValueError, match="does not divide 100"):
        DeploymentPolicy(strategy="linear", linear_step_percent=step, wait_seconds=60)


def test_bake_must_fit_the_execution_timeout() -> None:
    with pytest.raises(ValueError, match="more than max_execution_timeout_seconds"):
        DeploymentPolicy(
            strategy="linear", linear_step_percent=10, wait_seconds=300, max_execution_timeout_seconds=1800
        )


def test_traffic_steps_follow_the_strategy() -> None:
    assert DeploymentPolicy(strategy="all_at_once").traffic_steps() == [100]
    assert DeploymentPolicy(strategy="canary", canary_percent=10).traffic_steps() == [10, 100]
    assert DeploymentPolicy(strategy="linear", linear_step_percent=25, wait_seconds=60).traffic_steps() == [
        25,
        50,
        75,
        100,
    ]


def test_json_schema_files_are_up_to_date() -> None:
    assert main(["config", "schema", "--check", "--output", str(REPO / "config" / "schema")]) == 0


def test_stale_json_schema_is_reported(tmp_path: Path) -> None:
    (tmp_path / "pipeline.schema.json").write_text("{}")
    assert main(["config", "schema", "--check", "--output", str(tmp_path)]) == 3
