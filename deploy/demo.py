"""`mlops demo`: the whole GitOps loop on this machine, in a scratch copy of the repository (control plane).

Three rounds, each step the command a user (or a workflow) would run:

1. a first model: train and register → promotion branch and PR body → merge → deploy and
   smoke-test staging → create the prod endpoint;
2. a better model through the canary: train → promote → merge → staging → prod with a canary
   under replayed test traffic → invoke prod; then monitoring (`demo_monitor.py`): prod
   serves customers like its training data (`mlops monitor`: no drift), then shifted ones
   (`mlops monitor` names the shifted features and the new category);
3. a bad merge: a deliberately broken model pinned as a promotion would pin it → the prod
   canary's 5XX alarm rolls it back while the previous model keeps serving → `git revert`
   (the GitOps rollback) → `mlops plan` shows no changes.

It exits 0 only if every expected outcome happened (the round-3 rollback is expected).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from deploy.config import load_environment, load_pipeline
from deploy.config.schema import ModelPin
from deploy.demo_monitor import enable_capture, round_monitor
from deploy.demo_repo import Result, Shell, copy_state
from deploy.endpoints.smoke import payload_bytes
from deploy.errors import ExitCode
from deploy.local.backend import LocalBackend
from deploy.promotion.gitops import branch_name, check_ready, commit_on_branch
from deploy.promotion.pins import plan_pins
from deploy.workspace import Workspace

ROWS = 5000
BASELINE_C = "0.01"  # round 1 trains a strongly regularised baseline, so round 2's model beats it


@dataclass
class Demo:
    shell: Shell
    console: Console
    step_no: int = 0
    checks: list[tuple[bool, str]] = field(default_factory=list)

    @property
    def repo(self) -> Path:
        return self.shell.repo

    def step(self, title: str) -> None:
        self.step_no += 1
        self.console.print()
        self.console.rule(f"[bold cyan]{self.step_no}. {title}", align="left")

    def say(self, text: str) -> None:
        self.console.print(f"[dim]# {text}[/]", highlight=False)

    def expect(self, result: Result, what: str, code: int = 0, shows: tuple[str, ...] = ()) -> Result:
        missing = [s for s in shows if s not in result.output]
        ok = result.code == code and not missing
        detail = f" (exit {result.code}, expected {code})" if result.code != code else ""
        detail += f" (missing: {', '.join(missing)})" if missing else ""
        self.checks.append((ok, what + detail))
        mark = "[green]✓[/]" if ok else "[red]✗[/]"
        self.console.print(f"{mark} {what}{detail} [dim]{result.seconds:.1f} s[/]", highlight=False)
        return result


def round_one(demo: Demo) -> None:
    sh = demo.shell
    demo.say("round 1: a first model goes from training to a prod endpoint")
    demo.step("Train and register a first model (a strongly regularised baseline)")
    demo.expect(sh.mlops("pipeline", "run", "--rows", str(ROWS), "--set", f"C={BASELINE_C}"), "v1 registered")
    promote_and_merge(demo, 1, show_body=False)
    staging(demo, 1)
    demo.step("Deploy prod: the first deploy creates the endpoint (all at once, like CreateEndpoint)")
    demo.expect(sh.mlops("deploy", "--env", "prod"), "prod endpoint created with v1", shows=("created endpoint",))


def round_two(demo: Demo) -> None:
    sh = demo.shell
    demo.say("round 2: a better model replaces it through a canary")
    demo.step("Train again with the configured hyperparameters (C=1.0)")
    demo.expect(sh.mlops("pipeline", "run", "--rows", str(ROWS)), "v2 registered")
    promote_and_merge(demo, 2)
    staging(demo, 2)
    demo.step("Plan prod: what the merge changes (the PR comment and the drift check run this)")
    demo.expect(sh.mlops("plan", "--env", "prod"), "plan shows the new pin (exit 10)", code=int(ExitCode.PLAN_CHANGES),
                shows=("model.version: 1 → 2",))  # fmt: skip
    demo.step("Deploy prod: canary under continuous traffic replayed from the test split")
    demo.say("10 % of requests go to v2 while both alarms watch it, then 100 %, then v1 is retired")
    demo.expect(
        sh.mlops("deploy", "--env", "prod", "--traffic", "test-split"),
        "canary 10 % → 100 %, no failed request, v2 serving",
        shows=("canary 10%", "serving 100 %", " 0 5xx"),
    )
    demo.step("Invoke prod")
    invoke(demo, "prod answers", version=2)


def round_three(demo: Demo) -> None:
    sh = demo.shell
    demo.say("round 3: a broken model is merged; the canary catches it and git takes it back")
    demo.step("A bad merge: a model that fails every prediction")
    broken = demo.repo.parent / "broken.tar.gz"
    demo.expect(sh.python("-m", "ml.faults", "--kind", "error", "--source", artifact(demo, 2), "--output",
                          str(broken)), "broken copy of v2 built")  # fmt: skip
    version = register_broken(demo, broken)
    demo.say(
        f"evaluation and the gate would stop such a model, so the demo registers it as v{version} and pins it "
        "on a branch exactly as `mlops promote --branch` does: a bad merge that slipped through review"
    )
    merge(demo, pin_on_branch(demo, version), version)
    demo.step("Deploy prod: the canary's 5XX alarm must roll it back")
    demo.expect(
        sh.mlops("deploy", "--env", "prod", "--traffic", "test-split"),
        "deploy ROLLED BACK by the 5XX alarm (exit 8)",
        code=int(ExitCode.ROLLBACK),
        shows=("ROLLED BACK", "churn-prod-5xx", "v2 (blue"),
    )
    demo.step("Prod still serves v2")
    invoke(demo, "prod still answers after the rollback", version=2)
    demo.step("Roll back in git: revert the bad merge, and the plan is clean again")
    demo.expect(sh.git("revert", "--no-edit", "-m", "1", "HEAD"), "bad merge reverted")
    demo.expect(sh.mlops("plan", "--env", "prod"), "plan: prod matches git", shows=("no changes",))


def promote_and_merge(demo: Demo, version: int, show_body: bool = True) -> None:
    """`mlops promote --branch`; with `show_body=False` the PR body is left in its file, not shown."""
    what = "print the PR body" if show_body else "write the PR body"
    demo.step(f"Promote v{version}: gate against the champion, commit the pins on a branch, {what}")
    if show_body:
        result = demo.shell.mlops("promote", "--branch")
    else:
        result = demo.shell.mlops("promote", "--branch", quiet=True)
        body = demo.repo / ".mlops" / "promotion" / f"{group(demo)}-v{version}.md"
        shown = result.output.replace(body.read_text(encoding="utf-8"), "") if body.is_file() else result.output
        for line in shown.splitlines():
            demo.console.print("    " + line, markup=False, highlight=False)
        demo.say(f"the pull request body is in {body.relative_to(demo.repo)}; round 2 shows one in full")
    demo.expect(result, f"v{version} passed the gate, branch created")
    merge(demo, branch_name(group(demo)), version)


def merge(demo: Demo, branch: str, version: int) -> None:
    demo.step(f"Merge the pull request of v{version}")
    result = demo.shell.git("merge", "--no-ff", "--no-edit", "-m", f"Merge pull request: {branch}", branch)
    demo.expect(result, f"{branch} merged into main")


def staging(demo: Demo, version: int) -> None:
    demo.step(f"Deploy v{version} to staging and smoke-test it")
    demo.expect(demo.shell.mlops("deploy", "--env", "staging"), f"staging serves v{version}")
    demo.expect(demo.shell.mlops("smoke", "--env", "staging"), f"staging smoke test of v{version} passed")


def invoke(demo: Demo, what: str, version: int) -> None:
    cfg = load_environment(demo.repo / "config", "prod")
    request = demo.repo.parent / "request.json"
    request.write_bytes(payload_bytes(cfg.smoke.payloads[0]))
    demo.expect(demo.shell.mlops("invoke", "--env", "prod", "--file", str(request)), what,
                shows=("HTTP 200", "variant AllTraffic"))  # fmt: skip
    demo.expect(demo.shell.mlops("endpoint", "status", "--env", "prod"), f"variant AllTraffic serves v{version}",
                shows=(f"v{version}", "100 %"))  # fmt: skip


def group(demo: Demo) -> str:
    return load_pipeline(demo.repo / "config").registry.model_package_group


def backend(demo: Demo) -> LocalBackend:
    workspace = Workspace(demo.repo)
    return LocalBackend(workspace, load_pipeline(workspace.config_dir))


def artifact(demo: Demo, version: int) -> str:
    model = backend(demo).registry().get(group(demo), version)
    return model.artifact_uri.removeprefix("file://")


def register_broken(demo: Demo, broken: Path) -> int:
    registry = backend(demo).registry()
    base = registry.get(group(demo), 2)
    uri, sha256 = registry.store_artifact(broken)
    model = registry.register(
        group(demo), artifact_uri=uri, sha256=sha256, evaluation=base.evaluation,
        lineage={**base.lineage, "fault": "error", "derived_from": base.arn},
        description=f"deliberately broken copy of v{base.version} (mlops demo)",
    )  # fmt: skip
    demo.console.print(f"registered {model.label} sha256 {sha256[:12]}… (a copy of v2 that fails every prediction)")
    return model.version


def pin_on_branch(demo: Demo, version: int) -> str:
    model = backend(demo).registry().get(group(demo), version)
    changes = plan_pins(demo.repo / "config", ModelPin(version=version, package_arn=model.arn, sha256=model.sha256))
    name = branch_name(model.group)
    check_ready(demo.repo, [c.path for c in changes], name)
    commit = commit_on_branch(demo.repo, name, {c.path: c.after for c in changes if c.changed},
                              f"Promote {model.label} (broken on purpose)")  # fmt: skip
    demo.console.print(f"pinned {model.label} in config/*.yaml: commit {commit[:12]} on branch {name}")
    return name


def init_repo(demo: Demo, source: Path) -> None:
    demo.step("A scratch copy of the repository with its own git history")
    for note in copy_state(source, demo.repo):
        demo.say(note)
    prod = demo.repo / "config" / "prod.yaml"
    prod.write_text(enable_capture(prod.read_text(encoding="utf-8")), encoding="utf-8")
    demo.say("turned data capture on in config/prod.yaml, so the monitor has prod's traffic to judge")
    sh = demo.shell
    demo.expect(sh.git("init", "-q", "-b", "main"), "git repository initialised")
    sh.git("config", "commit.gpgsign", "false", quiet=True)
    sh.git("add", "-A", quiet=True)
    demo.expect(sh.git("commit", "-q", "-m", "Initial commit"), "initial commit")


def run_demo(source: Path, workdir: Path | None, keep: bool, console: Console) -> int:
    """The whole demo; 0 only if every expected outcome happened."""
    began = time.monotonic()
    root = workdir or Path(tempfile.mkdtemp(prefix="mlops-demo-"))
    if workdir is not None:
        if workdir.exists() and any(workdir.iterdir()):
            console.print(f"[red]error:[/] --workdir {workdir} is not empty", highlight=False)
            return int(ExitCode.USAGE)
        workdir.mkdir(parents=True, exist_ok=True)
    demo = Demo(Shell(root / "repo", console), console)
    (root / "repo").mkdir()
    try:
        init_repo(demo, source)
        for part in (round_one, round_two, round_monitor, round_three):
            if all(ok for ok, _ in demo.checks):  # a failed step makes later verdicts meaningless
                part(demo)
    except BaseException:
        finish(demo, keep)
        if not keep:
            shutil.rmtree(root, ignore_errors=True)
        raise
    finish(demo, keep)
    return report(demo, root, keep, time.monotonic() - began)


def finish(demo: Demo, keep: bool) -> None:
    if keep or not (demo.repo / ".mlops" / "endpoints").is_dir():
        return
    demo.step("Stop the endpoints")
    for env in ("staging", "prod"):
        demo.shell.mlops("endpoint", "stop", "--env", env)


def report(demo: Demo, root: Path, keep: bool, seconds: float) -> int:
    failed = [what for ok, what in demo.checks if not ok]
    demo.console.print()
    demo.console.rule("[bold]Result", align="left")
    for ok, what in demo.checks:
        demo.console.print(("[green]✓[/] " if ok else "[red]✗[/] ") + what, highlight=False)
    if keep:
        demo.console.print(f"kept {root} (endpoints still running; `mlops endpoint stop --env prod` there)")
    else:
        shutil.rmtree(root, ignore_errors=True)
    verdict = "[green]every expected outcome happened[/]" if not failed else f"[red]{len(failed)} check(s) failed[/]"
    demo.console.print(f"demo finished in {seconds:.1f} s: {verdict}", highlight=False)
    return 0 if not failed else int(ExitCode.UNEXPECTED)
