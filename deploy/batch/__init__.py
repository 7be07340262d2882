"""Batch scoring with the pinned model: the interface both backends implement and the shapes they share (control plane).

`mlops batch` resolves the model pinned in `config/<env>.yaml` as a deploy does (registry
record, sha256 in git, bytes of the artifact), hands a `BatchJob` to the backend's
`BatchBackend` (locally `python -m ml.batch` over files; on SageMaker a Batch Transform job),
and applies the record-level error policy to what the job wrote (`deploy.batch.records`), the
same code on both backends because both write Transform's output layout: `<input file>.out`,
one line per input line, in order, `[id,]probability,label,error`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from deploy.config.schema import EnvironmentConfig
from deploy.registry import ModelVersion

ERRORS_FILE = "batch-errors.csv"
OUTPUT_SUFFIX = ".out"


@dataclass(frozen=True)
class BatchJob:
    """One run of `mlops batch`: what to score, with which model, where to write."""

    env: str
    config: EnvironmentConfig
    model: ModelVersion
    input_uri: str
    output_uri: str
    id_column: str | None
    commit: str
    started: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def name(self) -> str:
        """`<endpoint>-v<version>-<utc time>`: within the project's name prefix, ≤ 63 characters."""
        suffix = f"-v{self.model.version}-{self.started.strftime('%Y%m%d%H%M%S')}"
        return self.config.endpoint.name[: 63 - len(suffix) - 6].rstrip("-") + "-batch" + suffix


@dataclass
class BatchRun:
    """What a backend reports after its job ended well: the output files it wrote."""

    job_name: str
    outputs: list[str]
    seconds: float
    details: dict[str, Any] = field(default_factory=dict)


class BatchReporter(Protocol):
    def event(self, message: str) -> None:
        """A milestone or a status change of the job."""


class BatchBackend(ABC):
    @abstractmethod
    def check_locations(self, input_uri: str, output_uri: str) -> None:
        """Raise ConfigError if this backend cannot read the input or write the output."""

    @abstractmethod
    def run(self, job: BatchJob, reporter: BatchReporter) -> BatchRun:
        """Score every input file into `<output>/<relative name>.out`; raise BatchFailed if the job fails."""

    @abstractmethod
    def read_lines(self, uri: str) -> Iterator[str]:
        """The lines of one output file, without line ends, streamed."""

    @abstractmethod
    def write_text(self, uri: str, text: str) -> None:
        """Write a small text file (the side file of failed records)."""

    @staticmethod
    def join(base: str, name: str) -> str:
        return base.rstrip("/") + "/" + name
