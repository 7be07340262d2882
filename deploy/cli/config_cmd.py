"""`mlops config validate|schema`: check the desired state, export JSON Schema for editors."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from deploy.cli.console import err, out, write_file
from deploy.config import validate_all
from deploy.config.deadlines import deadline_problems
from deploy.config.document import shown
from deploy.config.schema import EnvironmentConfig, PipelineConfig
from deploy.errors import ConfigError, ExitCode
from deploy.workspace import Workspace

config_app = typer.Typer(help="Validate the desired state in config/ and export its JSON Schema.", no_args_is_help=True)

SCHEMAS = {"pipeline.schema.json": PipelineConfig, "environment.schema.json": EnvironmentConfig}


@config_app.command("validate")
def validate(
    config_dir: Path = typer.Option(None, "--config-dir", help="defaults to config/ of the repository"),
) -> int:
    """Print `file:key: message` for every problem; exit non-zero if there is any.

    Also checks that each workflow job running a deploy or the pipeline outlasts the longest run
    the config allows (its timeout-minutes and its AWS role session).
    """
    directory = shown(config_dir or Workspace.discover().config_dir)
    result = validate_all(directory)
    workflows = directory.resolve().parent / ".github" / "workflows"
    result.problems.extend(deadline_problems(workflows, result.pipeline, result.environments))
    for line in result.problems:
        out.print(line, markup=False)
    if result.problems:
        err.print(f"{len(result.problems)} problem(s) in {directory}")
        return int(ExitCode.CONFIG)
    envs = ", ".join(result.environments) or "none"
    err.print(f"[green]✓[/] {directory}: pipeline.yaml and environments ({envs}) are valid")
    return 0


def schema_documents() -> dict[str, str]:
    return {name: json.dumps(model.model_json_schema(), indent=2) + "\n" for name, model in SCHEMAS.items()}


@config_app.command("schema")
def schema(
    output: Path = typer.Option(None, "--output", "-o", help="folder to write the *.schema.json files to"),
    check: bool = typer.Option(False, "--check", help="fail if the files in --output are out of date"),
) -> int:
    """Export the JSON Schema of the config files (editors use it through the `$schema` comment)."""
    target = output or Workspace.discover().config_dir / "schema"
    stale = []
    for name, text in schema_documents().items():
        path = target / name
        if check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(str(path))
            continue
        write_file(path, text, "--output")
        err.print(f"wrote {path}")
    if stale:
        raise ConfigError(f"JSON Schema out of date: {', '.join(stale)} (run `mlops config schema`)")
    return 0


def register(app: typer.Typer) -> None:
    app.add_typer(config_app, name="config")
