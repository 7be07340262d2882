"""The training step: model folder contents, metric lines, arguments and the container contract."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import joblib
import pytest
import sklearn

from ml.contract import EXIT_DATA_ERROR, EXIT_FAILURE, EXIT_OK
from ml.dataset import write_table
from ml.schema import DEFAULT_SCHEMA
from ml.train import main, parse_args, train

REPO = Path(__file__).resolve().parents[3]


def test_model_folder_contents(model_dir: Path) -> None:
    assert sorted(p.name for p in model_dir.iterdir()) == ["model.joblib", "model_info.json"]
    info = json.loads((model_dir / "model_info.json").read_text())
    assert info["algorithm"] == "logistic_regression"
    assert info["features"] == list(DEFAULT_SCHEMA.features)
    assert info["label"] == "churned"
    assert info["sklearn_version"] == sklearn.__version__
    assert info["training_rows"] == 2800
    assert info["hyperparameters"]["C"] == 1.0
    assert hasattr(joblib.load(model_dir / "model.joblib"), "predict_proba")


def test_prints_metric_lines(prepared: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hyperparameters = {"algorithm": "hist_gradient_boosting", "max_iter": 20, "max_depth": 3}
    info = train(
        prepared / "train",
        tmp_path / "m",
        hyperparameters,
        ["tenure_months", "support_calls"],
        ["contract"],
        "churned",
        prepared / "validation",
    )
    assert info["features"] == ["tenure_months", "support_calls", "contract"]
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("validation:auc=0.") for line in lines)


def test_both_argument_spellings() -> None:
    args = parse_args(["--max_iter", "50", "--learning-rate", "0.2", "--max-depth", "None", "--C", "0.5"])
    assert (args.max_iter, args.learning_rate, args.max_depth, args.C) == (50, 0.2, None, 0.5)
    assert parse_args(["--numeric-features", "a, b", "--categorical_features", "x"]).numeric == ["a", "b"]


def _env(monkeypatch: pytest.MonkeyPatch, prepared: Path, tmp_path: Path) -> Path:
    monkeypatch.setenv("SM_CHANNEL_TRAIN", str(prepared / "train"))
    monkeypatch.setenv("SM_CHANNEL_VALIDATION", str(prepared / "validation"))
    monkeypatch.setenv("SM_MODEL_DIR", str(tmp_path / "model"))
    return tmp_path / "model"


def test_main_uses_sm_variables(monkeypatch: pytest.MonkeyPatch, prepared: Path, tmp_path: Path) -> None:
    model = _env(monkeypatch, prepared, tmp_path)
    assert main(["--C", "0.3", "--max-iter", "100"]) == EXIT_OK
    assert json.loads((model / "model_info.json").read_text())["hyperparameters"]["C"] == 0.3


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--max-iter", "10", "--colour", "red"], "unknown hyperparameters --colour"),
        (["--learning_rate", "0.1"], "learning_rate do not apply to logistic_regression"),
        (["--algorithm", "svm"], "unknown algorithm 'svm'"),
        (["--max-iter", "many"], "invalid int value"),
    ],
)
def test_bad_hyperparameters_exit_1(
    monkeypatch: pytest.MonkeyPatch, prepared: Path, tmp_path: Path, read_failure, argv: list[str], expected: str
) -> None:
    _env(monkeypatch, prepared, tmp_path)
    assert main(argv) == EXIT_FAILURE
    assert expected in read_failure()


def test_bad_training_data_exits_3(
    monkeypatch: pytest.MonkeyPatch, prepared: Path, tmp_path: Path, churn, read_failure
) -> None:
    _env(monkeypatch, prepared, tmp_path)
    write_table(churn.drop(columns="age"), tmp_path / "train" / "train.csv")
    monkeypatch.setenv("SM_CHANNEL_TRAIN", str(tmp_path / "train"))
    assert main([]) == EXIT_DATA_ERROR
    assert read_failure() == "data error: missing column 'age'"
    assert not (tmp_path / "model").exists()


def test_runs_as_a_script_mode_subprocess(prepared: Path, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "SM_CHANNEL_TRAIN": str(prepared / "train"),
        "SM_CHANNEL_VALIDATION": str(prepared / "validation"),
        "SM_MODEL_DIR": str(tmp_path / "model"),
        "SM_OUTPUT_DIR": str(tmp_path / "output"),
        "SM_OUTPUT_DATA_DIR": str(tmp_path / "output" / "data"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "ml.train", "--algorithm", "logistic_regression", "--C", "1.0"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "validation:auc=" in done.stdout
    assert (tmp_path / "model" / "model.joblib").is_file()
    assert not (tmp_path / "output" / "failure").exists()


def test_accepts_the_training_toolkits_single_dash_for_one_letter_names() -> None:
    # sagemaker_training.mapping.to_cmd_args writes one-letter names as ``-C`` (documented rule).
    args = parse_args(["-C", "0.5", "--max_iter", "50", "--algorithm", "logistic_regression"])
    assert (args.C, args.max_iter) == (0.5, 50)
