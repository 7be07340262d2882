"""`mlops monitor`: captured traffic against the pinned model's baseline (control plane).

Exit codes: 0 no drift (or too few rows to judge), 18 drift or data-quality violations,
3 config error (no pinned model, capture off, bad window or rule), 4 no traffic or unreadable
traffic, 5 registry error (the pinned version or its baseline is missing), 6 the monitor step
failed. `--format markdown` prints the report for a job summary or an issue; `--format json`
the whole result. Declared `monitoring.alarms` are judged on the result and the ones that
would fire are named (`alarms` in the JSON). In GitHub Actions the markdown also goes to the
job summary and the step outputs `status`, `drift`, `report-file` and `on-drift`
(monitoring.on_drift) are set. `--if-captured` makes an environment whose data capture is off
a notice and exit 0 (status `not-captured`) instead of a config error, so a schedule can run
over every environment.

`mlops monitor quality --env E --labels FILE|s3://…` joins ground truth to the captured
inferences and exits 18 when a gate metric falls below its threshold or more than three
standard deviations below the model's evaluation.
"""

from __future__ import annotations

import json
from enum import StrEnum

import typer
from rich.table import Table

from deploy.cli.console import append_github_file, err, out, print_table
from deploy.cli.context import BackendOption, Context
from deploy.errors import ConfigError, ExitCode
from deploy.monitor import alarms, report
from deploy.monitor.quality import quality_env
from deploy.monitor.run import MonitorRun, monitor_env


class Format(StrEnum):
    text = "text"
    markdown = "markdown"
    json = "json"


monitor_app = typer.Typer(
    help="Captured traffic against the pinned model's baseline (drift), or against labels (quality).",
    invoke_without_command=True,
)


@monitor_app.callback()
def monitor_command(
    ctx: typer.Context,
    env: str = typer.Option(None, "--env", "-e", help="environment whose endpoint is watched (config/<env>.yaml)"),
    since: str = typer.Option(None, "--since", help="90m, 24h, 7d or a start time (default: monitoring.window)"),
    data: str = typer.Option(None, "--data", help="a capture folder or .jsonl file, a CSV/Parquet table, or s3://"),
    output_format: Format = typer.Option(Format.text, "--format", help="text, markdown or json"),
    if_captured: bool = typer.Option(False, "--if-captured", help="capture off: a notice and exit 0, not an error"),
    backend: str = BackendOption,
) -> int:
    """Compare the traffic captured for the model pinned in ENV with its training baseline."""
    if ctx.invoked_subcommand is not None:
        return 0
    if env is None:
        raise ConfigError("mlops monitor: --env is required (e.g. --env prod)")
    context = Context(backend)
    cfg = context.environment(env)
    if if_captured and data is None and not cfg.endpoint.data_capture.enabled:
        note = f"{env}: not monitored: config/{env}.yaml has endpoint.data_capture.enabled false"
        err.print(note, markup=False)
        append_github_file("GITHUB_OUTPUT", f"status=not-captured\ndrift=false\non-drift={cfg.monitoring.on_drift}\n")
        append_github_file("GITHUB_STEP_SUMMARY", f"### ⏭️ monitor {note}\n")
        return 0
    run = monitor_env(context.backend, context.group, env, cfg, since, data)
    fired = alarms.firing(cfg.monitoring.alarms, cfg.endpoint.name, run.result)
    line = alarms.summary(cfg.monitoring.alarms, fired)
    if output_format is Format.json:
        document = json.loads(report.as_json(run))
        document["alarms"] = [f.as_dict() for f in fired]
        out.print(json.dumps(document, indent=2, sort_keys=True), markup=False)
    elif output_format is Format.markdown:
        out.print(report.markdown(run) + (f"\n{line}\n" if line else ""), markup=False, end="")
    else:
        _print_text(run)
        if line:
            out.print(line, markup=False)
    _github(run, cfg.monitoring.on_drift, line)
    return int(ExitCode.MONITOR_DRIFT) if run.drift else 0


def _print_text(run: MonitorRun) -> None:
    lines = report.text_lines(run)
    out.print(lines[0], markup=False)
    rows = report.terminal_rows(run)
    if rows:
        table = Table(*report.HEADER, box=None, pad_edge=False)
        for cells in rows:
            table.add_row(*cells)
        print_table(table)
    for line in lines[1:]:
        out.print(line, markup=False)
    err.print(f"results: {run.folder / 'output'}", markup=False)


def _github(run: MonitorRun, on_drift: str, alarm_line: str | None) -> None:
    markdown = report.markdown(run) + (f"\n{alarm_line}\n" if alarm_line else "")
    report_file = run.folder / "report.md"
    report_file.write_text(markdown, encoding="utf-8")
    values = {"status": run.result["status"], "drift": str(run.drift).lower(), "report-file": str(report_file)}
    values["on-drift"] = on_drift
    append_github_file("GITHUB_OUTPUT", "".join(f"{k}={v}\n" for k, v in values.items()))
    append_github_file("GITHUB_STEP_SUMMARY", markdown)


@monitor_app.command("quality")
def quality_command(
    env: str = typer.Option(..., "--env", "-e", help="environment whose endpoint served the inferences"),
    labels: str = typer.Option(..., "--labels", help="CSV/Parquet (or s3://) with inference_id|event_id, label"),
    since: str = typer.Option(None, "--since", help="90m, 24h, 7d or a start time (default: monitoring.window)"),
    output_format: Format = typer.Option(Format.text, "--format", help="text or markdown"),
    backend: str = BackendOption,
) -> int:
    """Join ground truth to the captured inferences and compare the metrics with the model's evaluation."""
    context = Context(backend)
    run = quality_env(
        context.backend, context.pipeline.gate, context.group, env, context.environment(env), labels, since
    )
    if output_format is Format.text:
        lines = report.quality_lines(run)
        out.print(lines[0], markup=False)
        table = Table(*report.QUALITY_HEADER, box=None, pad_edge=False)
        for cells in report.quality_rows(run):
            table.add_row(*cells)
        print_table(table)
        out.print(lines[1], markup=False)
    else:
        out.print(report.quality_markdown(run), markup=False, end="")
    append_github_file("GITHUB_STEP_SUMMARY", report.quality_markdown(run))
    return int(ExitCode.MONITOR_DRIFT) if run.breach else 0


def register(app: typer.Typer) -> None:
    app.add_typer(monitor_app, name="monitor")
