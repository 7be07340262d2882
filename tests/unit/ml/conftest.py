"""Shared fixtures for the ml/ unit tests: small synthetic data and one trained model per session."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from ml.artifact import pack_archive
from ml.dataset import make_churn, write_table
from ml.preprocess import preprocess
from ml.schema import DEFAULT_SCHEMA
from ml.train import train


@pytest.fixture(autouse=True)
def sm_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep failure files inside the test's folder instead of /opt/ml/output."""
    folder = tmp_path / "sm-output"
    monkeypatch.setenv("SM_OUTPUT_DIR", str(folder))
    return folder


@pytest.fixture(scope="session")
def churn() -> pd.DataFrame:
    return make_churn(4000, 7)


@pytest.fixture(scope="session")
def schema_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("schema") / "schema.json"
    path.write_text(json.dumps(DEFAULT_SCHEMA.to_dict()))
    return path


@pytest.fixture(scope="session")
def prepared(tmp_path_factory: pytest.TempPathFactory, churn: pd.DataFrame, schema_file: Path) -> Path:
    """Output folder of the preprocess step: train/, validation/, test/, report/."""
    root = tmp_path_factory.mktemp("prepared")
    write_table(churn, root / "raw" / "churn.csv")
    preprocess(root / "raw", schema_file, root / "out", 0.15, 0.15, 0)
    return root / "out"


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory, prepared: Path) -> Path:
    folder = tmp_path_factory.mktemp("model")
    train(
        prepared / "train",
        folder,
        {"algorithm": "logistic_regression"},
        DEFAULT_SCHEMA.numeric_names,
        DEFAULT_SCHEMA.categorical_names,
        DEFAULT_SCHEMA.label,
        prepared / "validation",
    )
    return folder


@pytest.fixture(scope="session")
def archive_dir(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> Path:
    """A folder holding model.tar.gz, as SageMaker hands it to a processing job."""
    folder = tmp_path_factory.mktemp("archive")
    pack_archive(model_dir, folder / "model.tar.gz")
    return folder


@pytest.fixture
def read_failure(sm_output: Path) -> Callable[[], str]:
    """The one-line reason a step wrote to $SM_OUTPUT_DIR/failure."""

    def read() -> str:
        text = (sm_output / "failure").read_text()
        assert text.count("\n") == 1, text
        return text.strip()

    return read
