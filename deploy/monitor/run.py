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

DATA_ERROR_EXIT = 3  # the container steps' exit code for rejected data
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
        raise ConfigError(f"{where}: '{text}' is not a duration (e.g. 90m, 24h, 7d)")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


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


def _traffic(backend: Backend, env: str, cfg: EnvironmentConfig, data: str | None, since, job: Path) -> Path:
    if data is None and not cfg.endpoint.data_capture.enabled:
        raise ConfigError(
            f"config/{env}.yaml: endpoint.data_capture.enabled is false: no traffic is captured "
            "(enable it, or pass --data FILE)"
        )
    location = data or backend.capture_location(cfg)
    if location.startswith("s3://"):
        from deploy.monitor.s3_capture import download_capture  # botocore only when S3 is involved

        return download_capture(backend.s3_client(), location, since, job / "capture")
    path = Path(location)
    if not path.exists():
        where = f"--data {data}" if data else f"endpoint '{cfg.endpoint.name}'"
        raise DataError(f"{where}: no captured traffic at {path}")
    return path


def monitor_env(
    backend: Backend, group: str, env: str, cfg: EnvironmentConfig, window: str | None, data: str | None
) -> MonitorRun:
    """Run the monitor step for environment `env` and return what it found."""
    since = datetime.now(UTC) - parse_window(
        window or cfg.monitoring.window, "--since" if window else "monitoring.window"
    )
    model = pinned_model(backend, group, env, cfg)
    job = backend.workspace.ensure().state / "monitor" / env / datetime.now(UTC).strftime("%Y%m%dT%H%M%S-%f")
    statistics = _write_baseline(backend, model, job / "baseline")
    check_rules(env, cfg, statistics)
    traffic = _traffic(backend, env, cfg, data, since, job)
    settings = job / "monitoring.json"
    settings.write_text(json.dumps(cfg.monitoring.step_settings()), encoding="utf-8")
    args = ["--baseline-dir", str(job / "baseline"), "--data", str(traffic), "--output-dir", str(job / "output")]
    args += ["--config", str(settings)]
    windowed = data is None or window is not None  # a given file is read whole unless a window is asked for
    if windowed:
        args += ["--since", since.isoformat()]
    _run_step(backend.workspace.root, args, job)
    result = json.loads((job / "output" / "monitor_result.json").read_text(encoding="utf-8"))
    violations = json.loads((job / "output" / "constraint_violations.json").read_text(encoding="utf-8"))
    source = data or str(traffic)
    return MonitorRun(env, model, source, since if windowed else None, result, violations["violations"], job)


def _run_step(root: Path, args: list[str], job: Path) -> None:
    env = dict(os.environ, PYTHONUNBUFFERED="1", SM_OUTPUT_DIR=str(job / "output"))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-m", "ml.monitor", *args], cwd=root, env=env, capture_output=True, text=True, check=False
    )
    (job / "logs.txt").write_text(done.stdout + done.stderr, encoding="utf-8")
    if done.returncode == 0:
        return
    failure = job / "output" / "failure"
    reason = failure.read_text().strip() if failure.is_file() else (done.stderr.strip().splitlines() or ["?"])[-1]
    if done.returncode == DATA_ERROR_EXIT:
        raise DataError(f"monitor: {reason.removeprefix('data error: ')}")
    raise StepFailed("monitor", reason, log=str(job / "logs.txt"))
