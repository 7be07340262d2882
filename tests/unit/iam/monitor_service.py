"""The monitor's Processing job in the IAM world: captured traffic, a real baseline, the step run for real (test side).

moto records CreateProcessingJob and calls the job Completed, but writes nothing.
`MonitorService` plays the job: it reads the capture manifest and the baseline the request
names, runs the monitor step (`ml.monitor.run_monitor`) over them and writes its result where
the job's output goes. `put_traffic` is the endpoint's part: capture files under the capture
prefix of the pinned model's endpoint, and the pinned version's baseline replaced by one
computed from a model trained for real (the pipeline stand-in registers empty baselines).
"""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from .recorder import CallRecorder

BASELINE_NAMES = ("statistics", "constraints")


@cache
def trained_baseline() -> Path:
    """A model and its baseline, trained once per process (kept for the process's life)."""
    from tests.unit.deploy.monitor.trained_model import train_with_baseline

    return train_with_baseline(Path(tempfile.mkdtemp(prefix="iam-monitor-")))


class MonitorService:
    """Mixed into `World`: needs its `recorder`, `s3`, `bucket`, `tmp` and `_quietly`."""

    recorder: CallRecorder
    s3: Any
    bucket: str
    tmp: Path
    _quietly: Any

    def install_monitor(self) -> None:
        self.recorder.script("sagemaker", "CreateProcessingJob", self._create_processing)

    def put_traffic(self, frame: Any, capture_uri: str, baselines: dict[str, str]) -> None:
        """Capture files for `frame` (scored by the trained model) under `capture_uri`; the real baseline."""
        from ml.artifact import load_model
        from tests.unit.ml.capture_files import write_capture

        trained = trained_baseline()
        estimator, info = load_model(trained / "model")
        local = self.tmp / "capture"
        scores = estimator.predict_proba(frame[info["features"]])[:, 1]
        path = write_capture(local, frame, scores, when=datetime.now(UTC))
        bucket, _, prefix = capture_uri.removeprefix("s3://").partition("/")
        key = f"{prefix.rstrip('/')}/{path.relative_to(local).as_posix().split('/', 1)[1]}"
        self._quietly(self.s3.upload_file, Filename=str(path), Bucket=bucket, Key=key)
        for name in BASELINE_NAMES:
            body = (trained / "base" / f"{name}.json").read_bytes()
            bucket, _, key = baselines[name].removeprefix("s3://").partition("/")
            self._quietly(self.s3.put_object, Bucket=bucket, Key=key, Body=body)

    def _create_processing(self, params: dict[str, Any]) -> None:
        """The job's part (quietly): the monitor step over the manifest's files; moto then records the job."""
        from ml.monitor import run_monitor

        work = Path(tempfile.mkdtemp(prefix="job-", dir=self.tmp))
        inputs = {i["InputName"]: i["S3Input"]["S3Uri"] for i in params["ProcessingInputs"]}
        for name in BASELINE_NAMES:
            self._download(inputs[name], work / "baseline" / f"{name}.json")
        prefix, *keys = json.loads(self._read(inputs["capture"]))
        for number, key in enumerate(keys):
            self._download(f"{prefix['prefix']}{key}", work / "capture" / f"{number}.jsonl")
        self._download(inputs["settings"], work / "monitoring.json")
        run_monitor(work / "baseline", work / "capture", work / "out", work / "monitoring.json")
        target = params["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
        bucket, _, key = target.removeprefix("s3://").partition("/")
        for produced in (work / "out").iterdir():
            self._quietly(self.s3.upload_file, Filename=str(produced), Bucket=bucket, Key=f"{key}/{produced.name}")

    def _read(self, uri: str) -> bytes:
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        return self._quietly(self.s3.get_object, Bucket=bucket, Key=key)["Body"].read()

    def _download(self, uri: str, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self._read(uri))
