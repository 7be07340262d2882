"""`mlops promote`: gate the newest model against the champion and pin it in config/ (control plane).

Exit codes: 0 promoted (or already serving: the champion itself or its artifact bytes under a new
version, an identical retrain; or a passing dry run), 9 rejected by the gate (reasons on stderr,
candidate marked Rejected), 5 registry problem (e.g. the pinned champion is not in the registry),
3 config or git problem. In GitHub Actions it writes the step outputs
`promoted`, `outcome`, `version`, `branch` (promote/<group>, one per model group: updated with
--branch, else the name for the pull request action), `commit`, `title`, `body-file` and a job summary.
"""

from __future__ import annotations

import typer

from deploy.cli.console import append_github_file, err, out
from deploy.cli.context import BackendOption, Context
from deploy.promotion import PromotionResult, promote


def promote_command(
    version: int = typer.Option(
        None, "--version", help="candidate version (CI passes the one it registered); default: newest"
    ),
    backend: str = BackendOption,
    branch: bool = typer.Option(
        False,
        "--branch/--no-branch",
        help="commit the pins on the branch promote/<group> (updated in place) instead of editing the working tree",
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="run the gate and render; change nothing"),
) -> int:
    """Gate a candidate against the champion pinned in config/prod.yaml; on pass, pin it everywhere."""
    ctx = Context(backend)
    result = promote(ctx.backend, ctx.workspace, version, branch, dry_run=dry_run)
    _print_checks(result)
    _github(result)
    if result.outcome == "promoted":
        out.print(result.body, markup=False, end="")
    if result.outcome != "rejected":
        err.print(result.message, markup=False)
    result.check()
    return 0


def _print_checks(result: PromotionResult) -> None:
    """The passing rules; failed ones come with the error, one line per reason."""
    if result.report is None:
        return
    against = f"champion {result.champion.label}" if result.champion else "thresholds only (no champion)"
    err.print(f"{result.candidate.label} vs {against}", markup=False)
    for check in result.report.checks:
        if check.passed:
            delta = f", Δ {check.delta:+.4f}" if check.delta is not None else ""
            err.print(f"  ✓ {check.name} {check.candidate:.4f}{delta}", markup=False)
    if result.report.split.state in ("different", "unknown"):
        err.print(f"  note: {result.report.split.note}", markup=False)


def _github(result: PromotionResult) -> None:
    """Step outputs and job summary, when running in GitHub Actions."""
    values = {
        "promoted": "true" if result.promoted else "false",
        "outcome": result.outcome,
        "version": str(result.candidate.version),
        "branch": result.branch or "",
        "commit": result.commit or "",
        "title": result.title,
        "body-file": str(result.body_file or ""),
    }
    append_github_file("GITHUB_OUTPUT", "".join(f"{k}={v.replace(chr(10), ' ')}\n" for k, v in values.items()))
    if result.summary:
        append_github_file("GITHUB_STEP_SUMMARY", result.summary)


def register(app: typer.Typer) -> None:
    app.command("promote")(promote_command)
