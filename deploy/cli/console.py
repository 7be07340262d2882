"""Terminal output shared by the commands: data on stdout, progress and errors on stderr."""

from __future__ import annotations

import os
import time
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
from rich.table import Table

from deploy.errors import UsageError

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def fail(message: str) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}", markup=True)


def print_table(table: Table, console: Console = out) -> None:
    """A table at its natural width when the output is not a terminal (a pipe, a file, a CI log).

    Rich lays out for 80 columns when it cannot ask a terminal, which cuts cells short
    (`PendingMa…`); a reader of piped output wants every value whole.
    """
    if not console.is_terminal:
        natural = Measurement.get(console, console.options.update_width(10_000), table).maximum
        if natural > console.width:
            console = Console(file=console.file, width=natural, highlight=False, color_system=console.color_system)
    console.print(table)


def write_file(path: Path, text: str, option: str) -> None:
    """Write a file the user named on the command line; a path that cannot be written is one line, exit 2."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{option} {path}: cannot write: {exc.strerror or exc}") from None


def append_github_file(variable: str, text: str) -> bool:
    """Append to $GITHUB_OUTPUT / $GITHUB_STEP_SUMMARY when running in Actions."""
    target = os.environ.get(variable)
    if not target:
        return False
    with Path(target).open("a", encoding="utf-8") as handle:
        handle.write(text if text.endswith("\n") else text + "\n")
    return True


class StepProgress:
    """Pipeline progress: a line per step start and end, and the step's latest output line."""

    def __init__(self, verbose: bool = False) -> None:
        self.verbose = verbose
        self.status = None
        self.started = time.monotonic()

    def step_started(self, step: str, detail: str = "") -> None:
        err.print(f"[bold]▶ {step}[/] [dim]{detail}[/]")
        self.status = err.status(f"{step} running…")
        self.status.start()

    def step_output(self, step: str, line: str) -> None:
        if self.verbose:
            err.print(f"  [dim]{step} |[/] {escape(line)}", markup=True)
        elif self.status is not None and line.strip():
            self.status.update(f"{step}: {line.strip()[:100]}")

    def step_finished(self, step: str, seconds: float) -> None:
        self._stop()
        err.print(f"[green]✓ {step}[/] {seconds:.1f}s")

    def step_failed(self, step: str, reason: str) -> None:
        self._stop()
        err.print(f"[red]✗ {step}[/] {escape(reason)}")

    def _stop(self) -> None:
        if self.status is not None:
            self.status.stop()
            self.status = None
