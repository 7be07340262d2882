"""The situations each job's commands are driven through, so every path that calls AWS is taken (test side).

A job is judged by what its commands call in each situation it can meet: a train job with
no champion (the candidate is proposed) and with a better champion (the gate rejects it
and marks it Rejected); a deploy job on a first deploy (create), a new version (blue/green
update, old configs and models pruned) and a new version with autoscaling and data
capture switched on; a plan job against nothing and against live endpoints; a batch job
(dispatched with a nightly file under the bucket's batch/ prefix) that scores it and lists
an unscorable row in batch-errors.csv, whose transform job fails (its log stream is read),
and whose job runs past batch.max_runtime_seconds (it is stopped); a monitor job over
captured traffic that is in distribution (no drift) and shifted (drift, exit 18). Setup runs the same
commands unrecorded: only the job under test is judged.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from deploy.cli.app import main

from .batch_service import customers
from .jobs import Job
from .world import GITHUB_ONLY, POOR, World

EXTRA_ALARM = """  - name: churn-{env}-4xx
    metric: Invocation4XXErrors
    statistic: Sum
    threshold: 100
    period_seconds: 60
"""

MONITOR_ALARM = """    - name: churn-{env}-age-drift
      metric: drift_score
      feature: age
      threshold: 1
"""
MONITORING = (
    """monitoring:
  alarms:
    - name: churn-{env}-drifted-features
      metric: drifted_features
      threshold: 1
"""
    + MONITOR_ALARM
)

# Autoscaling, data capture, one superseded config kept, an extra alarm and monitoring alarms, in both environments.
FEATURES = [
    (
        "staging.yaml",
        "  instance_count: 1\n",
        "  instance_count: 1\n  keep_previous: 1\n"
        "  autoscaling: {enabled: true, min_capacity: 1, max_capacity: 2}\n  data_capture: {enabled: true}\n",
    ),
    ("prod.yaml", "  instance_count: 2\n", "  instance_count: 2\n  keep_previous: 1\n"),
    ("prod.yaml", "  data_capture:\n    enabled: false", "  data_capture:\n    enabled: true"),
    ("prod.yaml", "  autoscaling:\n    enabled: false", "  autoscaling:\n    enabled: true"),
    ("staging.yaml", "alarms:\n", "alarms:\n" + EXTRA_ALARM.format(env="staging")),
    ("prod.yaml", "alarms:\n", "alarms:\n" + EXTRA_ALARM.format(env="prod")),
    ("staging.yaml", "\nlocal:\n", "\n" + MONITORING.format(env="staging") + "\nlocal:\n"),
    ("prod.yaml", "\nlocal:\n", "\n" + MONITORING.format(env="prod") + "\nlocal:\n"),
]
# A change the next deploy makes: a bigger instance (autoscaling is deregistered first), the extra alarms gone,
# the dashboard switched off (deleted).
CHANGES = [
    ("staging.yaml", "instance_type: ml.m5.large", "instance_type: ml.m5.xlarge"),
    ("prod.yaml", "instance_type: ml.m5.large", "instance_type: ml.m5.xlarge"),
    ("staging.yaml", EXTRA_ALARM.format(env="staging"), ""),
    ("prod.yaml", EXTRA_ALARM.format(env="prod"), ""),
    ("staging.yaml", MONITOR_ALARM.format(env="staging"), ""),
    ("prod.yaml", MONITOR_ALARM.format(env="prod"), ""),
    ("staging.yaml", "monitoring:\n", "monitoring:\n  dashboard: false\n"),
    ("prod.yaml", "monitoring:\n", "monitoring:\n  dashboard: false\n"),
]


def edit(world: World, edits: list[tuple[str, str, str]]) -> None:
    for name, old, new in edits:
        path = Path(world.root, "config", name)
        text = path.read_text()
        if old not in text:
            raise AssertionError(f"setup: {path.name} no longer holds {old!r}")
        path.write_text(text.replace(old, new, 1))


def _ok(argv: list[str]) -> None:
    code = main(argv)
    if code != 0:
        raise AssertionError(f"setup: mlops {' '.join(argv)} exited {code}")


def train_and_promote(world: World) -> None:
    _ok(["pipeline", "run", "--backend", "sagemaker"])
    _ok(["promote", "--backend", "sagemaker"])


def deploy_all(world: World) -> None:
    _ok(["deploy", "--env", "staging", "--backend", "sagemaker"])
    _ok(["smoke", "--env", "staging", "--backend", "sagemaker", "--record"])
    _ok(["deploy", "--env", "prod", "--backend", "sagemaker"])


def served_first(world: World, job: Job) -> None:
    """A job deploying `--after <env>` needs the pin served there first (deployed and smoke-tested)."""
    for command in job.commands:
        if "--after" in command.argv:
            env = command.argv[command.argv.index("--after") + 1]
            _ok(["deploy", "--env", env, "--backend", "sagemaker"])
            _ok(["smoke", "--env", env, "--backend", "sagemaker", "--record"])


def nothing(world: World) -> None:
    """A fresh account: nothing registered, nothing deployed."""


def better_champion(world: World) -> None:
    """A champion is pinned; the next candidate, trained with other settings, scores worse."""
    train_and_promote(world)
    world.evaluation = POOR
    edit(world, [("pipeline.yaml", "    C: 1.0\n", "    C: 0.5\n")])  # the pipeline definition changes


def cancelled(world: World) -> None:
    """The job is cancelled while the pipeline runs: the stop step stops this run's execution."""
    world.cancel_while_running = True
    world.expect_exit = 130


def failing_step(world: World) -> None:
    """The preprocess job fails: its reason and log stream are read."""
    world.failing_step = "preprocess"
    world.expect_exit = 6


def first_deploy(world: World) -> None:
    train_and_promote(world)


def new_version(world: World) -> None:
    train_and_promote(world)
    deploy_all(world)
    train_and_promote(world)


def new_version_with_features(world: World) -> None:
    """Two versions live with every feature on; the next comes with a bigger instance, fewer alarms, no dashboard."""
    edit(world, FEATURES)
    for _ in range(3):  # live, previous and one kept: the fourth deploy prunes the first
        train_and_promote(world)
        deploy_all(world)
    train_and_promote(world)
    edit(world, CHANGES)


def live_endpoints(world: World) -> None:
    edit(world, FEATURES)
    train_and_promote(world)
    deploy_all(world)


def nightly_file(world: World) -> None:
    """A promoted model, and a nightly file of 200 customers (one row broken) for batch.yml to score."""
    world.scores = True
    train_and_promote(world)
    body = customers(200, {12: "1,2,3"})
    world.s3.put_object(Bucket=world.bucket, Key="batch/in/nightly.csv", Body=body)
    world.dispatch = {
        "input_uri": f"s3://{world.bucket}/batch/in/",
        "output_uri": f"s3://{world.bucket}/batch/out/",
        "id_column": "customer_id",
    }


def transform_fails(world: World) -> None:
    """The transform job fails: its reason and log stream are read."""
    nightly_file(world)
    world.transform_outcome = "Failed"
    world.expect_exit = 17


def transform_overruns(world: World) -> None:
    """The transform job is still running after batch.max_runtime_seconds: it is stopped."""
    nightly_file(world)
    world.transform_outcome = "InProgress"
    world.expect_exit = 17


# Data capture on in both environments, so the monitor judges each.
CAPTURE_ON = [
    ("staging.yaml", "  instance_count: 1\n", "  instance_count: 1\n  data_capture: {enabled: true}\n"),
    ("prod.yaml", "  data_capture:\n    enabled: false", "  data_capture:\n    enabled: true"),
]


def captured(world: World, shift: bool) -> None:
    """A promoted model whose endpoints captured a day's traffic, shifted or not."""
    from deploy.cli.context import Context
    from ml.dataset import make_churn
    from tests.unit.ml.capture_files import shifted

    edit(world, CAPTURE_ON)
    train_and_promote(world)
    context = Context("sagemaker")
    for seed, env in enumerate(("staging", "prod"), 31):
        frame = make_churn(1500, seed).drop(columns=["churned"])
        cfg = context.environment(env)
        model = context.backend.registry().get(context.group, cfg.model.version)
        traffic = shifted(frame, seed) if shift else frame
        world.put_traffic(traffic, context.backend.capture_location(cfg), model.baselines)


def usual_traffic(world: World) -> None:
    """The traffic looks like the training data: no drift. main's code changed since training: it is staged anew."""
    captured(world, shift=False)
    step = Path(world.root, "ml", "monitor.py")
    step.write_text(step.read_text() + "\n# changed on main since the last training\n")


def shifted_traffic(world: World) -> None:
    """Prices up, a new payment method, missing ages: drift (exit 18, reported by the issue job)."""
    captured(world, shift=True)


Situation = Callable[[World], None]


def situations(job: Job) -> list[Situation]:
    """The situations that take `job`'s commands through each of their AWS paths."""
    verbs = {command.argv[0] for command in job.commands} - GITHUB_ONLY
    if "pipeline" in verbs or "promote" in verbs:
        return [nothing, better_champion, failing_step, cancelled]
    if "deploy" in verbs:
        return [first_deploy, new_version, new_version_with_features]
    if verbs == {"batch"}:
        return [nightly_file, transform_fails, transform_overruns]
    if verbs == {"monitor"}:
        return [usual_traffic, shifted_traffic]
    if verbs <= {"plan", "smoke"}:
        return [nothing, live_endpoints]
    raise AssertionError(f"{job.label} runs mlops {sorted(verbs)}: add the situations that exercise it here")
