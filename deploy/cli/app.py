"""The `mlops` entry point: wires the command modules and maps typed errors to exit codes."""

from __future__ import annotations

import functools
import importlib
import sys
from importlib import metadata

import typer
import typer.core
import typer.main

from deploy.cli.console import err, fail
from deploy.errors import ExitCode, MlopsError

# The click that typer runs on: its vendored copy (`typer._click` in newer releases) or, in older
# releases, the `click` distribution typer depended on. Taken from typer itself, so the CLI never
# imports a distribution that `[project.dependencies]` does not declare.
_click = getattr(typer.core, "_click", None) or typer.core.click

USAGE_ERRORS = (_click.ClickException,)
# typer.Abort and typer.Exit are click's own classes in older releases and typer's in newer ones.
ABORTS = (KeyboardInterrupt, typer.Abort)
EXITS = (typer.Exit,)

app = typer.Typer(
    name="mlops",
    help="GitOps for SageMaker models: train, register, promote, deploy — locally or on AWS.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

# Each module adds its commands with `register(app)`.
COMMAND_MODULES = (
    "deploy.cli.config_cmd",
    "deploy.cli.pipeline_cmd",
    "deploy.cli.models_cmd",
    "deploy.cli.deploy_cmd",
    "deploy.cli.promote_cmd",
    "deploy.cli.endpoint_cmd",
    "deploy.cli.batch_cmd",
    "deploy.cli.demo_cmd",
    "deploy.cli.issue_cmd",
    "deploy.cli.teardown_cmd",
    "deploy.cli.monitor_cmd",
)


def _version() -> str:
    try:
        return metadata.version("sagemaker-gitops")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"mlops {_version()}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_show_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Options that apply before any command (the help text is the app's, above)."""


for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(app)


@functools.cache
def _command() -> _click.Command:
    """The app as a click command, built once per process.

    Building it inspects the signature of every command; a process that runs several commands
    (a test suite, a script calling `main`) paid that again for each. Calling it is what
    `app(...)` does, less typer's exception hook, which `pretty_exceptions_enable=False` makes
    Python's own.
    """
    return typer.main.get_command(app)


def main(argv: list[str] | None = None) -> int:
    """Run one command; user errors become one line on stderr and a distinct exit code."""
    try:
        result = _command()(args=argv, prog_name="mlops", standalone_mode=False)
    except MlopsError as exc:
        fail(exc.message)
        for line in exc.details[1:]:
            err.print(f"  {line}", markup=False)
        return int(exc.exit_code)
    except ABORTS:
        fail("interrupted")
        return int(ExitCode.INTERRUPTED)
    except EXITS as exc:
        return exc.exit_code
    except USAGE_ERRORS as exc:
        exc.show()
        return exc.exit_code
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
