"""`mlops monitor quality`: labels joined to captured inferences by inference id, metrics against the evaluation."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from deploy.cli.app import main
from deploy.errors import ExitCode
from deploy.local.registry import SqliteRegistry
from deploy.workspace import Workspace
from ml.artifact import load_model
from ml.dataset import make_churn
from ml.evaluate import binary_metrics
from tests.unit.deploy.monitor.trained_model import train_with_baseline
from tests.unit.ml.capture_files import write_capture

DRIFT = int(ExitCode.MONITOR_DRIFT)  # mlops monitor's exit code for drift or a quality breach


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_with_baseline(tmp_path_factory.mktemp("trained"))


@pytest.fixture
def repo(repo_copy: Path, trained: Path) -> Path:
    ws = Workspace(repo_copy).ensure()
    registry = SqliteRegistry(ws.registry_db, ws.artifacts)
    uri, digest = registry.store_artifact(trained / "archive" / "model.tar.gz")
    test = pd.read_csv(trained / "split" / "test" / "test.csv")
    estimator, info = load_model(trained / "model")
    evaluation = {"binary_classification_metrics": binary_metrics(
        test["churned"].to_numpy(), estimator.predict_proba(test[info["features"]])[:, 1])}  # fmt: skip
    registry.register("churn-classifier", artifact_uri=uri, sha256=digest, evaluation=evaluation, lineage={})
    path = repo_copy / "config" / "prod.yaml"
    text = re.sub(r"(?m)^  version:.*$", "  version: 1", path.read_text())
    text = re.sub(r"(?m)^  sha256:.*$", f"  sha256: {digest}", text)
    path.write_text(text.replace("enabled: false\n    sampling", "enabled: true\n    sampling"))
    return repo_copy


def served(repo: Path, trained: Path, rows: int = 1200) -> pd.DataFrame:
    """Traffic in 2-row requests with inference ids req-0, req-2, …; returns it with its true labels."""
    data = make_churn(rows, 31)
    estimator, info = load_model(trained / "model")
    scores = estimator.predict_proba(data[info["features"]])[:, 1]
    write_capture(repo / ".mlops" / "capture" / "churn-prod", data[info["features"]], scores, rows_per_request=2)
    return data


def labels_file(tmp_path: Path, data: pd.DataFrame, flip: float = 0.0) -> Path:
    rng = np.random.default_rng(0)
    label = data["churned"].to_numpy().copy()
    flipped = rng.random(len(label)) < flip
    label[flipped] = 1 - label[flipped]
    index = np.arange(len(data))
    frame = pd.DataFrame({"inference_id": [f"req-{i - i % 2}" for i in index], "row": index % 2, "label": label})
    path = tmp_path / "labels.csv"
    frame.iloc[: len(frame) - 50].to_csv(path, index=False)  # the last labels have not arrived yet
    return path


def test_labels_as_evaluated_exit_0(repo: Path, trained: Path, tmp_path: Path, capsys) -> None:
    path = labels_file(tmp_path, served(repo, trained))
    assert main(["monitor", "quality", "--env", "prod", "--labels", str(path)]) == 0
    printed = capsys.readouterr().out
    assert "1,150 of 1,150 labels joined to captured inferences by inference_id (1,200 captured rows)" in printed
    assert "verdict: quality as evaluated" in printed


def test_degraded_labels_breach_the_gate(repo: Path, trained: Path, tmp_path: Path, capsys) -> None:
    path = labels_file(tmp_path, served(repo, trained), flip=0.35)
    assert main(["monitor", "quality", "--env", "prod", "--labels", str(path), "--format", "markdown"]) == DRIFT
    printed = capsys.readouterr().out
    assert printed.startswith("## Model quality prod: BREACH")
    assert re.search(r"\| auc \| 0\.[0-6]\d+ \| 0\.8\d+ \| 0\.75 \| (below the gate|DEGRADED) \|", printed)


def test_labels_that_match_nothing_are_a_data_error(repo: Path, trained: Path, tmp_path: Path, capsys) -> None:
    served(repo, trained)
    path = tmp_path / "labels.csv"
    path.write_text("inference_id,label\nnope,1\n")
    assert main(["monitor", "quality", "--env", "prod", "--labels", str(path)]) == 4
    assert "no label matched a captured inference by inference_id" in capsys.readouterr().err


def test_a_labels_file_without_the_columns_is_a_data_error(repo: Path, trained: Path, tmp_path: Path, capsys) -> None:
    served(repo, trained)
    path = tmp_path / "labels.csv"
    path.write_text("id,churned\nx,1\n")
    assert main(["monitor", "quality", "--env", "prod", "--labels", str(path)]) == 4
    assert "needs a 'label' column and 'inference_id' or 'event_id'" in capsys.readouterr().err
    assert main(["monitor", "quality", "--env", "prod", "--labels", str(tmp_path / "none.csv")]) == 4


def test_monitor_without_env_or_subcommand_is_a_usage_line(capsys) -> None:
    assert main(["monitor"]) == 3
    assert "mlops monitor: --env is required" in capsys.readouterr().err
