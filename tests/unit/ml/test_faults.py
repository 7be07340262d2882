"""Faulty artifacts for rollback drills load through the normal serving handlers."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from ml import inference
from ml.artifact import extract_archive
from ml.contract import EXIT_FAILURE
from ml.faults import main, make_faulty_artifact

REPO = Path(__file__).resolve().parents[3]
ROW = "12,70.5,846.0,1,41,20.5,month-to-month,electronic_check,fiber_optic,yes"


def _load(archive: Path, folder: Path) -> inference.ServingModel:
    return inference.model_fn(extract_archive(archive, folder))


def test_erroring_model_fails_at_predict(archive_dir: Path, tmp_path: Path) -> None:
    broken = make_faulty_artifact(archive_dir / "model.tar.gz", tmp_path / "broken.tar.gz", "error")
    model = _load(broken, tmp_path / "x")
    assert model.info["fault"]["kind"] == "error"
    data = inference.input_fn(ROW, "text/csv", model)
    with pytest.raises(RuntimeError, match="injected fault"):
        inference.predict_fn(data, model)


def test_slow_model_sleeps_then_answers_like_the_original(archive_dir: Path, model_dir: Path, tmp_path: Path) -> None:
    slow = make_faulty_artifact(archive_dir / "model.tar.gz", tmp_path / "slow.tar.gz", "slow", delay_ms=60)
    model, original = _load(slow, tmp_path / "x"), inference.model_fn(model_dir)
    data = inference.input_fn(ROW, "text/csv", model)
    started = time.perf_counter()
    answer = inference.predict_fn(data, model)
    assert time.perf_counter() - started >= 0.06
    np.testing.assert_allclose(answer["probability"], inference.predict_fn(data, original)["probability"])


def test_cli_output_loads_in_a_fresh_process(archive_dir: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ml.faults",
            "--kind",
            "slow",
            "--delay-ms",
            "5",
            "--source",
            str(archive_dir / "model.tar.gz"),
            "--output",
            str(tmp_path / "slow.tar.gz"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    model = _load(tmp_path / "slow.tar.gz", tmp_path / "x")
    assert type(model.estimator).__module__ == "ml.faults"
    body, _ = inference.output_fn(inference.predict_fn(inference.input_fn(ROW, "text/csv", model), model), None)
    assert len(json.loads(body)["predictions"]) == 1


def test_main_refuses_unknown_kind(archive_dir: Path, tmp_path: Path, read_failure) -> None:
    argv = ["--kind", "flaky", "--source", str(archive_dir / "model.tar.gz"), "--output", str(tmp_path / "o.tar.gz")]
    assert main(argv) == EXIT_FAILURE
    assert "invalid choice: 'flaky'" in read_failure()
