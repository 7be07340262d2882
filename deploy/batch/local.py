"""Local batch jobs: the serving handlers over files, in Transform's output layout (control plane).

The pinned `model.tar.gz` is verified against its sha256 and unpacked once (as a local
endpoint does), then each input file is scored by `python -m ml.batch` in its own process,
with `batch.instance_count` files at a time, as Transform spreads files over instances.
An input folder is read recursively; `<input>/a/x.csv` becomes `<output>/a/x.csv.out`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlparse

from deploy.batch import OUTPUT_SUFFIX, BatchBackend, BatchJob, BatchReporter, BatchRun
from deploy.errors import BatchFailed, ConfigError, DeployError
from deploy.local.model_store import unpack_verified
from deploy.workspace import Workspace


def input_files(source: Path) -> list[Path]:
    if source.is_file():
        return [source]
    return sorted(p for p in source.rglob("*") if p.is_file() and not any(s.startswith(".") for s in p.parts))


class LocalBatch(BatchBackend):
    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    def check_locations(self, input_uri: str, output_uri: str) -> None:
        for option, uri in (("--input", input_uri), ("--output", output_uri)):
            if "://" in uri:
                raise ConfigError(
                    f"{option} {uri}: the local backend reads and writes local paths (s3:// needs --backend sagemaker)"
                )
        source, target = Path(input_uri).resolve(), Path(output_uri).resolve()
        if not source.exists():
            raise ConfigError(f"--input {input_uri}: no such file or folder")
        if not input_files(source):
            raise ConfigError(f"--input {input_uri}: the folder holds no files to score")
        if target.is_file():
            raise ConfigError(f"--output {output_uri}: is a file; give a folder (outputs are <input file>.out)")
        if source.is_dir() and (target == source or source in target.parents):
            raise ConfigError(f"--output {output_uri}: lies inside --input {input_uri}; outputs would be read back")

    def run(self, job: BatchJob, reporter: BatchReporter) -> BatchRun:
        began = time.monotonic()
        model_dir = self._model_dir(job)
        source, target = Path(job.input_uri).resolve(), Path(job.output_uri).resolve()
        files = input_files(source)
        base = source.parent if source.is_file() else source
        names = [f.relative_to(base).as_posix() + OUTPUT_SUFFIX for f in files]
        plan = [(f, target / name, self.join(job.output_uri, name)) for f, name in zip(files, names, strict=True)]
        reporter.event(
            f"job '{job.name}': {len(files)} file(s) with {job.model.label}, "
            f"{job.config.batch.instance_count} at a time"
        )
        with ThreadPoolExecutor(max_workers=job.config.batch.instance_count) as pool:
            results = list(pool.map(lambda item: self._score(job, model_dir, *item, reporter), plan))
        records = sum(r["records"] for r in results)
        outputs = [self.join(job.output_uri, name) for name in names]
        return BatchRun(job.name, outputs, time.monotonic() - began, {"records": records})

    def _model_dir(self, job: BatchJob) -> Path:
        archive = Path(urlparse(job.model.artifact_uri).path)
        try:
            return unpack_verified(
                archive, job.config.model.sha256 or "", self.workspace.state / "batch" / "models", job.model.label
            )
        except DeployError as exc:
            raise BatchFailed(f"refusing to run the batch: {exc.message}") from None

    def _score(
        self, job: BatchJob, model_dir: Path, source: Path, target: Path, shown: str, reporter: BatchReporter
    ) -> dict:
        target.parent.mkdir(parents=True, exist_ok=True)
        cmd = [
            sys.executable,
            "-m",
            "ml.batch",
            "--model-dir",
            str(model_dir),
            "--input",
            str(source),
            "--output",
            str(target),
            "--max-payload-mb",
            str(job.config.batch.max_payload_mb),
        ]
        # Transform sends MaxConcurrentTransforms mini-batches at once; locally, one process each.
        cmd += ["--workers", str(job.config.batch.max_concurrent_transforms or os.cpu_count() or 1)]
        if job.id_column:
            cmd.append("--with-id")
        env = {
            # The worker processes are the parallelism: a BLAS or OpenMP pool in each of them only
            # spins on the cores the other workers need (twice the CPU seconds for the same rows).
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(self.workspace.root), os.environ.get("PYTHONPATH")])),
        }
        done = subprocess.run(cmd, cwd=self.workspace.root, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            lines = [line for line in done.stderr.splitlines() if line.strip()]
            raise BatchFailed(
                f"batch job '{job.name}' failed on {source}: exit {done.returncode}: "
                f"{lines[-1] if lines else 'no output'}"
            )
        stats = json.loads(done.stdout.strip().splitlines()[-1])
        reporter.event(f"{source.name}: {stats['records']} records in {stats['seconds']:.1f} s → {shown}")
        return stats

    def read_lines(self, uri: str) -> Iterator[str]:
        with open(uri, encoding="utf-8", newline="") as lines:
            for line in lines:
                yield line.rstrip("\r\n")

    def write_text(self, uri: str, text: str) -> None:
        Path(uri).parent.mkdir(parents=True, exist_ok=True)
        Path(uri).write_text(text, encoding="utf-8")
