"""`mlops models list|show|approve|reject|register`: the model registry from the terminal."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import typer
from rich.table import Table

from deploy.cli.console import err, out, print_table
from deploy.cli.context import BackendOption, Context
from deploy.errors import RegistryError
from deploy.registry import ModelVersion

models_app = typer.Typer(help="Inspect and manage model versions in the registry.", no_args_is_help=True)


def _row(mv: ModelVersion) -> list[str]:
    metrics = mv.metrics()
    return [
        str(mv.version),
        mv.status,
        f"{metrics.get('auc', float('nan')):.4f}",
        f"{metrics.get('f1', float('nan')):.4f}",
        mv.sha256[:12],
        str(mv.lineage.get("git_commit", ""))[:12],
        mv.created_at,
    ]


@models_app.command("list")
def list_(backend: str = BackendOption, json_out: bool = typer.Option(False, "--json")) -> int:
    """Every version of the model package group, oldest first."""
    ctx = Context(backend)
    versions = ctx.backend.registry().list(ctx.group)
    if json_out:
        out.print(json.dumps([_as_dict(v) for v in versions], indent=2), markup=False)
        return 0
    if not versions:
        err.print(f"no versions in '{ctx.group}' yet: run `mlops pipeline run`")
        return 0
    table = Table(title=f"{ctx.group} ({ctx.backend.name})")
    for column in ("version", "status", "auc", "f1", "sha256", "commit", "created"):
        table.add_column(column)
    for mv in versions:
        table.add_row(*_row(mv))
    print_table(table)
    return 0


def _as_dict(mv: ModelVersion) -> dict:
    return {
        "group": mv.group,
        "version": mv.version,
        "arn": mv.arn,
        "status": mv.status,
        "status_reason": mv.status_reason,
        "artifact_uri": mv.artifact_uri,
        "sha256": mv.sha256,
        "metrics": mv.metrics(),
        "lineage": mv.lineage,
        "metadata": mv.metadata,
        "created_at": mv.created_at,
    }


@models_app.command("show")
def show(version: int = typer.Argument(None, help="defaults to the newest"), backend: str = BackendOption) -> int:
    """One version with its metrics, artifact and lineage, as JSON."""
    ctx = Context(backend)
    mv = ctx.backend.registry().resolve(ctx.group, version)
    out.print(json.dumps(_as_dict(mv), indent=2), markup=False)
    return 0


@models_app.command("approve")
def approve(
    version: int, reason: str = typer.Option("approved by hand", "--reason"), backend: str = BackendOption
) -> int:
    """Mark a version Approved."""
    ctx = Context(backend)
    mv = ctx.backend.registry().update_status(ctx.group, version, "Approved", reason=reason)
    err.print(f"{mv.label}: {mv.status}")
    return 0


@models_app.command("reject")
def reject(version: int, reason: str = typer.Option(..., "--reason", help="why"), backend: str = BackendOption) -> int:
    """Mark a version Rejected, with the reason."""
    ctx = Context(backend)
    mv = ctx.backend.registry().update_status(ctx.group, version, "Rejected", reason=reason)
    err.print(f"{mv.label}: {mv.status} ({reason})")
    return 0


@models_app.command("register")
def register_artifact(
    path: Path = typer.Argument(..., help="an existing model.tar.gz", exists=True, dir_okay=False, readable=True),
    evaluation: Path = typer.Option(
        None, "--evaluation", help="its evaluation.json, if you have one", exists=True, dir_okay=False
    ),
    backend: str = BackendOption,
) -> int:
    """Register an existing model.tar.gz as a new version (PendingManualApproval)."""
    _check_artifact(path)
    metrics = _read_evaluation(evaluation) if evaluation else {}
    ctx = Context(backend)
    registry = ctx.backend.registry()
    uri, digest = registry.store_artifact(path)
    mv = registry.register(
        ctx.group,
        artifact_uri=uri,
        sha256=digest,
        evaluation=metrics,
        lineage={"registered_from": str(path)},
        description=f"registered from {path.name}",
    )
    err.print(f"[green]registered {mv.label}[/] sha256 {digest[:12]}…")
    return 0


def _check_artifact(path: Path) -> None:
    """Refuse what is not a gzip tar before it reaches the registry (a deploy would fail much later)."""
    try:
        with tarfile.open(path, mode="r:gz") as tar:
            names = tar.getnames()
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise RegistryError(f"{path}: not a model.tar.gz ({exc})") from None
    if not names:
        raise RegistryError(f"{path}: the archive is empty")


def _read_evaluation(path: Path) -> dict:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        reason = "nested too deeply" if isinstance(exc, RecursionError) else exc
        raise RegistryError(f"{path}: not valid JSON ({reason})") from None
    if not isinstance(document, dict):
        raise RegistryError(f"{path}: expected a JSON object in SageMaker's model-quality shape")
    return document


def register(app: typer.Typer) -> None:
    app.add_typer(models_app, name="models")
