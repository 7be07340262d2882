"""`mlops batch` on the local backend for real: the pinned model over files, checked against a live endpoint."""

from __future__ import annotations

import csv
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.artifacts import pack_model_dir
from deploy.cli.app import main
from deploy.config.schema import ModelPin
from deploy.endpoints.client import EndpointClient
from deploy.local.registry import SqliteRegistry
from deploy.promotion.pins import plan_pins, write_pins
from deploy.workspace import Workspace

from .conftest import REPO, free_port

GROUP = "churn-classifier"


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A scratch repository with one trained model registered and pinned, prod on a free port."""
    from ml.dataset import make_churn, write_table
    from ml.schema import DEFAULT_SCHEMA as schema
    from ml.train import train

    base = tmp_path_factory.mktemp("batch")
    root = base / "repo"
    shutil.copytree(REPO / "config", root / "config")
    shutil.copytree(REPO / "ml", root / "ml", ignore=shutil.ignore_patterns("__pycache__"))
    prod = root / "config" / "prod.yaml"
    prod.write_text(re.sub(r"(?m)^(\s+port:\s*)\d+", lambda m: f"{m.group(1)}{free_port()}", prod.read_text()))
    write_table(make_churn(800, 5), base / "train" / "train.csv")
    hyper = {"algorithm": "logistic_regression"}
    train(base / "train", base / "model", hyper, schema.numeric_names, schema.categorical_names, schema.label)
    pack_model_dir(base / "model", base / "model.tar.gz")
    workspace = Workspace(root).ensure()
    registry = SqliteRegistry(workspace.registry_db, workspace.artifacts)
    uri, digest = registry.store_artifact(base / "model.tar.gz")
    model = registry.register(GROUP, artifact_uri=uri, sha256=digest, evaluation={}, lineage={})
    write_pins(plan_pins(root / "config", ModelPin(version=model.version, package_arn=model.arn, sha256=digest)))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLOPS_ROOT", str(root))
        try:
            yield root
        finally:
            main(["endpoint", "stop", "--env", "prod"])


def customers(path: Path, rows: int, bad: dict[int, str] | None = None) -> list[str]:
    """A header-less customer file `id,features…`; `bad` replaces the features of some lines (1-based)."""
    from ml.dataset import make_churn

    frame = make_churn(rows, 21).drop(columns="churned")
    lines = frame.to_csv(index=False, header=False).splitlines()
    lines = [f"cust-{i},{(bad or {}).get(i, line)}" for i, line in enumerate(lines, 1)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return lines


def test_batch_output_equals_the_endpoints_answers_row_for_row(repo: Path, tmp_path: Path) -> None:
    lines = customers(tmp_path / "in" / "nightly.csv", 1000)
    assert main(["batch", "--env", "prod", "--input", str(tmp_path / "in"), "--output", str(tmp_path / "out"),
                 "--id-column", "customer_id"]) == 0  # fmt: skip
    out = (tmp_path / "out" / "nightly.csv.out").read_text().splitlines()
    assert len(out) == len(lines)
    assert [o.split(",")[0] for o in out] == [f"cust-{i}" for i in range(1, 1001)]
    assert not (tmp_path / "out" / "batch-errors.csv").exists()
    assert main(["deploy", "--env", "prod"]) == 0
    port = re.search(r"port:\s*(\d+)", (repo / "config" / "prod.yaml").read_text()).group(1)
    client = EndpointClient("churn-prod", endpoint_url=f"http://127.0.0.1:{port}")
    answered: list[str] = []
    for start in range(0, len(lines), 100):
        rows = "".join(line.split(",", 1)[1] + "\n" for line in lines[start : start + 100])
        answered += client.invoke(rows, accept="text/csv").body.decode().splitlines()
    assert [o.split(",", 1)[1] for o in out] == [f"{a}," for a in answered]


def test_bad_rows_under_the_threshold_are_listed_and_the_job_passes(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = {7: "3,abc,1,1,40,1,month-to-month,credit_card,dsl,yes", 250: "1,2,3"}
    customers(tmp_path / "nightly.csv", 400, bad)  # 2 of 400 = 0.5 % ≤ 1 %
    assert main(["batch", "--env", "prod", "--input", str(tmp_path / "nightly.csv"),
                 "--output", str(tmp_path / "out"), "--id-column", "customer_id"]) == 0  # fmt: skip
    with open(tmp_path / "out" / "batch-errors.csv", newline="") as handle:
        listed = list(csv.DictReader(handle))
    assert [(r["line"], r["customer_id"]) for r in listed] == [("7", "cust-7"), ("250", "cust-250")]
    assert listed[0]["reason"] == "feature 'monthly_charges': non-numeric value 'abc'"
    assert listed[0]["file"] == "nightly.csv"
    assert listed[1]["reason"].startswith("3 columns; expected 10")
    out = (tmp_path / "out" / "nightly.csv.out").read_text().splitlines()
    assert len(out) == 400 and out[6].startswith("cust-7,,,") and out[7].endswith(",")
    assert "2 failed (0.50%)" in capsys.readouterr().err


def test_bad_rows_over_the_threshold_fail_the_job_with_exit_17(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    customers(tmp_path / "nightly.csv", 100, {i: "oops" for i in (3, 50)})  # 2 % > 1 %
    code = main(["batch", "--env", "prod", "--input", str(tmp_path / "nightly.csv"), "--output", str(tmp_path / "o"),
                 "--id-column", "customer_id"])  # fmt: skip
    assert code == 17
    err = capsys.readouterr().err
    assert "2 of 100 records (2.00%) could not be scored, more than batch.max_failed_share 1.00%" in err
    assert "first: nightly.csv line 3:" in err and "Traceback" not in err
    assert (tmp_path / "o" / "batch-errors.csv").is_file()


def test_a_pin_missing_from_the_registry_is_refused(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    customers(tmp_path / "in.csv", 10)
    prod = repo / "config" / "prod.yaml"
    saved = prod.read_text()
    try:
        prod.write_text(re.sub(r"(?m)^  version: \d+", "  version: 9", saved))
        assert main(["batch", "--env", "prod", "--input", str(tmp_path / "in.csv"), "--output", str(tmp_path)]) == 17
    finally:
        prod.write_text(saved)
    assert "config/prod.yaml:model.version: refusing to run a batch with: model 'churn-classifier' version 9" in (
        capsys.readouterr().err
    )
    assert not (tmp_path / "in.csv.out").exists()


def test_an_artifact_that_does_not_match_the_pinned_sha256_is_refused(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    customers(tmp_path / "in.csv", 10)
    artifact = next((repo / ".mlops" / "artifacts").rglob("*.tar.gz"))
    saved = artifact.read_bytes()
    try:
        artifact.write_bytes(saved + b"tampered")
        code = main(["batch", "--env", "prod", "--input", str(tmp_path / "in.csv"), "--output", str(tmp_path / "o")])
    finally:
        artifact.write_bytes(saved)
    assert code == 17
    assert "model.sha256: refusing to run a batch with churn-classifier v1: its model.tar.gz hashes to" in (
        capsys.readouterr().err
    )
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--input", "s3://bucket/in/", "--output", "OUT"], "--input s3://bucket/in/: the local backend reads"),
        (["--input", "NOWHERE", "--output", "OUT"], "--input NOWHERE: no such file or folder"),
        (["--input", "IN", "--output", "IN/sub"], "lies inside --input"),
    ],
)
def test_locations_the_local_backend_cannot_use_are_config_errors(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    customers(tmp_path / "IN" / "a.csv", 3)
    paths = [str(tmp_path / a) if a in ("OUT", "IN", "IN/sub") else a for a in args]
    assert main(["batch", "--env", "prod", *paths]) == 3
    assert message.replace("NOWHERE", "NOWHERE") in capsys.readouterr().err
