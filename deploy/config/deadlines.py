"""Do the workflow jobs live long enough for what config/ asks of them? (control plane, CI side).

The schema allows bakes of hours and training runs of days, while the GitHub job that waits
for them has a fixed `timeout-minutes` and its AWS role session a fixed
`role-duration-seconds`. A job killed half-way leaves an endpoint mid-update or a pipeline
running with nobody waiting. `mlops config validate` reads the workflows beside `config/` and
reports every job that cannot outlast the longest run its config allows:

- a job running `mlops deploy --env E` needs as long as `mlops deploy` may follow E's
  endpoint (its policy's execution timeout and termination wait plus a margin, or the create
  timeout for a new endpoint) plus `SETUP_SECONDS` for checkout, install, plan and smoke test;
- a job running `mlops pipeline run` needs training's `max_runtime_seconds` (its
  `max_wait_seconds` with spot), twice processing's (preprocess and evaluate), plus the same
  setup time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml.error import YAMLError

from deploy.config.document import safe_data
from deploy.config.schema import EnvironmentConfig, PipelineConfig
from deploy.sagemaker.deployment_config import follow_timeout_seconds

SETUP_SECONDS = 600
CREDENTIALS_ACTION = "aws-actions/configure-aws-credentials@"
DEPLOY = re.compile(r"\bmlops\s+deploy\b.*?--env[ =]\"?(?P<env>[A-Za-z0-9_-]+)")
PIPELINE = re.compile(r"\bmlops\s+pipeline\s+run\b")


@dataclass(frozen=True)
class JobLimits:
    workflow: str
    job: str
    timeout_seconds: int | None
    session_seconds: int | None
    runs: str


def job_limits(workflows_dir: Path) -> list[JobLimits]:
    """Each job's time limits and the text of its `run:` steps."""
    found = []
    for path in sorted(workflows_dir.glob("*.y*ml")):
        try:
            doc = safe_data(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, YAMLError, RecursionError):
            continue  # the schema check in CI reports a broken workflow
        jobs = doc.get("jobs") if isinstance(doc, dict) else None
        for job_id, job in (jobs if isinstance(jobs, dict) else {}).items():
            if not isinstance(job, dict):
                continue
            steps = [step for step in job.get("steps") or [] if isinstance(step, dict)]
            timeout = job.get("timeout-minutes")
            found.append(
                JobLimits(
                    f".github/workflows/{path.name}",
                    job_id,
                    timeout * 60 if isinstance(timeout, int) else None,
                    _session(steps),
                    "\n".join(str(s.get("run", "")) for s in steps),
                )
            )
    return found


def _session(steps: list[dict[str, Any]]) -> int | None:
    for step in steps:
        if str(step.get("uses", "")).startswith(CREDENTIALS_ACTION):
            value = (step.get("with") or {}).get("role-duration-seconds", 3600)
            return value if isinstance(value, int) else None
    return None


def deploy_seconds(cfg: EnvironmentConfig) -> int:
    policy = cfg.deployment
    follow = max(follow_timeout_seconds(policy, creating=True), follow_timeout_seconds(policy, creating=False))
    return follow + SETUP_SECONDS


def train_seconds(cfg: PipelineConfig) -> int:
    training, processing = cfg.sagemaker.training, cfg.sagemaker.processing
    train = training.max_wait_seconds if training.spot else training.max_runtime_seconds
    return train + 2 * processing.max_runtime_seconds + SETUP_SECONDS


def deadline_problems(
    workflows_dir: Path, pipeline: PipelineConfig | None, environments: dict[str, EnvironmentConfig]
) -> list[str]:
    """One line per job whose timeout or role session is shorter than its config allows a run to take."""
    problems = []
    for limits in job_limits(workflows_dir):
        if pipeline is not None and PIPELINE.search(limits.runs):
            key = "config/pipeline.yaml:sagemaker.training"
            problems += _compare(limits, key, train_seconds(pipeline), "training, processing and setup")
        for env in sorted({m["env"] for m in DEPLOY.finditer(limits.runs)}):
            if env in environments:
                key = f"config/{env}.yaml:deployment.max_execution_timeout_seconds"
                problems += _compare(limits, key, deploy_seconds(environments[env]), "the deployment and setup")
    return problems


def _compare(limits: JobLimits, key: str, needed: int, what: str) -> list[str]:
    where = f"{limits.workflow} jobs.{limits.job}"
    found = []
    for name, have in (("timeout-minutes", limits.timeout_seconds), ("role-duration-seconds", limits.session_seconds)):
        if have is not None and have < needed:
            found.append(
                f"{key}: {what} may take {needed} s, longer than {where} {name} allows ({have} s); "
                f"raise {name} or shorten the config"
            )
    return found
