"""The `monitoring:` section of config/<env>.yaml: defaults, overrides, and one clear line per mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.cli.app import main
from deploy.config import load_environment
from ml.monitor import DEFAULTS, settings

SECTION = """
monitoring:
  window: 7d
  numeric: {test: psi, threshold: 0.2}
  features:
    monthly_charges: {threshold: 0.25}
  on_drift: retrain
"""


def test_defaults_match_the_monitor_steps_own(repo_copy: Path) -> None:
    cfg = load_environment(repo_copy / "config", "prod").monitoring
    assert cfg.window == "24h" and cfg.on_drift == "issue"
    assert cfg.step_settings() == DEFAULTS


def test_overrides_reach_the_step_without_unset_keys(repo_copy: Path) -> None:
    path = repo_copy / "config" / "prod.yaml"
    path.write_text(path.read_text() + SECTION)
    cfg = load_environment(repo_copy / "config", "prod").monitoring
    step = settings(cfg.step_settings())
    assert step["numeric"] == {"test": "psi", "threshold": 0.2}
    assert step["features"] == {"monthly_charges": {"threshold": 0.25}}
    assert step["categorical"] == DEFAULTS["categorical"] and cfg.on_drift == "retrain"


@pytest.mark.parametrize(
    ("section", "key", "says"),
    [
        ("monitoring:\n  window: 1week\n", "monitoring.window", "pattern"),
        ("monitoring:\n  numeric: {test: chi2}\n", "monitoring.numeric.test", "'wasserstein'"),
        ("monitoring:\n  alpha: 0.7\n", "monitoring.alpha", "less than 0.5"),
        ("monitoring:\n  on_drift: page\n", "monitoring.on_drift", "'retrain'"),
        ("monitoring:\n  features: {age: {threshold: 0}}\n", "monitoring.features.age.threshold", "greater than 0"),
    ],
)
def test_bad_monitoring_config_names_the_key(repo_copy: Path, capsys, section: str, key: str, says: str) -> None:
    path = repo_copy / "config" / "prod.yaml"
    path.write_text(path.read_text() + section)
    assert main(["config", "validate"]) == 3
    (line,) = capsys.readouterr().out.strip().splitlines()
    assert line.startswith(f"{path}:{key}: ") and says in line
