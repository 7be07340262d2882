"""The container contract: paths from SM_* variables and the failure-file/exit-code rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from ml.contract import (
    EXIT_DATA_ERROR,
    EXIT_FAILURE,
    EXIT_OK,
    DataError,
    UsageError,
    one_line,
    run_step,
    training_paths,
)


def test_training_paths_default_to_sagemaker_locations() -> None:
    paths = training_paths({})
    assert paths.model_dir == Path("/opt/ml/model")
    assert paths.train_dir == Path("/opt/ml/input/data/train")
    assert paths.output_data_dir == Path("/opt/ml/output/data")
    assert paths.output_dir == Path("/opt/ml/output")


def test_training_paths_follow_environment(tmp_path: Path) -> None:
    (tmp_path / "val").mkdir()
    env = {
        "SM_MODEL_DIR": str(tmp_path / "m"),
        "SM_CHANNEL_TRAIN": str(tmp_path / "tr"),
        "SM_CHANNEL_VALIDATION": str(tmp_path / "val"),
        "SM_OUTPUT_DIR": str(tmp_path / "out"),
    }
    paths = training_paths(env)
    assert paths.model_dir == tmp_path / "m"
    assert paths.train_dir == tmp_path / "tr"
    assert paths.validation_dir == tmp_path / "val"
    assert paths.output_dir == tmp_path / "out"


def test_absent_validation_channel_is_none(tmp_path: Path) -> None:
    assert training_paths({"SM_CHANNEL_VALIDATION": str(tmp_path / "nope")}).validation_dir is None


def _raise(error: Exception) -> None:
    raise error


def test_success_writes_no_failure(sm_output: Path) -> None:
    assert run_step(lambda: None) == EXIT_OK
    assert not (sm_output / "failure").exists()


def test_data_error_exits_3_without_traceback(read_failure, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_step(lambda: _raise(DataError("column 'x': bad\nsecond line"))) == EXIT_DATA_ERROR
    assert read_failure() == "data error: column 'x': bad second line"
    assert "Traceback" not in capsys.readouterr().err


def test_usage_error_exits_1(read_failure) -> None:
    assert run_step(lambda: _raise(UsageError("unknown hyperparameters --foo"))) == EXIT_FAILURE
    assert "--foo" in read_failure()


def test_unexpected_error_exits_1_with_traceback(read_failure, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_step(lambda: _raise(RuntimeError("boom"))) == EXIT_FAILURE
    assert read_failure() == "RuntimeError: boom"
    assert "Traceback" in capsys.readouterr().err


def test_one_line_caps_length() -> None:
    assert len(one_line("x " * 5000)) <= 1000


ENDS_WITH_EXIT_PROCESS = """
import atexit, logging, sys
from ml.contract import exit_process
atexit.register(lambda: print("teardown ran"))
logging.basicConfig(filename=sys.argv[1], level=logging.INFO)
logging.info("logged")
sys.stdout.write("printed, no newline")  # buffered: a pipe is not a terminal
sys.stderr.write("reason")
exit_process(3)
"""


def test_exit_process_flushes_everything_and_skips_the_teardown(tmp_path: Path) -> None:
    import subprocess
    import sys

    log = tmp_path / "step.log"
    done = subprocess.run([sys.executable, "-c", ENDS_WITH_EXIT_PROCESS, str(log)], capture_output=True, text=True,
                          timeout=60, check=False)  # fmt: skip
    assert (done.returncode, done.stdout, done.stderr) == (3, "printed, no newline", "reason")
    assert "logged" in log.read_text()


def test_every_job_entry_point_ends_through_exit_process() -> None:
    # A new step ending in sys.exit() would let the interpreter's teardown abort it after its work (see exit_process).
    import re

    from deploy.sagemaker.sourcedir import ENTRY_FILES, TRAIN_PROGRAM

    ml = Path(__file__).resolve().parents[3] / "ml"
    mains = {path.name: path.read_text() for path in ml.glob("*.py") if "__main__" in path.read_text()}
    mains[TRAIN_PROGRAM + " (generated)"] = ENTRY_FILES[TRAIN_PROGRAM]
    assert len(mains) >= 9
    for name, text in mains.items():
        tail = text.split('if __name__ == "__main__":', 1)[-1]
        assert re.search(r"^\s*exit_process\(main\(\)\)\s*$", tail, re.M), name
