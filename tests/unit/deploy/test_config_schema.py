"""The desired-state schema: the repo's config is valid, and each bad edit gets one clear line."""

from __future__ import annotations

import re
import shutil
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
        ("staging.yaml", "port: 8081", "port: 8082", "local.port", "also local.port in"),
        # Strict types: YAML's booleans, quoted numbers and fractions are not counts or seconds.
        ("prod.yaml", "instance_count: 2", "instance_count: true", "endpoint.instance_count", "valid integer"),
        ("prod.yaml", "instance_count: 2", "instance_count: 2.0", "endpoint.instance_count", "valid integer"),
        ("prod.yaml", "wait_seconds: 300", 'wait_seconds: "300"', "deployment.wait_seconds", "valid integer"),
        ("prod.yaml", "threshold: 100000", "threshold: yes", "alarms.1.threshold", "valid number"),
        ("prod.yaml", "enabled: false", "enabled: 0", "endpoint.data_capture.enabled", "valid boolean"),
        ("pipeline.yaml", "rows: 20000", "rows: false", "data.rows", "valid integer"),
        ("pipeline.yaml", "auc: {threshold: 0.75", "auc: {threshold: true", "gate.metrics.auc.threshold", "number"),
        (
            "pipeline.yaml",
            "{name: total_charges, min: 0}",
            "{name: total_charges, min: .nan}",
            "features.numeric.2.min",
            "finite",
        ),
        # Statistics and thresholds that the metric can never produce.
        ("prod.yaml", "statistic: Sum", "statistic: p99", "alarms.0", "p99 does not apply to Invocation5XXErrors"),
        (
            "prod.yaml",
            "statistic: Sum\n    threshold: 1\n",
            "statistic: Average\n    threshold: 5\n",
            "alarms.0",
            "between 0 and 1",
        ),
        ("pipeline.yaml", "auc: {threshold: 0.75", "auc: {threshold: 1.5", "gate.metrics.auc.threshold", "1 (got"),
        ("pipeline.yaml", "f1: {threshold: 0.5", "f1: {threshold: -0.5", "gate.metrics.f1.threshold", "0 (got"),
        ("pipeline.yaml", "min_improvement: 0.0}", "min_improvement: 2}", "gate.metrics.auc", "can never be met"),
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


def test_a_file_read_again_is_parsed_once_an_edit_is_seen_and_each_caller_has_its_own_copy(
    repo_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import deploy.config.loader as loader

    parsed: list[Path] = []
    parse = loader.parse_yaml
    monkeypatch.setattr(loader, "parse_yaml", lambda path, text: parsed.append(path) or parse(path, text))
    config_dir = repo_copy / "config"
    path = config_dir / "prod.yaml"
    path.write_text(f"# {repo_copy}\n{path.read_text()}")  # a text no other test of this process read
    first = load_environment(config_dir, "prod")
    first.endpoint.instance_count = 7  # a caller's change stays its own
    assert load_environment(config_dir, "prod").endpoint.instance_count == 2
    assert len(parsed) == 1
    elsewhere = repo_copy.parent / "elsewhere"
    shutil.copytree(config_dir, elsewhere)  # the same text in another folder is not parsed again
    assert load_environment(elsewhere, "prod").endpoint.instance_count == 2
    assert len(parsed) == 1
    path.write_text(path.read_text().replace("  instance_count: 2\n", "  instance_count: 3\n", 1))
    assert load_environment(config_dir, "prod").endpoint.instance_count == 3
    assert len(parsed) == 2
    path.write_text(path.read_text().replace("  instance_count: 3\n", "  instance_count: 0\n", 1))
    with pytest.raises(ConfigError, match="instance_count"):
        load_environment(config_dir, "prod")


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


def test_port_clash_names_both_files(repo_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The edited file may sort first: the line must name the other file too, not only the later one."""
    edit(repo_copy, "prod.yaml", "port: 8082", "port: 8081")
    assert main(["config", "validate"]) == 3
    (line,) = capsys.readouterr().out.strip().splitlines()
    assert str(repo_copy / "config" / "prod.yaml") in line and str(repo_copy / "config" / "staging.yaml") in line


BOMB = """
a: &a [x, x, x, x, x, x, x, x, x, x]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]
i: [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]
"""


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (BOMB.encode(), "expands to more than 100000 values"),
        (b"endpoint: " + b"[" * 400 + b"]" * 400 + b"\n", "nested too deeply"),
        (b"endpoint: " + b"[" * 80 + b"]" * 80 + b"\n", "nested deeper than 64 levels"),
        ("endpoint:\n  name: caf\u00e9\n".encode("latin-1"), "not UTF-8 text (byte 0xe9 on line 2)"),
        (b"endpoint: {name: a\x00b}\n", "invalid YAML"),
    ],
    ids=["alias-bomb", "deep-flow", "deep-but-parsable", "latin-1", "nul"],
)
def test_unreadable_files_are_one_line(
    repo_copy: Path, capsys: pytest.CaptureFixture[str], content: bytes, says: str
) -> None:
    (repo_copy / "config" / "prod.yaml").write_bytes(content)
    assert main(["config", "validate"]) == 3
    lines = capsys.readouterr().out.strip().splitlines()
    (line,) = [line for line in lines if "prod.yaml" in line]
    assert line.startswith(f"{repo_copy / 'config' / 'prod.yaml'}: ") and says in line
    with pytest.raises(ConfigError, match=r"prod\.yaml"):
        load_environment(repo_copy / "config", "prod")


def test_a_small_alias_is_still_fine(repo_copy: Path) -> None:
    edit(repo_copy, "prod.yaml", "  max_execution_timeout_seconds: 1800", "  max_execution_timeout_seconds: &t 1800")
    edit(repo_copy, "prod.yaml", "    enabled: false\n    sampling", "    enabled: &off false\n    sampling")
    edit(repo_copy, "prod.yaml", "  autoscaling:\n    enabled: false", "  autoscaling:\n    enabled: *off")
    cfg = load_environment(repo_copy / "config", "prod")
    assert cfg.deployment.max_execution_timeout_seconds == 1800 and cfg.endpoint.autoscaling.enabled is False


@pytest.mark.parametrize(
    ("old", "new", "says"),
    [
        ("age: 34, ", "", "instance 1 lacks features age"),
        ("48,45.0,2160.0,0,61,3.2,two-year", "48,45.0,2160.0,0,61,two-year", "CSV row 1 has 9 columns"),
        ("        2,99.9,199.8", "        x,99.9,199.8", "feature 'tenure_months' at row 2: non-numeric value 'x'"),
        ("expect_rows: 2", "expect_rows: 3", "2 rows, but expect_rows is 3"),
    ],
)
def test_smoke_payloads_must_fit_the_features(
    repo_copy: Path, capsys: pytest.CaptureFixture[str], old: str, new: str, says: str
) -> None:
    """A payload no model of this config can answer fails validation, not the smoke test after a deploy."""
    edit(repo_copy, "staging.yaml", old, new)
    assert main(["config", "validate"]) == 3
    (line,) = capsys.readouterr().out.strip().splitlines()
    assert line.startswith(f"{repo_copy / 'config' / 'staging.yaml'}:smoke.payloads.") and says in line
