"""A stand-in for the scikit-learn 1.9-0 container on this machine: its packages, paths and environment (test side).

A job runs in a private mount namespace (`unshare`), where a temporary folder is mounted over
`/opt`, so the job sees `/opt/ml/...` exactly as in SageMaker while the host's `/opt` stays
untouched; its host name resolves as in a one-instance job; and the contract venv is overlaid
with a throwaway layer, so what the job installs (the serving toolkit `pip install`s the code at
start) leaves the cached venv as it was. The layer also holds the image's glue package
(`container/sagemaker_sklearn_container`), as pip would have put it. The environment is the
image's `ENV` plus what the job gets from SageMaker: nothing leaks in from the test process.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

GLUE = Path(__file__).parent / "container" / "sagemaker_sklearn_container"
# ENV of docker/sklearn/1.9-0/Dockerfile (aws/deep-learning-containers), PATH led by the venv's bin.
IMAGE_ENV = {
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONUNBUFFERED": "1",
    "PYTHONIOENCODING": "utf-8",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "SAGEMAKER_SKLEARN_VERSION": "1.9-0",
    "SM_INPUT": "/opt/ml/input",
    "SM_INPUT_TRAINING_CONFIG_FILE": "/opt/ml/input/config/hyperparameters.json",
    "SM_INPUT_DATA_CONFIG_FILE": "/opt/ml/input/config/inputdataconfig.json",
    "SM_CHECKPOINT_CONFIG_FILE": "/opt/ml/input/config/checkpointconfig.json",
    "SM_MODEL_DIR": "/opt/ml/model",
    "SAGEMAKER_TRAINING_MODULE": "sagemaker_sklearn_container.training:main",
    "SAGEMAKER_SERVING_MODULE": "sagemaker_sklearn_container.serving:main",
    "TEMP": "/home/model-server/tmp",
}
# /etc/hosts gains the job's host name (`algo-1`), which the training toolkit waits to resolve.
_MOUNT = (
    'set -e; mount --bind "$1" /opt; mount -t overlay overlay -o "$2" "$3"; mount --bind "$4" /etc/hosts; '
    'shift 4; exec "$@"'
)
HOST = "algo-1"


@dataclass(frozen=True)
class Container:
    """One job's container: `root/opt` is its `/opt`; `root/layer` its writable layer over the venv."""

    venv: Path
    root: Path

    @property
    def opt_ml(self) -> Path:
        """The host folder the job sees as `/opt/ml`."""
        return self.root / "opt" / "ml"

    def command(self, argv: list[str]) -> list[str]:
        """`argv` wrapped to run inside the container's namespace."""
        upper, work = self.root / "layer" / "upper", self.root / "layer" / "work"
        if not upper.exists():
            self._prepare(upper, work)
        options = f"lowerdir={self.venv},upperdir={upper},workdir={work}"
        user = [] if os.geteuid() == 0 else ["--user", "--map-root-user"]
        wrapper = ["unshare", *user, "--mount", "--propagation", "private", "/bin/sh", "-c", _MOUNT, "sh"]
        return [*wrapper, str(self.root / "opt"), options, str(self.venv), str(self.root / "hosts"), *argv]

    def environment(self, extra: dict[str, str]) -> dict[str, str]:
        path = f"{self.venv / 'bin'}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        return {"PATH": path, "HOME": str(self.root / "home"), **IMAGE_ENV, **extra}

    def run(self, argv: list[str], extra_env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(argv),
            env=self.environment(extra_env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def start(self, argv: list[str], extra_env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
        with log.open("wb") as sink:
            return subprocess.Popen(
                self.command(argv), env=self.environment(extra_env), stdout=sink, stderr=subprocess.STDOUT
            )

    def _prepare(self, upper: Path, work: Path) -> None:
        (self.root / "home").mkdir(parents=True, exist_ok=True)
        (self.root / "hosts").write_text(f"127.0.0.1 localhost {HOST}\n::1 localhost\n")
        self.opt_ml.mkdir(parents=True, exist_ok=True)
        work.mkdir(parents=True)
        (site,) = self.venv.glob("lib/python3.*/site-packages")
        target = upper / site.relative_to(self.venv) / GLUE.name
        shutil.copytree(GLUE, target, ignore=shutil.ignore_patterns("__pycache__"))
