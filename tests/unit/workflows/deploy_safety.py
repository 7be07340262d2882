"""Gates against workflows that can deploy the wrong thing (test side only).

Each gate reads a `.github` folder and returns one line per problem; an empty list means it
holds. The tests run every gate on the real folder (must hold) and on `before/`, a copy of
the workflows as they were when each defect was found (must fail), so no gate can pass
vacuously.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import workflow_gates as gates

LOCK = ".github/requirements/runtime.txt"
DEPLOY_SETTINGS = {"MLOPS_BACKEND", "AWS_REGION", "SAGEMAKER_ROLE_ARN", "MLOPS_BUCKET"}
# The first release of each action that runs on Node 24 (GitHub removed Node 20 from hosted runners).
NODE24_MAJOR = {
    "aws-actions/configure-aws-credentials": 6,
    "actions/create-github-app-token": 3,
    "peter-evans/create-pull-request": 8,
    "dorny/paths-filter": 4,
    "marocchino/sticky-pull-request-comment": 3,
    "actions/upload-artifact": 6,
    "actions/download-artifact": 7,
}
ALLOWED_CI_SKIPS = {"changes", "plan"}
PIN = re.compile(r"uses:\s*(?P<action>[^@\s]+)@[0-9a-f]{40}\s+#\s*v(?P<major>\d+)\.")


def load(github: Path, name: str) -> dict[str, Any]:
    return gates.load_yaml(github / "workflows" / name)


def runs(job: dict[str, Any]) -> list[str]:
    return [s["run"] for s in job.get("steps", []) if "run" in s]


def step_running(job: dict[str, Any], command: str) -> dict[str, Any] | None:
    return next((s for s in job.get("steps", []) if command in s.get("run", "")), None)


def assumes_role(job: dict[str, Any]) -> bool:
    return any(s.get("uses", "").startswith(gates.AWS_CREDENTIALS_ACTION) for s in job.get("steps", []))


def deploy_jobs(github: Path) -> dict[str, dict[str, Any]]:
    return {j: job for j, job in load(github, "deploy.yml")["jobs"].items() if step_running(job, "mlops deploy")}


def stale_deploys(github: Path) -> list[str]:
    problems = []
    for job_id, job in deploy_jobs(github).items():
        deploy = step_running(job, "mlops deploy")
        if "--require-current origin/main" not in deploy["run"]:
            problems.append(f"deploy.yml {job_id}: `mlops deploy` does not check its config is still main's")
        checkout = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/checkout@"))
        if checkout.get("with", {}).get("fetch-depth") != 0:
            problems.append(f"deploy.yml {job_id}: checkout does not fetch origin/main (fetch-depth: 0)")
    return problems


def staging_before_prod(github: Path) -> list[str]:
    jobs = load(github, "deploy.yml")["jobs"]
    problems = []
    smoke = step_running(jobs["staging"], "mlops smoke")
    if smoke is None or "--record" not in smoke["run"]:
        problems.append("deploy.yml staging: the smoke test does not record what served in staging")
    deploy = step_running(jobs["prod"], "mlops deploy")
    if "--after staging" not in deploy["run"]:
        problems.append("deploy.yml prod: `mlops deploy` does not refuse a pin that never served in staging")
    override = deploy.get("env", {}).get("OVERRIDE_REASON")
    if "--override-reason" in deploy["run"] and override != "${{ inputs.override_reason }}":
        problems.append("deploy.yml prod: the override reason does not come from an explicit dispatch input")
    return problems


def unlocked_installs(github: Path) -> list[str]:
    problems = []
    for path in gates.workflow_files(github):
        for job_id, job in gates.load_yaml(path)["jobs"].items():
            setup = next((s for s in job.get("steps", []) if s.get("uses") == "./.github/actions/setup"), None)
            if assumes_role(job) and (setup is None or setup.get("with", {}).get("install") != "runtime"):
                problems.append(f"{path.name} {job_id}: holds AWS credentials but does not install from the lock")
    action = gates.load_yaml(github / "actions" / "setup" / "action.yml")
    text = "\n".join(s.get("run", "") for s in action["runs"]["steps"])
    if f"--require-hashes --no-deps --only-binary=:all: -r {LOCK}" not in text:
        problems.append(f"setup action: no hash-checked install from {LOCK}")
    cache_key = action["runs"]["steps"][0].get("with", {}).get("cache-dependency-path", "")
    if LOCK not in cache_key:
        problems.append("setup action: the pip cache key does not follow the lock")
    return problems


def missing_settings(github: Path) -> list[str]:
    problems = []
    for name, job_id in (("ci.yml", "plan"), ("drift.yml", "plan")):
        missing = DEPLOY_SETTINGS - set(load(github, name)["jobs"][job_id].get("env", {}))
        if missing:
            problems.append(f"{name} {job_id}: lacks {', '.join(sorted(missing))} that the deploy jobs set")
    return problems


def promote_newest(github: Path) -> list[str]:
    for job_id, job in load(github, "train.yml")["jobs"].items():
        promote = step_running(job, "mlops promote")
        if promote is None:
            continue
        pipeline = step_running(job, "mlops pipeline run")
        version = promote.get("env", {}).get("VERSION", "")
        if (
            '--version "$VERSION"' in promote["run"]
            and version == f"${{{{ steps.{pipeline.get('id')}.outputs.version }}}}"
        ):
            return []
        return [f"train.yml {job_id}: `mlops promote` gates the newest version, not the one this run registered"]
    return ["train.yml: no `mlops promote` step"]


def orphaned_executions(github: Path) -> list[str]:
    for job_id, job in load(github, "train.yml")["jobs"].items():
        if step_running(job, "mlops pipeline run") is None:
            continue
        stop = step_running(job, "mlops pipeline stop")
        if stop is None or "cancelled()" not in stop.get("if", ""):
            return [f"train.yml {job_id}: a cancelled or timed-out job leaves its pipeline execution running"]
    return []


def one_job_holds_too_much(github: Path) -> list[str]:
    problems = []
    for job_id, job in load(github, "train.yml")["jobs"].items():
        grants = job.get("permissions", {})
        text = str(job)
        holds_app_key = "PROMOTION_APP_PRIVATE_KEY" in text
        writes = {k for k, v in grants.items() if v == "write" and k != "id-token"}
        if assumes_role(job) and (holds_app_key or writes):
            problems.append(f"train.yml {job_id}: AWS credentials together with {sorted(writes) or 'the App key'}")
        if assumes_role(job) and any("pytest" in r for r in runs(job)):
            problems.append(f"train.yml {job_id}: runs the test suite while holding AWS credentials")
        if holds_app_key and "environment" not in job:
            problems.append(f"train.yml {job_id}: the App key is not kept in an environment")
    return problems


def drift_defects(github: Path) -> list[str]:
    job = load(github, "drift.yml")["jobs"]["plan"]
    problems = []
    groups = {j["concurrency"]["group"] for j in deploy_jobs(github).values()}
    if job.get("concurrency", {}).get("group") != "deploy-${{ matrix.env }}" or groups != {
        "deploy-staging",
        "deploy-prod",
    }:
        problems.append("drift.yml: does not share the deploy jobs' concurrency group (false drift mid-canary)")
    plan = step_running(job, "mlops plan")
    if plan is None or not plan["run"].rstrip().endswith("|| test $? -eq 10") or "id" not in plan:
        problems.append("drift.yml: exit 10 (drift) is not told apart from an AWS or setup error")
    issue = step_running(job, "mlops issue report")
    if issue is None or job["permissions"].get("issues") != "write" or "changes == 'true'" not in issue.get("if", ""):
        problems.append("drift.yml: drift does not open or update an issue")
    if "github.ref == 'refs/heads/main'" not in job.get("if", ""):
        problems.append("drift.yml: a dispatch from another branch would compare that branch's config")
    return problems


def bootstrap_guards(github: Path) -> list[str]:
    problems = []
    for name in ("train.yml", "deploy.yml"):
        jobs = load(github, name)["jobs"]
        notices = [j for j in jobs.values() if "== ''" in j.get("if", "") and any("::notice" in r for r in runs(j))]
        if not notices:
            problems.append(f"{name}: no notice job for unset repository variables")
        for job_id, job in jobs.items():
            if "needs" not in job and (assumes_role(job) or job_id == "test") and "!= ''" not in job.get("if", ""):
                problems.append(f"{name} {job_id}: runs (and goes red) before bootstrap has set the variables")
    return problems


def dispatch_defaults(github: Path) -> list[str]:
    inputs = gates.triggers(load(github, "train.yml"))["workflow_dispatch"].get("inputs", {})
    problems = []
    for name, spec in inputs.items():
        default = spec.get("default", "")
        if spec.get("type") == "boolean" or default not in ("", "as-configured"):
            problems.append(f"train.yml input {name}: default {default!r} overrides config/pipeline.yaml")
    return problems


def dropped_dispatch(github: Path) -> list[str]:
    """Train runs queue: with the default queue a push cancels a pending dispatch with custom inputs."""
    doc = load(github, "train.yml")
    trainers = [j for j in doc["jobs"].values() if step_running(j, "pipeline run")]
    for concurrency in [doc.get("concurrency"), *(j.get("concurrency") for j in trainers)]:
        if concurrency and concurrency.get("queue") != "max":
            return [f"train.yml: concurrency group {concurrency['group']!r} drops a pending run (no queue: max)"]
    return []


def required_check(github: Path) -> list[str]:
    doc = load(github, "ci.yml")
    problems = [] if "merge_group" in gates.triggers(doc) else ["ci.yml: does not run on merge_group"]
    ok = doc["jobs"]["ci-ok"]
    must = set()
    for step in ok["steps"]:
        must |= set(re.findall(r"needs\.([\w-]+)\.result != 'success'", step.get("if", "")))
    skippable = set(ok["needs"]) - must
    if skippable != ALLOWED_CI_SKIPS:
        problems.append(f"ci.yml ci-ok: jobs that may be skipped unnoticed: {sorted(skippable)}")
    return problems


def node20_actions(github: Path) -> list[str]:
    problems = []
    for path in [*gates.workflow_files(github), *gates.action_files(github)]:
        for match in PIN.finditer(path.read_text(encoding="utf-8")):
            floor = NODE24_MAJOR.get(match["action"])
            if floor and int(match["major"]) < floor:
                problems.append(
                    f"{path.name}: {match['action']} v{match['major']} runs on Node 20 (v{floor}+ is Node 24)"
                )
        if "app-id:" in path.read_text(encoding="utf-8"):
            problems.append(f"{path.name}: create-github-app-token v3 takes client-id, not the deprecated app-id")
    return problems


GATES = (
    stale_deploys,
    staging_before_prod,
    unlocked_installs,
    missing_settings,
    promote_newest,
    orphaned_executions,
    one_job_holds_too_much,
    drift_defects,
    bootstrap_guards,
    dispatch_defaults,
    dropped_dispatch,
    required_check,
    node20_actions,
)
