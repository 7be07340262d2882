"""`mlops batch`: score files with the model pinned for an environment (control plane)."""

from __future__ import annotations

import typer
from rich.markup import escape

from deploy.batch.run import run_batch
from deploy.cli.console import append_github_file, err
from deploy.cli.context import BackendOption, Context
from deploy.cli.deploy_cmd import EnvOption
from deploy.errors import MlopsError


class BatchConsole:
    def event(self, message: str) -> None:
        err.print(f"[bold cyan]•[/] {escape(message)}")


def batch(
    env: str = EnvOption,
    input_uri: str = typer.Option(..., "--input", "-i", help="a CSV file or folder (local), or an s3:// prefix"),
    output_uri: str = typer.Option(..., "--output", "-o", help="folder or s3:// prefix for <input file>.out"),
    id_column: str = typer.Option(
        None, "--id-column", help="the first column is this ID: passed through to the output, never to the model"
    ),
    backend: str = BackendOption,
) -> int:
    """Score header-less CSV files with the pinned model: one output line per input line, in order."""
    ctx = Context(backend)
    cfg = ctx.environment(env)
    pinned = f"{ctx.group} v{cfg.model.version}" if cfg.model.pinned else "no model pinned"
    err.print(f"batch [bold]{env}[/] on {ctx.backend.name}: {pinned}")
    try:
        report = run_batch(ctx.backend, env, cfg, input_uri, output_uri, id_column, BatchConsole())
    except MlopsError as exc:
        append_github_file("GITHUB_STEP_SUMMARY", f"### ❌ batch {env} failed\n\n{exc.message}\n")
        raise
    err.print(f"[green]✓[/] {escape(report.summary())}")
    append_github_file("GITHUB_STEP_SUMMARY", f"### ✅ batch {env}\n\n{report.summary()}\n")
    return 0


def register(app: typer.Typer) -> None:
    app.command("batch")(batch)
