"""`mlops endpoint start|stop|status`: the local endpoint server of one environment (control plane).

The server runs in the background across CLI calls (and survives a failed deploy); these
commands start it again with the last deployed model, stop it, or show its variants, weights
and per-variant metrics since it started. They exist for the local backend only: on SageMaker
the endpoint's lifecycle is `mlops deploy` and the AWS console. A serverless environment's
status says whether its model processes are idle (they start on the next request) or serving.
"""

from __future__ import annotations

import typer
from rich.table import Table

from deploy.cli.console import err, out, print_table
from deploy.cli.context import BackendOption, Context
from deploy.cli.deploy_cmd import ConsoleReporter, EnvOption
from deploy.errors import DeployError
from deploy.local.endpoint_process import EndpointProcess
from deploy.local.endpoints import LocalEndpoints, read_record
from deploy.local.server_launch import inspect
from deploy.local.serving_metrics import VariantMetrics

endpoint_app = typer.Typer(help="Start, stop or inspect a local endpoint.", no_args_is_help=True)


def _local(ctx: Context) -> LocalEndpoints:
    endpoints = ctx.backend.endpoints()
    if not isinstance(endpoints, LocalEndpoints):
        raise DeployError(f"`mlops endpoint` manages local endpoints; the {ctx.backend.name} backend's live in AWS")
    return endpoints


@endpoint_app.command("start")
def start(env: str = EnvOption, backend: str = BackendOption) -> int:
    """Serve the last deployed model of <env> again (after `stop` or a reboot)."""
    ctx = Context(backend)
    process = _local(ctx).serve_recorded(env, ctx.environment(env), ConsoleReporter())
    err.print(f"[green]✓[/] {env}: endpoint '{process.endpoint_name}' serving on {process.url} (pid {process.pid})")
    return 0


@endpoint_app.command("stop")
def stop(env: str = EnvOption, backend: str = BackendOption) -> int:
    """Stop the endpoint server of <env> (the deployed state is kept for `start`)."""
    stopped = _local(Context(backend)).stop(env)
    err.print(f"{env}: {stopped}" if stopped else f"{env}: no endpoint server was running")
    return 0


@endpoint_app.command("status")
def status(env: str = EnvOption, backend: str = BackendOption) -> int:
    """Show the variants, weights and metrics of <env>'s endpoint; exit 7 if it is not running."""
    ctx = Context(backend)
    ctx.environment(env)  # an environment with no config/<env>.yaml is a config error, not "never deployed"
    endpoints = _local(ctx)
    record = read_record(endpoints.state_dir(env))
    deployed = (
        f"deployed v{record['model']['version']} at {record['deployed_at']} from {record['commit'][:12]}"
        if record
        else "never deployed"
    )
    state = inspect(endpoints.state_dir(env))
    if state.phase != "running":
        hint = f"`mlops endpoint start --env {env}` serves it again"
        if record is None:
            hint = f"`mlops deploy --env {env}` creates it"
        what = {
            "stopped": "not running",
            "starting": f"starting (pid {state.pid}), not serving yet",
            "orphaned": f"not serving: its server (pid {state.pid}) was killed and its workers are still exiting",
        }[state.phase]
        err.print(f"{env}: {what} ({deployed}); {hint}", markup=False)
        return int(DeployError.exit_code)
    process = EndpointProcess(endpoints.state_dir(env), state.info)
    info = process.status()
    out.print(
        f"{env}: endpoint '{info['endpoint_name']}' on {process.url} · pid {info['pid']} · "
        f"{info['workers']} workers · up {info['uptime_seconds']:.0f} s · {deployed}{_serverless(info)}",
        markup=False,
    )
    print_table(_table(info, process.metrics()))
    return 0


def _table(info: dict, metrics: dict[str, VariantMetrics]) -> Table:
    table = Table("variant", "version", "sha256", "weight", "loaded", "requests", "4xx", "5xx", "p50 ms", "p99 ms")
    for v in info["variants"]:
        window = metrics.get(v["name"], VariantMetrics()).window()
        table.add_row(
            v["name"], f"v{v['version']}", v["sha256"][:12], f"{v['weight']} %", "yes" if v["loaded"] else "no",
            str(window.count), str(window.errors_4xx), str(window.errors_5xx),
            _ms(window.p50_ms), _ms(window.p99_ms),
        )  # fmt: skip
    return table


def _serverless(info: dict) -> str:
    """How a serverless endpoint's model processes stand: stopped while idle, or serving."""
    if info.get("idle_seconds") is None:
        return ""
    if info["idle"]:
        return " · serverless: idle (starts on the next request)"
    return f" · serverless: serving (stops after {info['idle_seconds']:g} s without requests)"


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def register(app: typer.Typer) -> None:
    app.add_typer(endpoint_app, name="endpoint")
