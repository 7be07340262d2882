"""Monitoring alarms on the local backend: declared in config, judged by `mlops monitor`, recorded by deploy."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from deploy.cli.app import main
from deploy.config import load_environment
from deploy.endpoints import DesiredState
from deploy.endpoints.plan import diff
from deploy.local.endpoints import RECORD_FILE, LocalEndpoints, build_record
from deploy.local.routing_table import write_json
from deploy.registry import ModelVersion
from deploy.workspace import Workspace
from tests.unit.deploy.monitor.test_monitor_cli import DRIFT, capture, repo, traffic, trained  # noqa: F401 (fixtures)
from tests.unit.ml.capture_files import shifted

ALARMS = """
monitoring:
  alarms:
    - name: churn-prod-drifted-features
      metric: drifted_features
      threshold: 1
    - name: churn-prod-monthly-charges-drift
      metric: drift_score
      feature: monthly_charges
      threshold: 1
    - name: churn-prod-contract-drift
      metric: feature_drift
      feature: contract
      threshold: 1
    - name: churn-prod-quiet
      metric: captured_rows
      comparison: LessThanThreshold
      threshold: 100
"""


def declare(root: Path, section: str = ALARMS) -> None:
    path = root / "config" / "prod.yaml"
    path.write_text(path.read_text() + section)


def test_shifted_traffic_names_the_alarms_that_would_fire(repo: Path, trained: Path, capsys) -> None:  # noqa: F811
    declare(repo)
    capture(repo, trained, shifted(traffic(22), 22))
    assert main(["monitor", "--env", "prod"]) == DRIFT
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("alarms"))
    assert line.startswith("alarms that would fire: churn-prod-drifted-features (DriftedFeatures 3 ≥ 1); ")
    assert "churn-prod-monthly-charges-drift (DriftScore[monthly_charges] " in line
    assert "contract" not in line and "quiet" not in line  # contract did not move; 1,500 rows is not quiet

    assert main(["monitor", "--env", "prod", "--format", "json"]) == DRIFT
    fired = json.loads(capsys.readouterr().out)["alarms"]
    assert [f["name"] for f in fired] == ["churn-prod-drifted-features", "churn-prod-monthly-charges-drift"]
    assert fired[0]["value"] == 3.0


def test_in_distribution_traffic_sets_off_none(repo: Path, trained: Path, capsys) -> None:  # noqa: F811
    declare(repo)
    capture(repo, trained, traffic(21))
    assert main(["monitor", "--env", "prod", "--format", "markdown"]) == 0
    assert "alarms: none of 4 would fire" in capsys.readouterr().out


def test_too_little_traffic_fires_only_the_volume_alarm(repo: Path, trained: Path, capsys) -> None:  # noqa: F811
    declare(repo)
    capture(repo, trained, traffic(23, rows=40))  # under min_rows: reported, not judged
    assert main(["monitor", "--env", "prod"]) == 0
    out = capsys.readouterr().out
    assert "alarms that would fire: churn-prod-quiet (CapturedRows 40 < 100)" in out


def test_local_deploy_records_the_alarms_so_plan_is_clean(repo_copy: Path) -> None:
    declare(repo_copy)
    cfg = load_environment(repo_copy / "config", "prod")
    workspace = Workspace(repo_copy).ensure()
    model = ModelVersion(
        group="churn-classifier", version=1, status="Approved", artifact_uri="file:///nowhere", sha256="a" * 64,
        evaluation={}, lineage={}, created_at="2026-01-01T00:00:00+00:00", arn="local:1",
    )  # fmt: skip
    desired = DesiredState("prod", cfg, model, "0" * 40)
    record = build_record(desired, SimpleNamespace(port=1, workers=1))
    workspace.endpoint_dir("prod").mkdir(parents=True)
    write_json(workspace.endpoint_dir("prod") / RECORD_FILE, record)
    live = LocalEndpoints(workspace, registry=None).describe("prod", cfg)
    assert live.monitoring_alarms == [a.model_dump() for a in cfg.monitoring.alarms]
    # The server is not running here; apart from that, git and the record agree.
    pinned = cfg.model_copy(update={"model": cfg.model.model_copy(update={"version": 1, "sha256": model.sha256})})
    assert [c.field for c in diff(pinned, live)] == ["endpoint.status"]
    fewer = pinned.model_copy(
        update={"monitoring": pinned.monitoring.model_copy(update={"alarms": pinned.monitoring.alarms[:1]})}
    )
    assert [c.field for c in diff(fewer, live)] == ["endpoint.status", "monitoring.alarms"]


@pytest.mark.parametrize(
    ("section", "key", "says"),
    [
        (
            "monitoring:\n  alarms:\n    - {name: churn-prod-x, metric: drift_score, threshold: 1}\n",
            "monitoring.alarms.0.feature",
            "drift_score is published per feature: name the feature",
        ),
        (
            "monitoring:\n  alarms:\n    - {name: churn-prod-x, metric: violations, feature: age, threshold: 1}\n",
            "monitoring.alarms.0.feature",
            "violations is published per endpoint, not per feature",
        ),
        (
            "monitoring:\n  alarms:\n    - {name: churn-prod-x, metric: accuracy, threshold: 1}\n",
            "monitoring.alarms.0.metric",
            "'drifted_features'",
        ),
        (
            "monitoring:\n  alarms:\n    - {name: churn-prod-x, metric: drift_score, feature: agee, threshold: 1}\n",
            "monitoring.alarms.0.feature",
            "'agee' is not a feature of",
        ),
        (
            "monitoring:\n  alarms:\n    - {name: churn-prod-5xx, metric: violations, threshold: 1}\n",
            "monitoring.alarms",
            "churn-prod-5xx also named in alarms",
        ),
        (
            "monitoring:\n  alarms:\n    - {name: a, metric: violations, threshold: 1}\n"
            "    - {name: a, metric: violations, threshold: 2}\n",
            "monitoring.alarms",
            "alarm names appear twice: a",
        ),
    ],
)
def test_bad_alarm_declarations_name_the_key(repo_copy: Path, capsys, section: str, key: str, says: str) -> None:
    declare(repo_copy, section)
    assert main(["config", "validate"]) == 3
    (line,) = capsys.readouterr().out.strip().splitlines()
    assert line.startswith(f"{repo_copy / 'config' / 'prod.yaml'}:{key}: ") and says in line, line
