"""The interface a backend implements to run the pipeline, and its progress events (control plane)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from deploy.config.schema import PipelineConfig
from deploy.pipeline.data import ResolvedData


class PipelineProgress(Protocol):
    def step_started(self, step: str, detail: str = "") -> None: ...
    def step_output(self, step: str, line: str) -> None: ...
    def step_finished(self, step: str, seconds: float) -> None: ...
    def step_failed(self, step: str, reason: str) -> None: ...


@dataclass
class PipelineResult:
    evaluation: dict[str, Any]
    timings: dict[str, float]
    sha256: str
    artifact_path: Path | None = None  # a local model.tar.gz the registry must store
    artifact_uri: str | None = None  # where the artifact already lives (S3)
    data_digest: str | None = None
    baseline_path: Path | None = None  # a local folder with statistics.json and constraints.json
    baseline_uris: dict[str, str] = field(default_factory=dict)  # where they already live (S3)
    extra_lineage: dict[str, Any] = field(default_factory=dict)
    # Per step, what it was (or would be) billed for: {"use", "instance_type", "instance_count",
    # "billed_seconds", "run_seconds", "spot", "estimate"}; the promotion report prices it.
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)


class PipelineRunner(ABC):
    @abstractmethod
    def run(
        self,
        cfg: PipelineConfig,
        data: ResolvedData,
        overrides: dict[str, str],
        progress: PipelineProgress,
    ) -> PipelineResult:
        """Run preprocess → train → evaluate → baseline; raise StepFailed/DataError and leave nothing registered."""

    def stop(self, cfg: PipelineConfig, marker: str | None) -> list[str]:
        """Stop runs still going after their command ended (those naming `marker`, or all when None).

        Local runs are child processes of the command and end with it: nothing to stop.
        """
        return []
