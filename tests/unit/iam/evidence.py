"""Runs a job's commands in each of its situations, each in a fresh moto account; lists its IAM needs (test side).

Jobs that one workflow run runs one after another on the same account (deploy.yml's prod job
after its staging job; the read-only variants of one plan job) share each situation's account,
each recorded on its own.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import pytest

from deploy.batch.transform import TransformJobs
from deploy.bootstrap import template as cfn
from deploy.bootstrap.roles import Role
from deploy.bootstrap.template import Target
from deploy.config import load_pipeline
from deploy.pipeline.data import generate_builtin
from deploy.workspace import Workspace
from tests.aws_account import use_fake_account

from .actions import Naming, Need
from .conftest import TARGET
from .implied import Implied
from .jobs import Job, jobs_with_roles, role_outputs
from .recorder import CallRecorder
from .scenarios import served_first, situations
from .world import GITHUB_ONLY, MotoLookup, World

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
        _seed_sample_data(root)
        monkeypatch.setenv("MLOPS_ROOT", str(root))
        monkeypatch.chdir(root)
        use_fake_account(monkeypatch, tmp_path, target.region)
        recorder = CallRecorder()
        recorder.install(monkeypatch)
        with mock_aws():
            world = World(recorder, root, outputs, target, tmp_path)
            for name, value in world.environment().items():
                monkeypatch.setenv(name, value)
            # `mlops batch` reads the world's clock, so a job can run for hours between two polls.
            monkeypatch.setitem(TransformJobs.__init__.__kwdefaults__, "clock", world.clock)
            yield world


@cache
def _sample_data() -> Path:
    """The configured builtin sample, generated once per process (generating it makes no AWS call)."""
    data = load_pipeline(REPO / "config").data
    return generate_builtin(Path(tempfile.mkdtemp(prefix="iam-data-")), data.rows, data.seed)


def _seed_sample_data(root: Path) -> None:
    """Put the sample where `mlops pipeline run` caches it, as a second run in the same checkout finds it."""
    cache = Workspace(root).data_cache
    cache.mkdir(parents=True)
    shutil.copy2(_sample_data(), cache / _sample_data().name)


def _in_one_run(first: Job, then: Job) -> bool:
    """Whether `then` runs after `first` in one run of their workflow, on what `first` left behind.

    Either `then` deploys `--after` the environment that `first` deploys and smoke-tests with
    `--record` (deploy.yml: prod needs staging), or both are matrix variants of one job that
    only reads (`plan`), so neither can change what the other sees.
    """
    if first.workflow != then.workflow or first is then:
        return False
    verbs = {c.argv[0] for c in (*first.commands, *then.commands)} - GITHUB_ONLY
    if first.job_id == then.job_id and verbs == {"plan"}:
        return True
    afters = [c.argv[c.argv.index("--after") + 1] for c in then.commands if "--after" in c.argv]
    argvs = [c.argv for c in first.commands]
    return len(afters) == 1 and all(
        any(a[0] == verb and a[a.index("--env") + 1] == afters[0] and extra <= set(a) for a in argvs if "--env" in a)
        for verb, extra in (("deploy", set()), ("smoke", {"--record"}))
    )


def _run_of(job: Job) -> list[Job]:
    """The jobs recorded in one world per situation with `job`, in the order their workflow runs them."""
    chain = [job]
    while (before := next((j for j in JOBS.values() if _in_one_run(j, chain[0]) and j not in chain), None)) is not None:
        chain.insert(0, before)
    while (after := next((j for j in JOBS.values() if _in_one_run(chain[-1], j) and j not in chain), None)) is not None:
        chain.append(after)
    return chain


def jobs_needs(jobs: list[Job], target: Target, outputs: dict[str, str]) -> list[tuple[list[Need], list[str]]]:
    """Every IAM request each job makes across its situations; and calls with no IAM reference entry.

    Jobs of one workflow run (`_run_of`) are recorded one after another in each situation's
    world, as the workflow runs them; each is judged by its own calls only. A first job that
    deploys `--after` an environment finds the pin served there first (`served_first`).
    """
    kinds = situations(jobs[0])
    assert all(situations(job) == kinds for job in jobs[1:]), f"{[j.label for j in jobs]}: one run, other situations"
    found: list[tuple[list[Need], Naming]] = [([], Naming(target)) for _ in jobs]
    for situation in kinds:
        with fresh_world(target, outputs) as world:
            situation(world)
            served_first(world, jobs[0])
            for job, (needs, naming) in zip(jobs, found, strict=True):
                calls = world.run(job)
                implied = Implied(target, MotoLookup(world))
                for call in calls:
                    needs += naming.direct(call)
                    needs += list(implied.needs(call))
    return [(list(dict.fromkeys(needs)), naming.unknown) for needs, naming in found]


JOBS = {job.label: job for job in jobs_with_roles()}


@cache
def _outputs() -> dict[str, str]:
    return cfn.outputs(cfn.load(), TARGET)


_recorded: dict[tuple, tuple[tuple[Need, ...], tuple[str, ...]]] = {}


def evidence(label: str) -> tuple[tuple[Need, ...], tuple[str, ...]]:
    """The job's IAM needs, recorded once per process (jobs running the same commands share them)."""
    key = tuple(JOBS[label].commands)
    if key not in _recorded:
        run = _run_of(JOBS[label])
        for job, (needs, unknown) in zip(run, jobs_needs(run, TARGET, _outputs()), strict=True):
            _recorded.setdefault(tuple(job.commands), (tuple(needs), tuple(unknown)))
    return _recorded[key]


@cache
def variable_roles() -> dict[tuple[str, str | None], str]:
    """(variable, environment) → role name for project `mlops`, from bootstrap.sh's dry run."""
    return {key: arn.rsplit("/", 1)[-1] for key, arn in role_outputs().items() if ":role/" in arn}


def role_of(job: Job, template_roles: dict[str, Role]) -> Role:
    """The role the job assumes: its variable, as scripts/bootstrap.sh sets it (per environment first)."""
    key = (job.role_variable, job.environment)
    if key not in variable_roles():
        key = (job.role_variable, None)
    assert key in variable_roles(), f"{job.label}: scripts/bootstrap.sh sets no {job.role_variable} for it"
    name = variable_roles()[key].replace("mlops-", f"{TARGET.parameters['ProjectName']}-", 1)
    (role,) = [r for r in template_roles.values() if r.name == name]
    return role


def needs_by_role(template_roles: dict[str, Role]) -> dict[str, list[Need]]:
    """Role logical id → every request made with it, by its jobs or by services on its behalf."""
    by_role: dict[str, list[Need]] = {r: [] for r in template_roles}
    by_arn = {r.arn: r for r in template_roles.values()}
    for label, job in JOBS.items():
        caller = role_of(job, template_roles)
        for need in evidence(label)[0]:
            owner = caller if need.principal == "caller" else by_arn[need.principal]
            by_role[owner.logical_id].append(need)
    return by_role
