"""`mlops plan|deploy|smoke|invoke`: reconcile and check one environment's endpoint."""

from __future__ import annotations

import json
import sys
import time
from contextlib import nullcontext
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from deploy.cli.console import append_github_file, err, out, write_file
from deploy.cli.context import BackendOption, Context
from deploy.config.schema import EnvironmentConfig
from deploy.cost.estimate import environment_cost
from deploy.cost.prices import for_backend
from deploy.endpoints.plan import diff, render_markdown, render_text, rollout_note
from deploy.endpoints.reconcile import deploy_environment
from deploy.endpoints.smoke import assert_smoke, run_smoke
from deploy.endpoints.traffic import start_replay
from deploy.errors import ExitCode, MlopsError, RequestFailed, RequestRefused
from deploy.lineage import git_commit
from deploy.promotion.freshness import require_current
from deploy.promotion.stages import check_served, record_served


class PlanFormat(StrEnum):
    text = "text"
    markdown = "markdown"


class PriceMode(StrEnum):
    auto = "auto"
    api = "api"
    table = "table"


def cost_line(ctx: Context, cfg: Any, live: Any, mode: PriceMode | None) -> str:
    """The monthly cost of the endpoint as configured, and the change against what is live."""
    prices = for_backend(ctx.backend, mode.value if mode else None)
    line = environment_cost(prices, ctx.backend.pricing_region() or prices.table.region, cfg, live)
    if prices.api_error:
        line += f" (Price List API not used: {prices.api_error})"
    return line


EnvOption = typer.Option(..., "--env", "-e", help="environment: config/<env>.yaml")


class ConsoleReporter:
    """Deploy progress: milestones as lines, traffic snapshots as one line per change."""

    def __init__(self) -> None:
        self.last_line = ""
        self.last_time = 0.0

    def event(self, message: str) -> None:
        err.print(f"[bold cyan]•[/] {message}")

    def traffic(self, snapshot: dict[str, Any]) -> None:
        parts = []
        for v in snapshot.get("variants", []):
            if "status" in v:  # SageMaker: per-fleet status from PendingDeploymentSummary, no request metrics
                message = f" ({v['message']})" if v.get("message") else ""
                parts.append(
                    f"{v.get('name')}(v{v.get('version', '?')}, {v.get('fleet', '?')}) weight {v.get('weight', '?')} "
                    f"instances {v.get('instances', '?')} {v['status']}{message}"
                )
                continue
            parts.append(
                f"{v.get('name')}(v{v.get('version', '?')}) {v.get('weight', '?')}% "
                f"req {v.get('requests', 0)} err {v.get('errors', 0)} p99 {v.get('p99_ms', 0):.1f}ms"
            )
        line = f"  [{snapshot.get('phase', '')}] " + " | ".join(parts)
        now = time.monotonic()
        if line != self.last_line and now - self.last_time >= 0.5:
            err.print(line, markup=False)
            self.last_line, self.last_time = line, now


def quiet_warning(env: str, cfg: EnvironmentConfig) -> str:
    return (
        f"WARNING: no --traffic: the {cfg.deployment.strategy} of {env} is judged only on the requests the endpoint "
        "happens to get; with none, its alarms have no datapoints (no data is not breaching) and the new model "
        "passes unjudged. Replay some with --traffic golden|test-split|FILE."
    )


def plan(
    env: str = EnvOption,
    backend: str = BackendOption,
    fmt: PlanFormat = typer.Option(PlanFormat.text, "--format", help="text, or markdown for a PR comment"),
    output: Path = typer.Option(None, "--output", "-o", help="also write the plan to this file"),
    prices: PriceMode = typer.Option(
        None, "--prices", help="where instance prices come from (default: cost.prices in config/pipeline.yaml)"
    ),
) -> int:
    """Show what a deploy would change and what it costs; exit 0 if nothing, 10 if something would change."""
    ctx = Context(backend)
    cfg = ctx.environment(env)
    live = ctx.backend.endpoints().describe(env, cfg)
    changes = diff(cfg, live)
    cost = cost_line(ctx, cfg, live, prices)
    render = render_markdown if fmt is PlanFormat.markdown else render_text
    # How the traffic will move, in the whole instances it moves in: a 10 % canary can be half the traffic.
    note = rollout_note(cfg, creating=live is None) if changes else ""
    text = render(env, cfg.endpoint.name, live, changes)
    if note:
        text += f"\n\n{note}" if fmt is PlanFormat.markdown else f"\n  {note}"
    text += ("\n\n" if fmt is PlanFormat.markdown else "\n") + cost
    out.print(text, markup=False)
    if output:
        write_file(output, text + "\n", "--output")
    markdown = render_markdown(env, cfg.endpoint.name, live, changes) + (f"\n{note}\n" if note else "")
    append_github_file("GITHUB_STEP_SUMMARY", markdown + "\n" + cost)
    append_github_file("GITHUB_OUTPUT", f"changes={'true' if changes else 'false'}\n")
    return int(ExitCode.PLAN_CHANGES) if changes else 0


def deploy(
    env: str = EnvOption,
    backend: str = BackendOption,
    wait: float = typer.Option(0, "--wait", min=0, help="seconds to wait for another deploy of this env to finish"),
    traffic: str = typer.Option(
        None,
        "--traffic",
        help="replay 'test-split' (the model's test rows), 'golden' (the smoke payloads) or a payload file "
        "while the new model is judged",
    ),
    traffic_rps: float = typer.Option(100, "--traffic-rps", min=1, max=2000, help="requests per second of --traffic"),
    current: str = typer.Option(
        None, "--require-current", metavar="REF", help="refuse unless config/<env>.yaml is the same as at REF"
    ),
    after: str = typer.Option(None, "--after", metavar="ENV", help="refuse a pin that has not served in ENV"),
    override: str = typer.Option(
        None, "--override-reason", help="with --after: deploy anyway, recording this reason (empty = no override)"
    ),
) -> int:
    """Reconcile the endpoint to config/<env>.yaml with its deployment policy."""
    ctx = Context(backend)
    cfg = ctx.environment(env)
    if not _preconditions(ctx, env, cfg, current, after, override):
        return 0
    pinned = f"{ctx.group} v{cfg.model.version}" if cfg.model.pinned else "no model pinned"
    err.print(f"deploy [bold]{env}[/] on {ctx.backend.name}: {pinned}")
    replay = start_replay(ctx.backend, env, cfg, traffic, traffic_rps) if traffic else None
    if replay is None and cfg.deployment.strategy != "all_at_once" and cfg.alarms:
        err.print(f"[bold yellow]⚠ {quiet_warning(env, cfg)}[/]")
    reporter = replay.watch(ConsoleReporter()) if replay else ConsoleReporter()
    try:
        with replay or nullcontext():
            report = deploy_environment(ctx.backend, env, cfg, reporter, lock_wait_seconds=wait)
    except MlopsError as exc:
        append_github_file("GITHUB_STEP_SUMMARY", f"### ❌ deploy {env} failed\n\n{exc.message}\n")
        raise
    finally:
        if replay is not None:
            err.print(replay.summary(), markup=False)
    if report.noop:
        append_github_file("GITHUB_STEP_SUMMARY", f"### ✅ {env}: no changes (v{cfg.model.version} already live)\n")
        return 0
    summary = report.outcome.summary if report.outcome else "deployed"
    err.print(f"[green]✓ {summary}[/]" + (" · registry: Approved" if report.approved else ""))
    plan_md = render_markdown(env, cfg.endpoint.name, report.live_before, report.changes)
    append_github_file("GITHUB_STEP_SUMMARY", f"### ✅ deploy {env}\n\n{summary}\n\n{plan_md}")
    return 0


def _preconditions(
    ctx: Context, env: str, cfg: EnvironmentConfig, current: str | None, after: str | None, override: str | None
) -> bool:
    """False when there is nothing to deploy (no pin); raises when the run must not deploy."""
    if current:
        err.print(require_current(ctx.workspace.root, ctx.workspace.config_dir / f"{env}.yaml", current))
    if not cfg.model.pinned:
        note = (
            f"config/{env}.yaml pins no model (none promoted yet, or the first promotion reverted): nothing to deploy"
        )
        err.print(f"{note}; `mlops promote` pins one")
        append_github_file("GITHUB_STEP_SUMMARY", f"### ⏭️ deploy {env}: {note}\n")
        return False
    if after:
        check = check_served(ctx.backend, env, cfg, after, override)
        err.print(("[yellow]override:[/] " if check.overridden else "") + check.message)
        if check.overridden:
            append_github_file("GITHUB_STEP_SUMMARY", f"### ⚠️ deploy {env}: {check.message}\n")
    return True


def smoke(
    env: str = EnvOption,
    backend: str = BackendOption,
    record: bool = typer.Option(False, "--record", help="on pass, record in the registry that the model served here"),
) -> int:
    """Send the golden payloads from config; check status, response schema and p95 latency."""
    ctx = Context(backend)
    cfg = ctx.environment(env)
    if not cfg.model.pinned:
        err.print(f"config/{env}.yaml pins no model: nothing to smoke-test")
        return 0
    results = run_smoke(ctx.backend.endpoints(), env, cfg)
    for r in results:
        mark = "[green]✓[/]" if not r.failures else "[red]✗[/]"
        err.print(f"{mark} {r.payload}: {r.requests} requests, p95 {r.p95_ms:.1f} ms {'; '.join(r.failures)}")
    assert_smoke(results, env)
    append_github_file("GITHUB_STEP_SUMMARY", f"### ✅ smoke {env}: {len(results)} payload(s) passed\n")
    if record:
        _record(ctx, env, cfg)
    return 0


def _record(ctx: Context, env: str, cfg: EnvironmentConfig) -> None:
    """Only a live endpoint that matches git counts as the pinned model having served."""
    changes = diff(cfg, ctx.backend.endpoints().describe(env, cfg))
    if changes:
        err.print(f"[yellow]not recorded:[/] the live {env} endpoint differs from git ({len(changes)} change(s))")
        return
    model = record_served(ctx.backend, env, cfg, git_commit(ctx.workspace.root))
    err.print(f"recorded in the registry: {model.label} served in {env}")


def invoke(
    env: str = EnvOption,
    backend: str = BackendOption,
    file: Path = typer.Option(
        None, "--file", "-f", help="request body; stdin if omitted", exists=True, dir_okay=False, readable=True
    ),
    content_type: str = typer.Option(
        None, "--content-type", "-t", help="text/csv or application/json; guessed from the body if omitted"
    ),
    accept: str = typer.Option("application/json", "--accept"),
    inference_id: str = typer.Option(
        None, "--inference-id", help="recorded with the request by data capture, to join labels later"
    ),
) -> int:
    """Send one request to the endpoint and print the answer."""
    if file is None and sys.stdin.isatty():
        raise typer.BadParameter("give the request body with --file, or pipe it on stdin", param_hint="--file")
    body = file.read_bytes() if file else sys.stdin.buffer.read()
    ctx = Context(backend)
    cfg = ctx.environment(env)
    sent_as = content_type or guess_content_type(body)
    answer = ctx.backend.endpoints().invoke(env, cfg, body, sent_as, accept, inference_id=inference_id)
    where = f"HTTP {answer.status} · variant {answer.variant or '?'} · {answer.latency_ms:.1f} ms"
    guessed = "" if content_type else f" · sent as {sent_as} (guessed; --content-type sets it)"
    if answer.status >= 400:
        reason = f"endpoint '{cfg.endpoint.name}' answered HTTP {answer.status}: {error_reason(answer.body)}"
        hint = content_type_hint(body, sent_as) if 400 <= answer.status < 500 else ""
        raise (RequestRefused if answer.status < 500 else RequestFailed)(reason + hint + guessed)
    sys.stdout.write(answer.body.decode(errors="replace").rstrip("\n") + "\n")
    err.print(where + guessed, markup=False)
    return 0


def guess_content_type(body: bytes) -> str:
    """JSON when the body opens like a JSON document, else CSV (the two types the endpoint takes)."""
    return "application/json" if body.lstrip()[:1] in (b"{", b"[") else "text/csv"


def content_type_hint(body: bytes, sent_as: str) -> str:
    """A hint when the refused body looks like the other content type."""
    looks = guess_content_type(body)
    if sent_as.split(";")[0].strip().lower() != looks:
        return f" (the body looks like {looks}: pass --content-type {looks})"
    return ""


def error_reason(body: bytes) -> str:
    """The endpoint's reason, from its JSON error body or its first line of text."""
    text = body.decode(errors="replace").strip()
    try:
        document = json.loads(text)
    except ValueError:
        return text.splitlines()[0][:300] if text else "(no reason given)"
    if isinstance(document, dict):
        return str(document.get("error") or document.get("message") or text)[:300]
    return text[:300]


def register(app: typer.Typer) -> None:
    app.command("plan")(plan)
    app.command("deploy")(deploy)
    app.command("smoke")(smoke)
    app.command("invoke")(invoke)
