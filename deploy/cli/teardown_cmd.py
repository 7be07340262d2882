"""`mlops teardown`: remove everything the tool created for one environment; the pin in git stays (control plane)."""

from __future__ import annotations

import sys

import typer

from deploy.cli.console import err, out
from deploy.cli.context import BackendOption, Context
from deploy.errors import ExitCode, MlopsError


class TeardownRefused(MlopsError):
    exit_code = ExitCode.USAGE


def teardown(
    env: str = typer.Option(..., "--env", "-e", help="environment: config/<env>.yaml"),
    backend: str = BackendOption,
    dry_run: bool = typer.Option(False, "--dry-run", help="list what would be removed; remove nothing"),
    yes: bool = typer.Option(False, "--yes", "-y", help="do not ask (needed when not run from a terminal)"),
) -> int:
    """Remove the endpoint, its configs, models, alarms and autoscaling (locally: servers and state).

    The model pin in config/<env>.yaml and the registry stay, so `mlops plan` then shows a
    create and `mlops deploy` brings the environment back.
    """
    ctx = Context(backend)
    cfg = ctx.environment(env)
    endpoints = ctx.backend.endpoints()
    found = endpoints.teardown(env, cfg, dry_run=True)
    if not found:
        out.print(f"{env} ({cfg.endpoint.name}): nothing to remove", markup=False)
        return 0
    out.print(f"{env} ({cfg.endpoint.name}): {'would remove' if dry_run else 'removing'}", markup=False)
    for line in found:
        out.print(f"  - {line}", markup=False)
    if dry_run:
        return 0
    if not yes:
        if not sys.stdin.isatty():
            raise TeardownRefused(f"teardown of {env} asks for confirmation: pass --yes when not at a terminal")
        typer.confirm(f"Remove these from {env}?", abort=True)
    removed = endpoints.teardown(env, cfg, dry_run=False)
    err.print(f"removed {len(removed)} resource(s) of {env}; the pin in config/{env}.yaml stays", markup=False)
    return 0


def register(app: typer.Typer) -> None:
    app.command()(teardown)
