"""The model registry interface: one record shape for both backends (control plane).

A `ModelVersion` carries the fields of a SageMaker model package: group, version, approval
status, metrics (the model-quality `evaluation.json`), the artifact URI and its sha256, and
lineage. The local adapter stores them in SQLite, the SageMaker adapter in the Model Registry.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from deploy.errors import RegistryError

Status = Literal["PendingManualApproval", "Approved", "Rejected"]
STATUSES: tuple[Status, ...] = ("PendingManualApproval", "Approved", "Rejected")
BASELINE_FILES = ("statistics", "constraints")  # <name>.json, written by the pipeline's baseline step


@dataclass(frozen=True)
class ModelVersion:
    group: str
    version: int
    status: Status
    artifact_uri: str
    sha256: str
    evaluation: dict[str, Any]
    lineage: dict[str, Any]
    created_at: str
    arn: str
    status_reason: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    # The data-quality baseline: {"statistics": uri, "constraints": uri} of the files in
    # Model Monitor's shapes (the model package's DriftCheckBaselines on SageMaker).
    baselines: dict[str, str] = field(default_factory=dict)

    def metric(self, name: str) -> float | None:
        """A binary-classification metric's value from the SageMaker-shaped evaluation."""
        entry = self.evaluation.get("binary_classification_metrics", {}).get(name)
        return None if entry is None else float(entry["value"])

    def metrics(self) -> dict[str, float]:
        block = self.evaluation.get("binary_classification_metrics", {})
        return {k: float(v["value"]) for k, v in block.items() if isinstance(v, dict) and "value" in v}

    @property
    def label(self) -> str:
        return f"{self.group} v{self.version}"


class Registry(ABC):
    """What the commands need from a model registry; adapters raise `RegistryError`."""

    @abstractmethod
    def register(
        self,
        group: str,
        *,
        artifact_uri: str,
        sha256: str,
        evaluation: dict[str, Any],
        lineage: dict[str, Any],
        description: str = "",
        baselines: dict[str, str] | None = None,
    ) -> ModelVersion:
        """Add the next version of `group` as PendingManualApproval."""

    @abstractmethod
    def list(self, group: str) -> list[ModelVersion]:
        """All versions of `group`, oldest first (empty if the group has none)."""

    @abstractmethod
    def get(self, group: str, version: int) -> ModelVersion:
        """One version; `RegistryError` naming group and version if it does not exist."""

    @abstractmethod
    def update_status(
        self, group: str, version: int, status: Status, *, reason: str = "", metadata: dict[str, str] | None = None
    ) -> ModelVersion:
        """Approve or reject a version, recording why and any audit metadata."""

    @abstractmethod
    def store_artifact(self, source: Path) -> tuple[str, str]:
        """Bring a local model.tar.gz into the registry's artifact store; returns (uri, sha256)."""

    @abstractmethod
    def store_baseline(self, folder: Path) -> dict[str, str]:
        """Bring a local baseline folder's statistics.json and constraints.json into the store; returns their URIs."""

    @abstractmethod
    def read_baseline(self, model: ModelVersion, name: str) -> dict[str, Any]:
        """One baseline document of a version (`statistics` or `constraints`); `RegistryError` if it has none."""

    @abstractmethod
    def artifact_sha256(self, model: ModelVersion) -> str:
        """sha256 of the artifact bytes as stored now (what deploy checks against the pin)."""

    def latest(self, group: str) -> ModelVersion | None:
        versions = self.list(group)
        return versions[-1] if versions else None

    def resolve(self, group: str, version: int | None) -> ModelVersion:
        """`version`, or the newest one when it is None."""
        if version is not None:
            return self.get(group, version)
        newest = self.latest(group)
        if newest is None:
            raise RegistryError(f"model package group '{group}' has no versions yet: run `mlops pipeline run`")
        return newest


def baseline_digest(sha256s: dict[str, str]) -> str:
    """One digest for the baseline files: sha256 of `sha256sum`-style lines, sorted by name."""
    lines = "".join(f"{sha256s[name]}  {name}.json\n" for name in sorted(sha256s))
    return "sha256:" + hashlib.sha256(lines.encode()).hexdigest()


def check_status(status: str) -> Status:
    if status not in STATUSES:
        raise RegistryError(f"unknown status '{status}' (allowed: {', '.join(STATUSES)})")
    return status  # type: ignore[return-value]
