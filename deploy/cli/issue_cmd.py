"""`mlops issue report`: open or update the one GitHub issue of a scheduled check (control plane)."""

from __future__ import annotations

from pathlib import Path

import typer

from deploy.cli.console import append_github_file, err
from deploy.issue_tracker import GitHubIssues

issue_app = typer.Typer(help="Report a scheduled check's findings as one GitHub issue.", no_args_is_help=True)


@issue_app.command("report")
def report(
    title: str = typer.Option(..., "--title", help="the issue's title: one issue per title and label"),
    label: str = typer.Option(..., "--label", help="label that marks the issue (e.g. drift)"),
    body_files: list[Path] = typer.Option(
        ..., "--body-file", exists=True, dir_okay=False, readable=True, help="markdown; repeat to join several"
    ),
) -> int:
    """Replace the body of the open issue with this title and label, or open it."""
    body = "\n\n".join(path.read_text(encoding="utf-8").strip() for path in body_files) + "\n"
    result = GitHubIssues.from_env().report(title, label, body)
    verb = "opened" if result.created else "updated"
    err.print(f"{verb} issue #{result.number}: {result.url}")
    append_github_file("GITHUB_STEP_SUMMARY", f"{verb} issue [#{result.number}]({result.url}): {title}\n")
    return 0


def register(app: typer.Typer) -> None:
    app.add_typer(issue_app, name="issue")
