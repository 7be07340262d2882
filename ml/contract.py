"""The SageMaker container contract, resolved in one place; runs inside the container.

Training jobs (script mode) receive hyperparameters as ``--name value`` arguments and find
their folders through ``SM_*`` environment variables; processing jobs receive their folders
as arguments. Every step reads paths from here and passes them to a plain function, so the
functions stay testable on temporary folders.

Failure contract shared by every step: on error, write a one-line reason to
``$SM_OUTPUT_DIR/failure`` (the file SageMaker copies into ``FailureReason``) and to stderr,
then exit with ``EXIT_DATA_ERROR`` (3) for bad data or payloads and ``EXIT_FAILURE`` (1) for
anything else. Data errors are the user's to fix, so they get no traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_DATA_ERROR = 3

PROCESSING_INPUT = Path("/opt/ml/processing/input")
PROCESSING_OUTPUT = Path("/opt/ml/processing/output")
# SageMaker truncates FailureReason at 1 KB; keep the reason well within it.
_MAX_REASON_CHARS = 1000


class DataError(Exception):
    """Input data (or a payload) is wrong; the user fixes the data, not the code."""


class UsageError(Exception):
    """A step was called with bad arguments (unknown or malformed hyperparameters)."""


class StepParser(argparse.ArgumentParser):
    """Argument parser that raises instead of exiting, so the failure file is written."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


@dataclass(frozen=True)
class TrainingPaths:
    model_dir: Path
    train_dir: Path
    validation_dir: Path | None
    output_data_dir: Path
    output_dir: Path


def _env(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


def output_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where the failure file goes: ``SM_OUTPUT_DIR`` or SageMaker's ``/opt/ml/output``."""
    return Path(_env(env).get("SM_OUTPUT_DIR", "/opt/ml/output"))


def training_paths(env: Mapping[str, str] | None = None) -> TrainingPaths:
    """Folders of a training job; the validation channel is optional and may be absent."""
    values = _env(env)
    validation = Path(values.get("SM_CHANNEL_VALIDATION", "/opt/ml/input/data/validation"))
    return TrainingPaths(
        model_dir=Path(values.get("SM_MODEL_DIR", "/opt/ml/model")),
        train_dir=Path(values.get("SM_CHANNEL_TRAIN", "/opt/ml/input/data/train")),
        validation_dir=validation if validation.exists() else None,
        output_data_dir=Path(values.get("SM_OUTPUT_DATA_DIR", "/opt/ml/output/data")),
        output_dir=output_dir(values),
    )


def write_json(path: Path, document: object) -> None:
    """A step's JSON output as every step writes it: indented, keys sorted, one final newline, UTF-8."""
    Path(path).write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def one_line(text: str) -> str:
    """Collapse a message to one line that fits SageMaker's FailureReason."""
    line = " ".join(text.split())
    return line if len(line) <= _MAX_REASON_CHARS else line[: _MAX_REASON_CHARS - 3] + "..."


def write_failure(reason: str, env: Mapping[str, str] | None = None) -> None:
    """Record the reason for SageMaker and for whoever reads the job folder."""
    line = one_line(reason)
    print(line, file=sys.stderr)
    folder = output_dir(env)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "failure").write_text(line + "\n", encoding="utf-8")
    except OSError as error:
        # The exit code still reports the failure; a read-only output folder must not hide it.
        print(f"could not write {folder / 'failure'}: {error}", file=sys.stderr)


def run_step(step: Callable[[], object], env: Mapping[str, str] | None = None) -> int:
    """Run a step and turn its outcome into the exit code of the failure contract."""
    try:
        step()
    except DataError as error:
        write_failure(f"data error: {error}", env)
        return EXIT_DATA_ERROR
    except UsageError as error:
        write_failure(f"usage error: {error}", env)
        return EXIT_FAILURE
    except Exception as error:
        traceback.print_exc()
        write_failure(f"{type(error).__name__}: {error}", env)
        return EXIT_FAILURE
    return EXIT_OK


def exit_process(code: int) -> NoReturn:
    """End a job's process with `code`, its output flushed, skipping the interpreter's teardown.

    pyarrow (Parquet through pandas, the batch scorer's CSV reader) starts native thread pools,
    and a process that exits normally while they exist can abort in its C++ teardown
    ("terminate called without an active exception", exit 134; apache/arrow#34314): a job that
    did all of its work would fail. By the time a step returns, every file it wrote is closed
    and its pool of scoring processes is gone; what is left to flush is flushed here.
    """
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # closed, or its reader gone: nothing more to say
            stream.flush()
    os._exit(code)
