"""`mlops batch`: score files with the model pinned in git, then apply the record-level error policy (control plane).

Written once against `BatchBackend`. The pin is resolved exactly as a deploy resolves it
(registry record, sha256 in git, the artifact's bytes), so a batch never scores with a model
git does not name.
"""

from __future__ import annotations

from dataclasses import dataclass

from deploy.backends import Backend
from deploy.batch import BatchJob, BatchReporter, BatchRun
from deploy.batch.records import RecordReport, apply_policy
from deploy.config.schema import EnvironmentConfig
from deploy.endpoints.reconcile import resolve_pinned_model
from deploy.errors import BatchFailed
from deploy.lineage import git_commit


@dataclass
class BatchReport:
    job: BatchJob
    run: BatchRun
    records: RecordReport

    def summary(self) -> str:
        rate = self.records.records / self.run.seconds if self.run.seconds else 0.0
        text = (
            f"{self.job.env}: {self.records.records} records through {self.job.model.label} in "
            f"{self.run.seconds:.1f} s ({rate:,.0f} rows/s) → {self.job.output_uri}"
        )
        if self.records.failed:
            text += f"; {self.records.failed} failed ({self.records.share:.2%}), listed in {self.records.side_file}"
        return text


def run_batch(
    backend: Backend,
    env: str,
    cfg: EnvironmentConfig,
    input_uri: str,
    output_uri: str,
    id_column: str | None,
    reporter: BatchReporter,
) -> BatchReport:
    batch = backend.batch()
    batch.check_locations(input_uri, output_uri)
    model = resolve_pinned_model(backend, env, cfg, action="run a batch with", error=BatchFailed)
    job = BatchJob(env, cfg, model, input_uri, output_uri, id_column, git_commit(backend.workspace.root))
    run = batch.run(job, reporter)
    records = apply_policy(batch, output_uri, run.outputs, id_column, cfg.batch.max_failed_share)
    return BatchReport(job, run, records)
