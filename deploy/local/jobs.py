"""Local jobs: each pipeline step as a subprocess under the SageMaker container contract.

Runs on the control plane. A job gets its own folder with an `opt/ml/` tree; container paths
in the step list (`/opt/ml/processing/input/raw`, `/opt/ml/model`, …) are mapped into it,
inputs are linked from earlier steps, and training gets the `SM_*` variables and
hyperparameters as arguments built with the training toolkit's rule (`--name value`,
`-n value` for one-letter names), exactly as in SageMaker script mode.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from deploy.artifacts import file_sha256, pack_model_dir
from deploy.config.schema import PipelineConfig
from deploy.errors import DataError, StepFailed
from deploy.pipeline.data import ResolvedData
from deploy.pipeline.runner import PipelineProgress, PipelineResult, PipelineRunner
from deploy.pipeline.steps import Step, build_steps
from deploy.registry import BASELINE_FILES, baseline_digest

DATA_ERROR_EXIT = 3  # the container steps' exit code for rejected data


class LocalJobs(PipelineRunner):
    def __init__(self, root: Path, runs_dir: Path) -> None:
        self.root = Path(root)
        self.runs_dir = Path(runs_dir)

    def run(
        self, cfg: PipelineConfig, data: ResolvedData, overrides: dict[str, str], progress: PipelineProgress
    ) -> PipelineResult:
        if data.local_path is None:
            raise DataError(f"{data.source}: the local backend needs a local copy of the data")
        run_dir = self.runs_dir / datetime.now(UTC).strftime("%Y%m%dT%H%M%S-%f")
        outputs: dict[str, Path] = {
            "data.raw": _stage_raw(run_dir / "data" / "raw", data.local_path),
            "data.schema": _stage_schema(run_dir / "data" / "schema", cfg),
        }
        timings: dict[str, float] = {}
        for step in build_steps(cfg, overrides):
            started = time.monotonic()
            progress.step_started(step.name, step.kind)
            outputs.update(self._run_step(step, run_dir / step.name, outputs, progress))
            timings[step.name] = round(time.monotonic() - started, 3)
            progress.step_finished(step.name, timings[step.name])
        evaluation = json.loads((outputs["evaluate.evaluation"] / "evaluation.json").read_text())
        model_tar = outputs["train.model"] / "model.tar.gz"
        baseline = outputs["baseline.baseline"]
        digests = {name: file_sha256(baseline / f"{name}.json") for name in BASELINE_FILES}
        return PipelineResult(
            evaluation=evaluation,
            timings=timings,
            sha256=file_sha256(model_tar),
            artifact_path=model_tar,
            data_digest=data.digest,
            baseline_path=baseline,
            extra_lineage={"run_dir": str(run_dir), "baseline_digest": baseline_digest(digests)},
            jobs={step.name: estimated_job(cfg, step, timings[step.name]) for step in build_steps(cfg, overrides)},
        )

    def _run_step(
        self, step: Step, job_dir: Path, outputs: dict[str, Path], progress: PipelineProgress
    ) -> dict[str, Path]:
        container = job_dir / "opt" / "ml"
        for item in step.inputs:
            _link(outputs[item.source], _host(container, item.container_path))
        env = _environment(step, container, self.root)
        args = [_map_arg(container, a) for a in step.arguments]
        args += hyperparameter_args(step.hyperparameters)
        _execute(step, [sys.executable, "-m", step.module, *args], env, self.root, job_dir, progress)
        produced = {f"{step.name}.{o.name}": _host(container, o.container_path) for o in step.outputs}
        if step.kind == "training":
            # SageMaker packs /opt/ml/model into model.tar.gz after training; so do we.
            packed = job_dir / "output"
            pack_model_dir(produced[f"{step.name}.model"], packed / "model.tar.gz")
            produced[f"{step.name}.model"] = packed
        return produced


def estimated_job(cfg: PipelineConfig, step: Step, seconds: float) -> dict[str, Any]:
    """What SageMaker would bill for this step: its configured instances for the time it took here."""
    compute = cfg.sagemaker.training if step.kind == "training" else cfg.sagemaker.processing
    return {
        "use": step.kind,
        "instance_type": compute.instance_type,
        "instance_count": compute.instance_count,
        "billed_seconds": seconds,
        "run_seconds": seconds,
        "spot": step.kind == "training" and cfg.sagemaker.training.spot,
        "estimate": True,
    }


def hyperparameter_args(hyperparameters: dict[str, str]) -> list[str]:
    """Command-line arguments with the training toolkit's rule: ``-n v`` for one letter, else ``--name v``."""
    args: list[str] = []
    for name, value in hyperparameters.items():
        args += [f"-{name}" if len(name) == 1 else f"--{name}", str(value)]
    return args


def _host(container: Path, container_path: str) -> Path:
    return container / container_path.removeprefix("/opt/ml/")


def _map_arg(container: Path, arg: str) -> str:
    return str(_host(container, arg)) if arg.startswith("/opt/ml/") else arg


def _link(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.symlink_to(source.resolve(), target_is_directory=True)


def _stage_raw(folder: Path, data_file: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if data_file.is_dir():
        return data_file
    (folder / data_file.name).symlink_to(data_file.resolve())
    return folder


def _stage_schema(folder: Path, cfg: PipelineConfig) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "schema.json").write_text(json.dumps(cfg.features.schema_document(), indent=2))
    return folder


def _environment(step: Step, container: Path, root: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    env["SM_OUTPUT_DIR"] = str(container / "output")
    if step.kind == "training":
        channels = [i.name for i in step.inputs]
        env.update(
            SM_MODEL_DIR=str(container / "model"),
            SM_OUTPUT_DATA_DIR=str(container / "output" / "data"),
            SM_CHANNELS=json.dumps(channels),
            SM_HPS=json.dumps(step.hyperparameters),
            SM_CURRENT_HOST="algo-1",
            SM_HOSTS=json.dumps(["algo-1"]),
            SM_NUM_CPUS=str(os.cpu_count() or 1),
        )
        for item in step.inputs:
            env[f"SM_CHANNEL_{item.name.upper()}"] = str(_host(container, item.container_path))
        (container / "model").mkdir(parents=True, exist_ok=True)
    return env


def _execute(
    step: Step, cmd: list[str], env: dict[str, str], cwd: Path, job_dir: Path, progress: PipelineProgress
) -> None:
    log_path = job_dir / "logs.txt"
    job_dir.mkdir(parents=True, exist_ok=True)
    with (
        open(log_path, "w", encoding="utf-8") as log,
        subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
        ) as proc,
    ):
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                log.write(line)
                progress.step_output(step.name, line.rstrip())
            code = proc.wait()
        except KeyboardInterrupt:
            proc.terminate()
            proc.wait(timeout=10)
            progress.step_failed(step.name, "interrupted")
            raise StepFailed(step.name, "interrupted before it finished; nothing was registered") from None
    if code == 0:
        return
    failure = job_dir / "opt" / "ml" / "output" / "failure"
    reason = failure.read_text().strip() if failure.is_file() else _last_line(log_path, code)
    progress.step_failed(step.name, reason)
    if code == DATA_ERROR_EXIT:
        # The container's failure file says "data error: …"; the sentence already says so.
        raise DataError(f"step '{step.name}' rejected the data: {reason.removeprefix('data error: ')}")
    raise StepFailed(step.name, reason, log=str(log_path))


def _last_line(log_path: Path, code: int) -> str:
    lines = [ln for ln in log_path.read_text(errors="replace").splitlines() if ln.strip()]
    return f"exit code {code}: {lines[-1] if lines else 'no output'}"
