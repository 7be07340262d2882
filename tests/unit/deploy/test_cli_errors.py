"""Mistakes on the command line end in one message and an exit code, never a traceback."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from pathlib import Path

import pytest

from deploy.cli.app import main


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["no-such-command"], "No such command"),
        (["pipeline", "run", "--rows", "abc"], "--rows"),
        (["plan", "--env", "prod", "--format", "html"], "'html' is not one of 'text', 'markdown'"),
        (["invoke", "--env", "prod", "--file", "/no/such/body.json"], "does not exist"),
        (["models", "register", "/no/such/model.tar.gz"], "does not exist"),
    ],
)
def test_usage_errors_exit_2_without_traceback(
    repo_copy: Path, capsys: pytest.CaptureFixture[str], argv: list[str], says: str
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert says in err
    assert "Traceback" not in err


def test_register_refuses_what_is_not_a_model_archive(repo_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake = repo_copy / "model.tar.gz"
    fake.write_bytes(b"not an archive")
    assert main(["models", "register", str(fake)]) == 5
    assert "not a model.tar.gz" in capsys.readouterr().err
    assert main(["models", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_register_refuses_an_evaluation_that_is_not_json(repo_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    archive = repo_copy / "model.tar.gz"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("model.joblib")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"abc"))
    archive.write_bytes(gzip.compress(buffer.getvalue()))
    evaluation = repo_copy / "evaluation.json"
    for bad in (b"{not json", b"[" * 100_000, '{"auc": "caf\u00e9"}'.encode("latin-1")):
        evaluation.write_bytes(bad)
        assert main(["models", "register", str(archive), "--evaluation", str(evaluation)]) == 5
        err = capsys.readouterr().err
        assert "not valid JSON" in err and "Traceback" not in err
    evaluation.write_text(json.dumps({"binary_classification_metrics": {"auc": {"value": 0.8}}}))
    assert main(["models", "register", str(archive), "--evaluation", str(evaluation)]) == 0


def test_deploy_without_a_pin_says_so(repo_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Before the first promotion, or after reverting it, there is nothing to deploy: a no-op, not a failure.
    assert main(["deploy", "--env", "prod"]) == 0
    err = capsys.readouterr().err
    assert "pins no model" in err and "nothing to deploy" in err and "`mlops promote` pins one" in err
    assert "vNone" not in err
