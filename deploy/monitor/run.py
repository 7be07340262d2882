"""`mlops monitor`: the pinned model's baseline against the traffic its endpoint captured (control plane).

Written once for both backends: the registry hands over the baseline files, the backend
fetches the captured traffic (the local capture folder, or the S3 capture prefix), and the
monitor step (`python -m ml.monitor`, the same code a SageMaker Processing job runs) judges
it in a job folder under `.mlops/monitor/`. Errors are typed: a bad config or window is a
`ConfigError`, missing traffic or a baseline the step cannot read a `DataError`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from deploy.backends import Backend
from deploy.config.monitoring import CATEGORICAL_TESTS, NUMERIC_TESTS
from deploy.config.schema import EnvironmentConfig
from deploy.errors import ConfigError, DataError, StepFailed
from deploy.registry import BASELINE_FILES, ModelVersion

_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


@dataclass(frozen=True)
class MonitorRun:
    env: str
    model: ModelVersion
    source: str
    since: datetime | None
    result: dict[str, Any]
    violations: list[dict[str, str]]
    folder: Path

    @property
    def drift(self) -> bool:
        return self.result["status"] == "drift"


def parse_window(text: str, where: str = "--since") -> timedelta:
    """`90m`, `24h`, `7d` as a timedelta; a `ConfigError` naming `where` otherwise."""
    match = re.fullmatch(r"([1-9][0-9]*)([mhd])", text.strip())
    if not match:
        raise ConfigError(f"{where}: '{text}' is not a duration (e.g. 90m, 24h, 7d) or an ISO time")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def window_start(text: str, where: str, now: datetime) -> datetime:
    """A duration back from `now` (`24h`), or a time (`2026-03-01T12:00:00Z`; without a zone, UTC)."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return now - parse_window(text, where)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def pinned_model(backend: Backend, group: str, env: str, cfg: EnvironmentConfig) -> ModelVersion:
    if not cfg.model.pinned:
        raise ConfigError(f"config/{env}.yaml: model.version is not pinned: no model is deployed to monitor")
    assert cfg.model.version is not None
    return backend.registry().get(group, cfg.model.version)


def check_rules(env: str, cfg: EnvironmentConfig, statistics: dict[str, Any]) -> None:
    """Per-feature rules must name a baseline feature and suit its kind."""
    kinds = {e["name"]: e["inferred_type"] == "String" for e in statistics["features"]}
    problems = []
    for name, rule in cfg.monitoring.features.items():
        where = f"config/{env}.yaml: monitoring.features.{name}"
        if name not in kinds:
            problems.append(f"{where}: not a feature of the model (allowed: {', '.join(kinds)})")
            continue
        allowed = CATEGORICAL_TESTS if kinds[name] else NUMERIC_TESTS
        if rule.test is not None and rule.test not in allowed:
            kind = "categorical" if kinds[name] else "numeric"
            problems.append(
                f"{where}.test: '{rule.test}' does not suit a {kind} feature (allowed: {', '.join(allowed)})"
            )
    if problems:
        raise ConfigError(problems[0], details=problems)


def _write_baseline(backend: Backend, model: ModelVersion, folder: Path) -> dict[str, Any]:
    folder.mkdir(parents=True, exist_ok=True)
    documents = {name: backend.registry().read_baseline(model, name) for name in BASELINE_FILES}
    for name, document in documents.items():
        (folder / f"{name}.json").write_text(json.dumps(document), encoding="utf-8")
    return documents["statistics"]


@dataclass(frozen=True)
class MonitorJob:
    """What a monitor step needs: where the traffic is, since when, with which baseline and settings."""

    env: str
    config: EnvironmentConfig
    model: ModelVersion
    since: datetime | None  # None: read the given data whole
    data: str | None  # --data, else the endpoint's capture
    folder: Path  # the local job folder; baseline/ and monitoring.json are in it
    settings: dict[str, Any]


class MonitorStep:
    """Runs `ml.monitor` as a local subprocess; a backend may run it elsewhere (a Processing job).

    `run` returns a local folder holding `monitor_result.json` and `constraint_violations.json`.
    """

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def run(self, job: MonitorJob) -> Path:
        traffic = self.traffic(job)
        args = ["--baseline-dir", str(job.folder / "baseline"), "--data", str(traffic)]
        args += ["--output-dir", str(job.folder / "output"), "--config", str(job.folder / "monitoring.json")]
        if job.since is not None:
            args += ["--since", job.since.isoformat()]
        run_step(self.backend.workspace.root, args, job.folder)
        return job.folder / "output"

    def traffic(self, job: MonitorJob) -> Path:
        location = job.data or self.backend.capture_location(job.config)
        if location.startswith("s3://"):
            from deploy.monitor.s3_capture import download_capture  # botocore only when S3 is involved

            return download_capture(self.backend.s3_client(), location, job.since, job.folder / "capture")
        path = Path(location)
        if not path.exists():
            where = f"--data {job.data}" if job.data else f"endpoint '{job.config.endpoint.name}'"
            raise DataError(f"{where}: no captured traffic at {path}")
        return path


def monitor_env(
    backend: Backend, group: str, env: str, cfg: EnvironmentConfig, window: str | None, data: str | None
) -> MonitorRun:
    """Run the monitor step for environment `env` and return what it found."""
    where = "--since" if window else f"config/{env}.yaml: monitoring.window"
    since = window_start(window or cfg.monitoring.window, where, datetime.now(UTC))
    model = pinned_model(backend, group, env, cfg)
    if data is None and not cfg.endpoint.data_capture.enabled:
        raise ConfigError(
            f"config/{env}.yaml: endpoint.data_capture.enabled is false: no traffic is captured "
            "(enable it, or pass --data FILE)"
        )
    folder = backend.workspace.ensure().state / "monitor" / env / datetime.now(UTC).strftime("%Y%m%dT%H%M%S-%f")
    statistics = _write_baseline(backend, model, folder / "baseline")
    check_rules(env, cfg, statistics)
    settings = cfg.monitoring.step_settings()
    (folder / "monitoring.json").write_text(json.dumps(settings), encoding="utf-8")
    windowed = data is None or window is not None  # a given file is read whole unless a window is asked for
    job = MonitorJob(env, cfg, model, since if windowed else None, data, folder, settings)
    output = backend.monitor_step().run(job)
    result = json.loads((output / "monitor_result.json").read_text(encoding="utf-8"))
    violations = json.loads((output / "constraint_violations.json").read_text(encoding="utf-8"))
    source = data or backend.capture_location(cfg)
    return MonitorRun(env, model, source, job.since, result, violations["violations"], folder)


def run_step(root: Path, args: list[str], job: Path, module: str = "ml.monitor") -> None:
    """Run a container step as a local subprocess in `job`; its failure as a typed error."""
    env = dict(os.environ, PYTHONUNBUFFERED="1", SM_OUTPUT_DIR=str(job / "output"))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-m", module, *args], cwd=root, env=env, capture_output=True, text=True, check=False
    )
    (job / "logs.txt").write_text(done.stdout + done.stderr, encoding="utf-8")
    if done.returncode == 0:
        return
    failure = job / "output" / "failure"
    reason = failure.read_text().strip() if failure.is_file() else (done.stderr.strip().splitlines() or ["?"])[-1]
    raise step_failure(reason, str(job / "logs.txt"))


def step_failure(reason: str, log: str | None) -> DataError | StepFailed:
    """A monitor step's failure as the typed error the CLI maps to an exit code."""
    if reason.startswith("data error: "):
        return DataError(f"monitor: {reason.removeprefix('data error: ')}")
    return StepFailed("monitor", reason, log=log)
