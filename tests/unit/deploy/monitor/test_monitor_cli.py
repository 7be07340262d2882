"""`mlops monitor` on the local backend: the pinned model's baseline against captured traffic."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from deploy.cli.app import main
from deploy.errors import ExitCode
from deploy.local.registry import SqliteRegistry
from deploy.workspace import Workspace
from ml.artifact import load_model
from ml.dataset import make_churn, write_table
from tests.unit.deploy.monitor.trained_model import train_with_baseline
from tests.unit.ml.capture_files import shifted, write_capture

DRIFT = int(ExitCode.MONITOR_DRIFT)  # mlops monitor's exit code for drift or a quality breach


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_with_baseline(tmp_path_factory.mktemp("trained"))


def pin(repo: Path, version: int, sha256: str, capture: bool = True) -> None:
    path = repo / "config" / "prod.yaml"
    text = re.sub(r"(?m)^  version:.*$", f"  version: {version}", path.read_text())
    text = re.sub(r"(?m)^  sha256:.*$", f"  sha256: {sha256}", text)
    path.write_text(text.replace("enabled: false\n    sampling", f"enabled: {str(capture).lower()}\n    sampling"))


@pytest.fixture
def repo(repo_copy: Path, trained: Path) -> Path:
    ws = Workspace(repo_copy).ensure()
    registry = SqliteRegistry(ws.registry_db, ws.artifacts)
    uri, digest = registry.store_artifact(trained / "archive" / "model.tar.gz")
    baselines = registry.store_baseline(trained / "base")
    registry.register(
        "churn-classifier", artifact_uri=uri, sha256=digest, evaluation={}, lineage={}, baselines=baselines
    )
    pin(repo_copy, 1, digest)
    return repo_copy


def capture(repo: Path, trained: Path, frame: pd.DataFrame) -> None:
    estimator, info = load_model(trained / "model")
    scores = estimator.predict_proba(frame[info["features"]])[:, 1]
    write_capture(repo / ".mlops" / "capture" / "churn-prod", frame, scores, rows_per_request=2)


def traffic(seed: int, rows: int = 1500) -> pd.DataFrame:
    return make_churn(rows, seed).drop(columns=["churned"])


def test_in_distribution_traffic_exits_0(repo: Path, trained: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capture(repo, trained, traffic(21))
    assert main(["monitor", "--env", "prod"]) == 0
    printed = capsys.readouterr().out
    assert printed.splitlines()[0].startswith("prod: churn-classifier v1, 1,500 rows in 750 requests since ")
    assert "verdict: no drift, no violations" in printed
    assert "DRIFT" not in printed


def test_shifted_traffic_exits_13_naming_exactly_the_shift(
    repo: Path, trained: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    capture(repo, trained, shifted(traffic(22), 22))
    summary, outputs = tmp_path / "summary.md", tmp_path / "outputs"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))
    assert main(["monitor", "--env", "prod", "--format", "json"]) == DRIFT
    result = json.loads(capsys.readouterr().out)
    assert result["status"] == "drift" and result["model"]["version"] == 1
    assert sorted(result["drifted_features"]) == ["age", "monthly_charges", "payment_method"]
    checks = {(v["feature_name"], v["constraint_check_type"]) for v in result["violations"]}
    assert checks == {("payment_method", "categorical_values_check"), ("age", "completeness_check")}
    markdown = summary.read_text()
    assert markdown.startswith("## Monitor prod: DRIFT") and "```mermaid\nxychart-beta" in markdown
    assert "verdict: drift in monthly_charges, age, payment_method" in markdown
    assert "status=drift\ndrift=true\n" in outputs.read_text()


def test_markdown_format_prints_the_report(repo: Path, trained: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capture(repo, trained, shifted(traffic(23), 23))
    assert main(["monitor", "--env", "prod", "--format", "markdown"]) == DRIFT
    printed = capsys.readouterr().out
    assert "| monthly_charges | numeric | wasserstein |" in printed
    assert re.search(r'x-axis \["tenure_months", "monthly_charges", .*"paperless_billing"\]', printed)
    assert "- `payment_method` categorical_values_check: " in printed


def test_a_file_given_with_data_is_read_whole(repo: Path, tmp_path: Path, capsys) -> None:
    write_table(traffic(24, 400), tmp_path / "batch.csv")
    assert main(["monitor", "--env", "prod", "--data", str(tmp_path / "batch.csv")]) == 0
    assert "400 rows in 400 requests from " in capsys.readouterr().out


def test_feature_rules_are_checked_against_the_model(repo: Path, trained: Path, capsys) -> None:
    capture(repo, trained, traffic(25))
    path = repo / "config" / "prod.yaml"
    path.write_text(path.read_text() + "monitoring:\n  features:\n    contract: {test: wasserstein}\n    zip: {}\n")
    assert main(["monitor", "--env", "prod"]) == 3
    err = capsys.readouterr().err
    assert "monitoring.features.contract.test: 'wasserstein' does not suit a categorical feature" in err
    assert "monitoring.features.zip: not a feature of the model" in err


@pytest.mark.parametrize(
    ("args", "edit", "code", "message"),
    [
        (
            ["--since", "yesterday"],
            None,
            3,
            "--since: 'yesterday' is not a duration (e.g. 90m, 24h, 7d) or an ISO",
        ),
        ([], "unpin", 3, "config/prod.yaml: model.version is not pinned: no model is deployed to monitor"),
        ([], "capture off", 3, "config/prod.yaml: endpoint.data_capture.enabled is false"),
        ([], None, 4, "endpoint 'churn-prod': no captured traffic at "),
        (["--data", "nowhere.csv"], None, 4, "--data nowhere.csv: no captured traffic at nowhere.csv"),
    ],
)
def test_errors_are_one_line_with_their_exit_code(
    repo: Path, args: list[str], edit: str | None, code: int, message: str, capsys
) -> None:
    if edit == "unpin":
        shutil.copy(Path(__file__).parents[4] / "config" / "prod.yaml", repo / "config" / "prod.yaml")
    if edit == "capture off":
        text = (
            (repo / "config" / "prod.yaml")
            .read_text()
            .replace("enabled: true\n    sampling", "enabled: false\n    sampling")
        )
        (repo / "config" / "prod.yaml").write_text(text)
    assert main(["monitor", "--env", "prod", *args]) == code
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_a_model_without_baseline_is_a_registry_error(repo: Path, trained: Path, capsys) -> None:
    ws = Workspace(repo)
    registry = SqliteRegistry(ws.registry_db, ws.artifacts)
    uri, digest = registry.store_artifact(trained / "archive" / "model.tar.gz")
    registry.register("churn-classifier", artifact_uri=uri, sha256=digest, evaluation={}, lineage={})
    pin(repo, 2, digest)
    capture(repo, trained, traffic(26))
    assert main(["monitor", "--env", "prod"]) == 5
    assert "churn-classifier v2 has no statistics baseline" in capsys.readouterr().err


def test_since_a_time_leaves_out_earlier_traffic(repo: Path, trained: Path, capsys) -> None:
    from datetime import UTC, datetime, timedelta

    from ml.artifact import load_model as load

    estimator, info = load(trained / "model")
    early = shifted(traffic(27, 600), 27)
    folder = repo / ".mlops" / "capture" / "churn-prod"
    earlier = datetime.now(UTC) - timedelta(minutes=30)
    write_capture(folder, early, estimator.predict_proba(early[info["features"]])[:, 1], when=earlier)
    capture(repo, trained, traffic(28))
    start = (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert main(["monitor", "--env", "prod", "--since", start]) == 0
    assert "1,500 rows in 750 requests since " in capsys.readouterr().out
    assert main(["monitor", "--env", "prod", "--since", "1h"]) == DRIFT


def test_if_captured_makes_capture_off_a_notice_for_a_schedule(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = repo / "config" / "staging.yaml"
    outputs = tmp_path / "outputs"
    monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))
    assert "data_capture" not in path.read_text()  # capture is off by default
    assert main(["monitor", "--env", "staging", "--if-captured"]) == 0
    note = "staging: not monitored: config/staging.yaml has endpoint.data_capture.enabled false"
    assert note in capsys.readouterr().err
    assert outputs.read_text() == "status=not-captured\ndrift=false\non-drift=issue\n"
    assert main(["monitor", "--env", "staging"]) == 3  # without the flag it stays a config error


def test_the_step_outputs_say_what_to_do_on_drift(
    repo: Path, trained: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = repo / "config" / "prod.yaml"
    path.write_text(path.read_text() + "monitoring:\n  on_drift: retrain\n")
    capture(repo, trained, shifted(traffic(26), 26))
    outputs = tmp_path / "outputs"
    monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))
    assert main(["monitor", "--env", "prod", "--if-captured", "--format", "markdown"]) == DRIFT
    assert "drift=true\n" in outputs.read_text() and "on-drift=retrain\n" in outputs.read_text()
