"""What the CLI prints: plain help text, whole table cells when piped, hints that fit the state."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from deploy.cli.app import main
from tests.conftest import REPO
from tests.unit.deploy.promotion.sample import evaluation, local_registry, register, set_gate


def help_text(capsys: pytest.CaptureFixture[str], *command: str) -> str:
    assert main([*command, "--help"]) == 0
    return capsys.readouterr().out


def test_help_shows_text_literally_without_markup_or_emoji(capsys: pytest.CaptureFixture[str]) -> None:
    text = help_text(capsys, "config", "validate")
    assert "Print `file:key: message` for every problem" in text
    assert "🔑" not in text and "╭" not in text


def test_help_shows_boolean_flags_as_flags(capsys: pytest.CaptureFixture[str]) -> None:
    for command in (("promote",), ("demo",), ("models", "list")):
        text = help_text(capsys, *command)
        assert "<bool>" not in text, command
    text = help_text(capsys, "promote")
    assert "--branch / --no-branch" in text and "--dry-run" in text


def test_tables_are_not_cut_when_piped(repo_copy: Path, tmp_path: Path) -> None:
    set_gate(repo_copy)
    registry = local_registry(repo_copy)
    model = register(registry, tmp_path, evaluation(0.81, 0.61, 0.8), "v1")
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    done = subprocess.run(
        [sys.executable, "-m", "deploy", "models", "list"],
        cwd=REPO, env={**env, "MLOPS_ROOT": str(repo_copy)}, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "PendingManualApproval" in done.stdout and model.created_at in done.stdout
    assert model.sha256[:12] in done.stdout and "…" not in done.stdout


def test_status_of_an_endpoint_never_deployed_suggests_deploy(
    repo_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["endpoint", "status", "--env", "staging"]) == 7
    message = capsys.readouterr().err
    assert "staging: not running (never deployed); `mlops deploy --env staging` creates it" in message
    assert "endpoint start" not in message


def test_status_of_an_environment_without_config_is_a_config_error(
    repo_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["endpoint", "status", "--env", "nope"]) == 3
    assert "config/nope.yaml: no such environment (known: prod, staging)" in capsys.readouterr().err
