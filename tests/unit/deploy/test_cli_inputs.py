"""Bad command-line inputs are config, data or setup errors found before any step runs: one line each."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.cli.app import main


def _one_line(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--set", "C=abc"], "--set C=abc: C must be a number, got 'abc'"),
        (["--set", "nosuch=1"], "--set nosuch=1: hyperparameters nosuch do not apply to logistic_regression"),
        (["--set", "C=0"], "C must be > 0"),
        (["--set", "max_iter=2.5"], "max_iter must be an integer"),
        (["--set", "algorithm=xgboost"], "unknown algorithm 'xgboost'"),
        (["--set", "learning_rate=0.1"], "do not apply to logistic_regression"),
        (["--rows", "0"], "--rows: Input should be greater than or equal to 100 (got 0)"),
        (["--rows", "-5"], "--rows"),
        (["--data", "no/such/file.csv"], "--data no/such/file.csv:"),
        (["--data", "notes.txt"], "--data notes.txt:"),
        (["--data", "s3://bucket"], "needs a bucket and a key"),
        (["--data", "ftp://host/x.csv"], "--data: "),
        (["--data", "data.csv", "--rows", "500"], "--rows 500: applies only to the built-in sample"),
        (["--instance-type", "m5.large"], "--instance-type: String should match pattern"),
    ],
)
def test_pipeline_run_overrides_are_config_errors_before_any_step(
    repo_copy: Path, capsys: pytest.CaptureFixture[str], argv: list[str], says: str
) -> None:
    (repo_copy / "notes.txt").write_text("hello")
    (repo_copy / "data.csv").write_text("a,b\n1,2\n")
    assert main(["pipeline", "run", *argv]) == 3
    err = capsys.readouterr().err
    assert says in _one_line(err)
    assert "preprocess" not in err  # no step started
    assert not (repo_copy / ".mlops" / "runs").exists()


def test_s3_data_without_credentials_on_the_local_backend(
    repo_copy: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(repo_copy / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(repo_copy / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance-metadata lookup
    assert main(["pipeline", "run", "--data", "s3://bucket/churn.csv"]) == 12
    line = _one_line(capsys.readouterr().err)
    assert "s3://bucket/churn.csv: no AWS credentials" in line and "--data" in line


def test_bad_hyperparameter_in_the_config_file_is_found_by_validate(
    repo_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = repo_copy / "config" / "pipeline.yaml"
    path.write_text(path.read_text().replace("    C: 1.0\n", "    C: abc\n"))
    assert main(["config", "validate"]) == 3
    out = capsys.readouterr().out
    assert f"{path}:training.hyperparameters: C must be a number, got 'abc'" in out


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda p: p.write_text("not a database, just text" * 100), "file is not a database"),
        (lambda p: p.mkdir(), "unable to open database file"),
    ],
    ids=["damaged", "folder"],
)
def test_an_unusable_local_registry_is_one_line(
    repo_copy: Path, capsys: pytest.CaptureFixture[str], make, says
) -> None:
    db = repo_copy / ".mlops" / "registry.db"
    db.parent.mkdir(parents=True)
    make(db)
    assert main(["models", "list"]) == 5
    line = _one_line(capsys.readouterr().err)
    assert f"local registry {db}: {says}" in line


def test_data_with_unknown_columns_or_infinities_is_rejected_at_validation(
    repo_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Exit 4 from the data gate, naming columns and rows; not a failed training step (exit 6)."""
    from ml.dataset import make_churn

    frame = make_churn(300, 1).assign(customer_id=range(300))
    frame.loc[[2, 7], "total_charges"] = float("inf")
    frame.to_csv(repo_copy / "customers.csv", index=False)
    assert main(["pipeline", "run", "--data", "customers.csv"]) == 4
    line = _one_line(capsys.readouterr().err)
    assert "column 'total_charges': 2 infinite values at rows 3, 8" in line
    assert "unknown columns 'customer_id'" in line
    assert "train" not in line


@pytest.mark.parametrize("where", ["outside", "subfolder", "bad-root"])
def test_commands_run_from_the_repository_root(
    repo_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    monkeypatch.delenv("MLOPS_ROOT")
    if where == "outside":
        (tmp_path / "elsewhere").mkdir()
        monkeypatch.chdir(tmp_path / "elsewhere")
        says = "is not a repository of this template (no config/pipeline.yaml)"
    elif where == "subfolder":
        monkeypatch.chdir(repo_copy / "ml")
        says = f"run mlops from the repository root: cd {repo_copy}"
    else:
        monkeypatch.setenv("MLOPS_ROOT", str(tmp_path))
        says = f"MLOPS_ROOT={tmp_path}: no config/pipeline.yaml there"
    for argv in (["models", "list"], ["plan", "--env", "prod"], ["config", "validate"], ["pipeline", "run"]):
        assert main(argv) == 3
        assert says in _one_line(capsys.readouterr().err)
    assert not (tmp_path / "elsewhere" / ".mlops").exists()


def test_commands_work_from_the_root(repo_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLOPS_ROOT")
    monkeypatch.chdir(repo_copy)
    assert main(["config", "validate"]) == 0


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b"12,70.5,846.0,1,41,20.5,month-to-month,electronic_check,fiber_optic,yes\n", "text/csv"),
        (b'{"instances": [[1, 2]]}', "application/json"),
        (b"  \n[[1, 2]]", "application/json"),
        (b"tenure_months,age\n1,2\n", "text/csv"),
    ],
)
def test_invoke_guesses_the_content_type_from_the_body(body: bytes, kind: str) -> None:
    from deploy.cli.deploy_cmd import guess_content_type

    assert guess_content_type(body) == kind


def test_invoke_hints_at_the_content_type_the_body_looks_like() -> None:
    from deploy.cli.deploy_cmd import content_type_hint, error_reason

    assert content_type_hint(b"1,2,3", "application/json") == (
        " (the body looks like text/csv: pass --content-type text/csv)"
    )
    assert content_type_hint(b"1,2,3", "text/csv; charset=utf-8") == ""
    assert error_reason(b'{"error": "invalid JSON: Extra data at line 1 column 2"}') == (
        "invalid JSON: Extra data at line 1 column 2"
    )
    assert error_reason(b"<html>\nbad</html>") == "<html>"


@pytest.mark.parametrize(
    "argv",
    [["plan", "--env", "prod", "--output", "/proc/no/plan.md"], ["config", "schema", "--output", "/proc/no"]],
    ids=["plan", "schema"],
)
def test_an_output_file_that_cannot_be_written_is_a_usage_error(
    repo_copy: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    assert main(argv) == 2
    assert "--output /proc/no" in _one_line(capsys.readouterr().err)


@pytest.mark.parametrize("env", ["pipeline", "../config/prod", "prod.yaml", "qa"])
def test_env_must_name_an_environment_file(repo_copy: Path, capsys: pytest.CaptureFixture[str], env: str) -> None:
    assert main(["plan", "--env", env]) == 3
    assert "no such environment (known: prod, staging)" in _one_line(capsys.readouterr().err)


def test_a_read_only_local_registry_is_one_line(repo_copy: Path) -> None:
    """Run as a user the file denies: root bypasses file modes, so root runs it in a user namespace."""
    import os
    import shutil
    import subprocess
    import sys

    from deploy.local.registry import SqliteRegistry
    from tests.conftest import REPO

    db = repo_copy / ".mlops" / "registry.db"
    SqliteRegistry(db, repo_copy / ".mlops" / "artifacts").register(
        "churn-classifier", artifact_uri="file:///m.tar.gz", sha256="0" * 64, evaluation={}, lineage={}
    )
    db.chmod(0o444)
    prefix = []
    if os.geteuid() == 0:
        assert shutil.which("unshare"), "root needs unshare(1) to act as an unprivileged user"
        prefix = ["unshare", "--user"]
    env = {**os.environ, "MLOPS_ROOT": str(repo_copy), "PYTHONPATH": str(REPO)}
    argv = [*prefix, sys.executable, "-m", "deploy", "models", "reject", "1", "--reason", "test"]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 5, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"error: local registry {db}: attempt to write a readonly database")
    assert "not writable" in line


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("bin.json", b"\xff\xfe\x00binary", "not UTF-8 text (byte 0xff at 0)"),
        ("deep.json", b"[" * 100_000, "not valid JSON (nested too deeply)"),
        ("rows.csv", b"a,b\n1," + b"2" * 200_000 + b"\n", "not valid CSV (field larger than field limit"),
        ("rows.csv", "a,b\ncaf\u00e9,1\n".encode("latin-1"), "not UTF-8 text"),
    ],
)
def test_a_traffic_file_that_cannot_be_replayed_is_one_line(tmp_path: Path, name: str, content: bytes, says: str):
    from deploy.endpoints.traffic import load_payloads
    from deploy.errors import ConfigError

    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ConfigError) as caught:
        load_payloads(str(path), None, "churned")
    assert caught.value.message.startswith(f"--traffic {path}: ") and says in caught.value.message
