"""The record-level error policy of a batch job, applied to what the job wrote (control plane).

Each output line is `[id,]probability,label,error` (see `ml.batch`); a non-empty last field
is a record the model could not score. They are listed with their file, line number, ID and
reason in the side file `batch-errors.csv` next to the outputs, and the job fails when their
share of all records exceeds `batch.max_failed_share`. Outputs are streamed, never held.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from deploy.batch import ERRORS_FILE, OUTPUT_SUFFIX, BatchBackend
from deploy.errors import BatchFailed

MAX_LISTED = 100_000  # failed records written to the side file; the count stays exact beyond it


@dataclass
class RecordReport:
    records: int = 0
    failed: int = 0
    listed: list[tuple[str, int, str, str]] = field(default_factory=list)  # file, line, id, reason
    side_file: str | None = None

    @property
    def share(self) -> float:
        return self.failed / self.records if self.records else 0.0


def scan(backend: BatchBackend, output_uri: str, outputs: list[str], with_id: bool) -> RecordReport:
    report = RecordReport()
    for uri in outputs:
        name = uri.removeprefix(output_uri.rstrip("/")).lstrip("/").removesuffix(OUTPUT_SUFFIX)  # the input's name
        for number, line in enumerate(backend.read_lines(uri), 1):
            report.records += 1
            if line.endswith(","):
                continue  # a scored record: the error field is empty
            report.failed += 1
            if len(report.listed) < MAX_LISTED:
                report.listed.append((name, number, *_id_and_reason(line, with_id)))
    return report


def _id_and_reason(line: str, with_id: bool) -> tuple[str, str]:
    fields = next(csv.reader([line]), [])
    reason = fields[-1] if fields else "no answer for this record"
    return (fields[0] if with_id and len(fields) > 3 else ""), reason


def side_file_text(report: RecordReport, id_column: str | None) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["file", "line", id_column or "id", "reason"])
    writer.writerows(report.listed)
    return buffer.getvalue()


def apply_policy(
    backend: BatchBackend, output_uri: str, outputs: list[str], id_column: str | None, max_share: float
) -> RecordReport:
    """Write the side file if any record failed; raise BatchFailed past the allowed share."""
    report = scan(backend, output_uri, outputs, id_column is not None)
    if report.failed:
        report.side_file = backend.join(output_uri, ERRORS_FILE)
        backend.write_text(report.side_file, side_file_text(report, id_column))
    if report.share > max_share:
        first = report.listed[0]
        raise BatchFailed(
            f"{report.failed} of {report.records} records ({report.share:.2%}) could not be scored, more than "
            f"batch.max_failed_share {max_share:.2%}; first: {first[0]} line {first[1]}: {first[3]} "
            f"(all in {report.side_file})"
        )
    return report
