"""`mlops monitor quality`: the pinned model's metrics on labelled traffic, against its evaluation (control plane).

Labels arrive after the fact (a customer churned or not). The step `ml.model_quality` joins
them to the captured inferences by `inference_id` (or the capture's `event_id`) and computes
the metrics of `evaluation.json`; this module compares each metric of the gate with the
gate's threshold and with the model's own evaluation, where a fall of more than three of the
evaluation's bootstrap standard deviations counts as a degradation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from deploy.backends import Backend
from deploy.config.schema import EnvironmentConfig, GateConfig
from deploy.errors import ConfigError, DataError
from deploy.monitor.run import MonitorJob, pinned_model, run_step, window_start
from deploy.registry import ModelVersion

SIGMAS = 3.0


@dataclass(frozen=True)
class MetricCheck:
    name: str
    current: float | None
    baseline: float | None
    spread: float | None
    threshold: float | None
    direction: str

    @property
    def below_threshold(self) -> bool:
        if self.current is None or self.threshold is None:
            return False
        return self.current < self.threshold if self.direction == "higher" else self.current > self.threshold

    @property
    def degraded(self) -> bool:
        if None in (self.current, self.baseline) or not self.spread:
            return False
        fall = (self.baseline - self.current) if self.direction == "higher" else (self.current - self.baseline)  # type: ignore[operator]
        return fall > SIGMAS * self.spread  # type: ignore[operator]

    @property
    def breach(self) -> bool:
        return self.below_threshold or self.degraded


@dataclass(frozen=True)
class QualityRun:
    env: str
    model: ModelVersion
    join: dict[str, Any]
    checks: list[MetricCheck]
    folder: Path

    @property
    def breach(self) -> bool:
        return any(check.breach for check in self.checks)


def compare(report: dict[str, Any], model: ModelVersion, gate: GateConfig) -> list[MetricCheck]:
    current = report["binary_classification_metrics"]
    baseline = model.evaluation.get("binary_classification_metrics", {})
    checks = []
    for name, rule in gate.metrics.items():
        ours, theirs = current.get(name, {}), baseline.get(name, {})
        spread = theirs.get("standard_deviation")
        checks.append(MetricCheck(name, ours.get("value"), theirs.get("value"), spread, rule.threshold, rule.direction))
    return checks


def quality_env(
    backend: Backend, gate: GateConfig, group: str, env: str, cfg: EnvironmentConfig, labels: str, window: str | None
) -> QualityRun:
    model = pinned_model(backend, group, env, cfg)
    if not cfg.endpoint.data_capture.enabled:
        raise ConfigError(f"config/{env}.yaml: endpoint.data_capture.enabled is false: no inferences to join labels to")
    where = "--since" if window else f"config/{env}.yaml: monitoring.window"
    since = window_start(window or cfg.monitoring.window, where, datetime.now(UTC))
    folder = backend.workspace.ensure().state / "monitor" / env / datetime.now(UTC).strftime("quality-%Y%m%dT%H%M%S-%f")
    folder.mkdir(parents=True)
    job = MonitorJob(env, cfg, model, since, None, folder, {})
    traffic = backend.monitor_step().traffic(job)
    labels_path = _labels(backend, labels, folder)
    threshold = str(model.evaluation.get("model", {}).get("threshold", 0.5))
    args = ["--data", str(traffic), "--labels", str(labels_path), "--output-dir", str(folder / "output")]
    run_step(backend.workspace.root, [*args, "--threshold", threshold], folder, module="ml.model_quality")
    report = json.loads((folder / "output" / "quality.json").read_text(encoding="utf-8"))
    return QualityRun(env, model, report["join"], compare(report, model, gate), folder)


def _labels(backend: Backend, labels: str, folder: Path) -> Path:
    if not labels.startswith("s3://"):
        if not Path(labels).is_file():
            raise DataError(f"--labels {labels}: no such file")
        return Path(labels)
    bucket, _, key = labels[5:].partition("/")
    target = folder / "labels" / Path(key).name
    target.parent.mkdir(parents=True)
    from botocore.exceptions import ClientError

    try:
        backend.s3_client().download_file(bucket, key, str(target))
    except ClientError as exc:
        raise DataError(f"--labels {labels}: {exc.response.get('Error', {}).get('Code', '?')}") from None
    return target
