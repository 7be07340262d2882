"""`mlops pipeline run`: preprocess → train → evaluate → register, on the chosen backend."""

from __future__ import annotations

import json

import typer
from pydantic import ValidationError

from deploy.cli.console import StepProgress, append_github_file, err, out
from deploy.cli.context import BackendOption, Context
from deploy.config.loader import validate
from deploy.config.schema import PipelineConfig
from deploy.errors import ConfigError
from deploy.pipeline.data import local_file
from deploy.pipeline.run import check_overrides, parse_overrides, run_pipeline
from deploy.sagemaker.stop import run_marker

pipeline_app = typer.Typer(help="Run the training pipeline.", no_args_is_help=True)


@pipeline_app.command("run")
def run(
    backend: str = BackendOption,
    data: str = typer.Option(None, "--data", help="override data.source (path, s3:// URI or builtin://churn)"),
    rows: int = typer.Option(None, "--rows", help="override data.rows of the built-in sample"),
    sets: list[str] = typer.Option([], "--set", help="hyperparameter override name=value (repeatable)"),
    instance_type: str = typer.Option(None, "--instance-type", help="SageMaker training instance type"),
    spot: bool = typer.Option(None, "--spot/--no-spot", help="managed spot training (SageMaker)"),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="stream every line the steps print"),
    json_out: bool = typer.Option(False, "--json", help="print the registered version as JSON"),
) -> int:
    """Train, evaluate and register a new model version (PendingManualApproval)."""
    overrides = parse_overrides(sets)
    cfg = _with_overrides(Context(), data, rows, instance_type, spot)
    check_overrides(cfg, overrides)
    ctx = Context(backend, pipeline_override=cfg)
    err.print(f"pipeline on [bold]{ctx.backend.name}[/]: data {cfg.data.source}, group {ctx.group}")
    version = run_pipeline(ctx.backend, cfg, overrides, StepProgress(verbose))
    metrics = ", ".join(f"{k} {v:.4f}" for k, v in version.metrics().items())
    err.print(f"[green]registered {version.label}[/] ({version.status}) sha256 {version.sha256[:12]}… {metrics}")
    # The next step gates exactly this version, never whatever happens to be newest by then.
    append_github_file("GITHUB_OUTPUT", f"version={version.version}\n")
    if json_out:
        out.print(
            json.dumps(
                {
                    "group": version.group,
                    "version": version.version,
                    "sha256": version.sha256,
                    "artifact_uri": version.artifact_uri,
                    "metrics": version.metrics(),
                }
            )
        )
    return 0


@pipeline_app.command("stop")
def stop(
    backend: str = BackendOption,
    every: bool = typer.Option(False, "--all", help="stop every running execution, not only this CI run's"),
) -> int:
    """Stop the pipeline executions this CI run started (a cancelled or timed-out train job)."""
    ctx = Context(backend)
    marker = None if every else run_marker()
    if marker == "":
        err.print("not in GitHub Actions (no GITHUB_RUN_ID): pass --all to stop every running execution")
        return 0
    stopped = ctx.backend.pipeline_runner().stop(ctx.pipeline, marker)
    for arn in stopped:
        err.print(f"stopping {arn}")
    err.print(f"{len(stopped)} execution(s) of {ctx.pipeline.sagemaker.pipeline_name} stopped")
    return 0


def _with_overrides(
    loaded: Context, data: str | None, rows: int | None, instance_type: str | None, spot: bool | None
) -> PipelineConfig:
    """The pipeline config with the command line's overrides, checked like the file before any step."""
    cfg = loaded.pipeline
    if data is not None or rows is not None:
        cfg = cfg.model_copy(update={"data": cfg.data.model_copy(update=_data_update(data, rows))})
        if rows is not None and not cfg.data.source.startswith("builtin://"):
            raise ConfigError(f"--rows {rows}: applies only to the built-in sample, not to {cfg.data.source}")
    if instance_type or spot is not None:
        compute = cfg.sagemaker.training.model_copy(update=_compute_update(instance_type, spot))
        cfg = cfg.model_copy(update={"sagemaker": cfg.sagemaker.model_copy(update={"training": compute})})
    # Re-validate: overrides from workflow inputs obey the same schema as the file.
    flags = {"data.source": "--data", "data.rows": "--rows", "sagemaker.training.instance_type": "--instance-type"}
    cfg = _revalidate(cfg, flags)
    if data is not None and not data.startswith(("builtin://", "s3://")):
        local_file(data, loaded.workspace.root, origin=f"--data {data}")
    return cfg


def _revalidate(cfg: PipelineConfig, flags: dict[str, str]) -> PipelineConfig:
    try:
        return validate(PipelineConfig, cfg.model_dump())
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        got = f" (got {first['input']!r})" if "input" in first and not isinstance(first["input"], dict) else ""
        raise ConfigError(f"{flags.get(key, 'command-line override ' + key)}: {first['msg']}{got}") from None


def _data_update(data: str | None, rows: int | None) -> dict:
    update: dict = {}
    if data is not None:
        update["source"] = data
    if rows is not None:
        update["rows"] = rows
    return update


def _compute_update(instance_type: str | None, spot: bool | None) -> dict:
    update: dict = {}
    if instance_type:
        update["instance_type"] = instance_type
    if spot is not None:
        update["spot"] = spot
    return update


def register(app: typer.Typer) -> None:
    app.add_typer(pipeline_app, name="pipeline")
