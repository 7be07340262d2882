"""Deliberately faulty models for rollback drills; built locally, served by the unchanged container.

``ErroringModel`` fails every prediction (the endpoint answers 5xx) and ``SlowModel`` sleeps
before each prediction (latency alarms fire). Both wrap the real pipeline and expose the
``predict_proba`` that ``ml.inference`` uses, so ``model_fn`` loads them like any model and a
canary with one of them must roll back.

CLI: ``python -m ml.faults --kind error|slow [--delay-ms 200] --source model.tar.gz
--output broken.tar.gz``.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ml.artifact import extract_archive, load_model, pack_archive, save_model
from ml.contract import StepParser, exit_process, run_step

KINDS = ("error", "slow")


class ErroringModel:
    """Raises on every prediction."""

    def __init__(self, estimator: Any) -> None:
        self.estimator = estimator

    def predict_proba(self, features: Any) -> Any:
        raise RuntimeError("injected fault: ErroringModel refuses to predict")

    def predict(self, features: Any) -> Any:
        return self.predict_proba(features)


class SlowModel:
    """Sleeps ``delay_ms`` before delegating each prediction to the wrapped estimator."""

    def __init__(self, estimator: Any, delay_ms: float) -> None:
        self.estimator = estimator
        self.delay_ms = delay_ms

    def predict_proba(self, features: Any) -> Any:
        time.sleep(self.delay_ms / 1000)
        return self.estimator.predict_proba(features)

    def predict(self, features: Any) -> Any:
        time.sleep(self.delay_ms / 1000)
        return self.estimator.predict(features)


def wrap(estimator: Any, kind: str, delay_ms: float = 200.0) -> ErroringModel | SlowModel:
    if kind == "error":
        return ErroringModel(estimator)
    if kind == "slow":
        return SlowModel(estimator, delay_ms)
    raise ValueError(f"unknown fault kind {kind!r}; expected one of {', '.join(KINDS)}")


def make_faulty_artifact(src_tar_gz: Path, dst_tar_gz: Path, kind: str, delay_ms: float = 200.0) -> Path:
    """Copy a model archive with its estimator wrapped in the chosen fault."""
    with tempfile.TemporaryDirectory(prefix="fault-") as work:
        folder = extract_archive(Path(src_tar_gz), Path(work))
        estimator, info = load_model(folder)
        info["fault"] = {"kind": kind, "delay_ms": delay_ms if kind == "slow" else None}
        save_model(wrap(estimator, kind, delay_ms), info, folder)
        pack_archive(folder, Path(dst_tar_gz))
    return Path(dst_tar_gz)


def main(argv: Sequence[str] | None = None) -> int:
    parser = StepParser(prog="python -m ml.faults", description=__doc__, allow_abbrev=False)
    parser.add_argument("--kind", choices=KINDS, required=True)
    parser.add_argument("--delay-ms", type=float, default=200.0)
    parser.add_argument("--source", type=Path, required=True)
    parser.add_argument("--output", type=Path, required=True)

    def step() -> None:
        # Under ``python -m`` this module is ``__main__``; pickles must name ``ml.faults`` instead.
        from ml.faults import make_faulty_artifact

        args = parser.parse_args(argv)
        path = make_faulty_artifact(args.source, args.output, args.kind, args.delay_ms)
        print(f"faults: wrote {args.kind} model to {path}")

    return run_step(step)


if __name__ == "__main__":
    exit_process(main())
