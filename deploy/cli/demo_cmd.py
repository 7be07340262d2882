"""`mlops demo`: run the whole local GitOps loop in a scratch copy of this repository (control plane)."""

from __future__ import annotations

from pathlib import Path

import typer

from deploy.cli.console import out
from deploy.demo_repo import project_root
from deploy.errors import ConfigError
from deploy.workspace import Workspace


def demo(
    workdir: Path = typer.Option(None, "--workdir", help="an empty or new folder to work in; a temp folder if omitted"),
    keep: bool = typer.Option(False, "--keep", help="leave the folder and its endpoints running afterwards"),
) -> int:
    """Train → promote → merge → deploy staging → smoke → canary to prod → a broken model rolled back → git revert."""
    source = project_root(Workspace.discover().root)
    if source is None:
        raise ConfigError("run `mlops demo` inside the project (a folder holding config/pipeline.yaml and ml/)")
    # Imported here: the demo's modules bring pandas, which no other command needs at start.
    from deploy.demo import run_demo

    return run_demo(source, workdir.resolve() if workdir else None, keep, out)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
