"""`mlops teardown` on the local backend: the server stops, its port frees, its state goes, the pin stays."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from deploy.cli.app import main
from tests.e2e.conftest import LocalLoop, _scratch_repo, register_trained


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def test_teardown_stops_the_server_and_removes_its_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "repo"
    _scratch_repo(root, 0.005)
    monkeypatch.setenv("MLOPS_ROOT", str(root))
    loop = LocalLoop(root)
    register_trained(loop)
    loop.pin(1)
    assert main(["deploy", "--env", "staging"]) == 0
    port = loop.config("staging").local.port
    process = loop.process("staging")
    assert process is not None and not port_is_free(port)
    capsys.readouterr()

    assert main(["teardown", "--env", "staging", "--dry-run"]) == 0
    listing = capsys.readouterr().out
    assert f"server of 'churn-staging' on 127.0.0.1:{port} (pid {process.pid})" in listing
    assert "state .mlops/endpoints/staging" in listing
    assert loop.process("staging") is not None  # the dry run stopped nothing

    assert main(["teardown", "--env", "staging", "--yes"]) == 0
    assert loop.process("staging") is None and port_is_free(port)
    assert not loop.workspace.endpoint_dir("staging").exists()
    assert "version: 1" in (root / "config" / "staging.yaml").read_text()
    assert loop.model(1).version == 1  # the registry keeps the version
    assert main(["plan", "--env", "staging"]) == 10
    assert "staging (churn-staging): create" in capsys.readouterr().out
    assert main(["deploy", "--env", "staging"]) == 0  # and the pin brings it back
    assert main(["teardown", "--env", "staging", "--yes"]) == 0
