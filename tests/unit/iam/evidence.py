"""Runs a job's commands in each of its situations, each in a fresh moto account, and lists its IAM needs (test side)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from deploy.bootstrap.template import Target
from tests.aws_account import use_fake_account

from .actions import Naming, Need
from .implied import Implied
from .jobs import Job
from .recorder import CallRecorder
from .scenarios import situations
from .world import MotoLookup, World

REPO = Path(__file__).resolve().parents[3]


@contextmanager
def fresh_world(target: Target, outputs: dict[str, str]) -> Iterator[World]:
    """A repository copy and a moto account holding what the bootstrap stack creates."""
    from moto import mock_aws

    with tempfile.TemporaryDirectory(prefix="iam-") as tmp, pytest.MonkeyPatch.context() as monkeypatch:
        tmp_path = Path(tmp)
        root = tmp_path / "repo"
        shutil.copytree(REPO / "config", root / "config")
        shutil.copytree(REPO / "ml", root / "ml", ignore=shutil.ignore_patterns("__pycache__"))
        config = root / "config" / "pipeline.yaml"
        config.write_text(config.read_text().replace("\nsagemaker:\n", "\nsagemaker:\n  poll_seconds: 0.01\n"))
        monkeypatch.setenv("MLOPS_ROOT", str(root))
        monkeypatch.chdir(root)
        use_fake_account(monkeypatch, tmp_path, target.region)
        recorder = CallRecorder()
        recorder.install(monkeypatch)
        with mock_aws():
            world = World(recorder, root, outputs, target, tmp_path)
            for name, value in world.environment().items():
                monkeypatch.setenv(name, value)
            yield world


def job_needs(job: Job, target: Target, outputs: dict[str, str]) -> tuple[list[Need], list[str]]:
    """Every IAM request `job` makes across its situations; and calls with no IAM reference entry."""
    needs: list[Need] = []
    naming = Naming(target)
    for situation in situations(job):
        with fresh_world(target, outputs) as world:
            situation(world)
            calls = world.run(job)
            implied = Implied(target, MotoLookup(world))
            for call in calls:
                needs += naming.direct(call)
                needs += list(implied.needs(call))
    return list(dict.fromkeys(needs)), naming.unknown
