"""The `mlops` entry point: wires the command modules and maps typed errors to exit codes."""

from __future__ import annotations

import contextlib
import importlib
import sys

import click
import typer

from deploy.cli.console import err, fail
from deploy.errors import ExitCode, MlopsError


def _usage_errors() -> tuple[type[Exception], ...]:
    """click's usage errors, and those of the click copy newer typer releases vendor as `typer._click`."""
    errors: list[type[Exception]] = [click.ClickException]
    with contextlib.suppress(ImportError):
        errors.append(importlib.import_module("typer._click").ClickException)
    return tuple(errors)


USAGE_ERRORS = _usage_errors()
ABORTS = (KeyboardInterrupt, click.exceptions.Abort, typer.Abort)
EXITS = (click.exceptions.Exit, typer.Exit)

app = typer.Typer(
    name="mlops",
    help="GitOps for SageMaker models: train, register, promote, deploy — locally or on AWS.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Each module adds its commands with `register(app)`.
COMMAND_MODULES = (
    "deploy.cli.config_cmd",
    "deploy.cli.pipeline_cmd",
    "deploy.cli.models_cmd",
    "deploy.cli.deploy_cmd",
    "deploy.cli.promote_cmd",
    "deploy.cli.endpoint_cmd",
    "deploy.cli.demo_cmd",
)

for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(app)


def main(argv: list[str] | None = None) -> int:
    """Run one command; user errors become one line on stderr and a distinct exit code."""
    try:
        result = app(args=argv, prog_name="mlops", standalone_mode=False)
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
