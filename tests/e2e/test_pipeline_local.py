"""`mlops pipeline run` on the local backend, for real: subprocess jobs, SQLite registry, artifacts."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from deploy.cli.app import main
from deploy.config.schema import ModelPin
from deploy.local.registry import SqliteRegistry
from deploy.promotion.pins import plan_pins, write_pins
from deploy.workspace import Workspace
from tests.e2e.conftest import LocalLoop, copy_of_two_runs

FEATURES = [
    "tenure_months",
    "monthly_charges",
    "total_charges",
    "support_calls",
    "age",
    "data_usage_gb",
    "contract",
    "payment_method",
    "internet_service",
    "paperless_billing",
]


def registry(root: Path) -> SqliteRegistry:
    ws = Workspace(root)
    return SqliteRegistry(ws.registry_db, ws.artifacts)


def write_data(root: Path, text: str) -> Path:
    path = root / "data.csv"
    path.write_text(text)
    return path


def good_csv(root: Path, rows: int = 600) -> str:
    from ml.dataset import make_churn

    return make_churn(rows, 3).to_csv(index=False)


# The tests of the two runs share the local loop's (tests/e2e/conftest.py), on its xdist worker.
LOOP = pytest.mark.xdist_group("local-loop")


@pytest.fixture(scope="module")
def two_runs(built_loop: LocalLoop, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the local loop's repository after its two real runs, with v1 pinned.

    v1 was trained on 1,000 rows, v2 on 1,000 rows with C=0.3. The gate is lenient here
    (min_improvement -1), so v2 is proposed over the pinned v1 whatever its scores: the tests
    read the registry, the artifacts and the promotion report of these two runs.
    """
    root = copy_of_two_runs(built_loop, tmp_path_factory.mktemp("two-runs") / "repo").root
    pipeline = root / "config" / "pipeline.yaml"
    pipeline.write_text(pipeline.read_text().replace("min_improvement: 0.0", "min_improvement: -1.0")
                        .replace("min_improvement: -0.01", "min_improvement: -1.0"))  # fmt: skip
    first = registry(root).get("churn-classifier", 1)
    write_pins(plan_pins(root / "config", ModelPin(version=1, package_arn=first.arn, sha256=first.sha256)))
    return root


@pytest.fixture
def in_two_runs(two_runs: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MLOPS_ROOT", str(two_runs))
    return two_runs


@LOOP
def test_two_runs_register_two_versions(in_two_runs: Path) -> None:
    versions = registry(in_two_runs).list("churn-classifier")
    assert [v.version for v in versions[:2]] == [1, 2]
    first, second = versions[:2]
    assert first.status == "PendingManualApproval"
    assert first.metric("auc") > 0.7
    assert set(first.metrics()) == {"accuracy", "precision", "recall", "f1", "auc"}
    assert first.lineage["data_digest"] and first.lineage["hyperparameters"]["label"] == "churned"
    assert set(first.lineage["step_seconds"]) == {"preprocess", "train", "evaluate", "baseline"}
    assert first.lineage["baseline_digest"].startswith("sha256:")
    assert first.lineage["baseline_digest"] != second.lineage["baseline_digest"]  # the scores differ
    statistics = registry(in_two_runs).read_baseline(first, "statistics")
    assert [f["name"] for f in statistics["features"]] == FEATURES
    assert statistics["prediction"]["item_count"] == 150  # the 15 % test split of 1,000 rows
    assert second.lineage["hyperparameters"]["C"] == "0.3"


@LOOP
def test_artifact_and_evaluation_have_the_sagemaker_shapes(in_two_runs: Path, tmp_path: Path) -> None:
    mv = registry(in_two_runs).get("churn-classifier", 1)
    for metric in ("accuracy", "precision", "recall", "f1", "auc"):
        entry = mv.evaluation["binary_classification_metrics"][metric]
        assert set(entry) >= {"value", "standard_deviation"}
    model_dir = tmp_path / "model"
    with tarfile.open(mv.artifact_uri.removeprefix("file://")) as tar:
        tar.extractall(model_dir, filter="data")
    from ml import inference

    model = inference.model_fn(str(model_dir))
    row = "5,70.5,352.5,3,40,10.0,month-to-month,electronic_check,fiber_optic,yes"
    for body, ctype, rows in (
        (row, "text/csv", 1),
        ("\n".join([row] * 5), "text/csv", 5),
        (json.dumps({"instances": [dict(zip(FEATURES, row.split(","), strict=True))]}), "application/json", 1),
    ):
        prediction = inference.predict_fn(inference.input_fn(body, ctype), model)
        payload, _ = inference.output_fn(prediction, "application/json")
        assert len(json.loads(payload)["predictions"]) == rows


@pytest.mark.parametrize(
    ("mutate", "says"),
    [
        (lambda df: df.drop(columns=["contract"]), "contract"),
        (
            lambda df: df.assign(monthly_charges=df["monthly_charges"].astype(object).where(df.index != 4, "abc")),
            "monthly_charges",
        ),
        (lambda df: df.assign(churned=df["churned"].where(df.index != 7, 2)), "churned"),
    ],
    ids=["missing-column", "text-in-numeric", "non-binary-label"],
)
def test_bad_data_stops_before_training(repo_copy: Path, capsys: pytest.CaptureFixture[str], mutate, says: str) -> None:
    from ml.dataset import make_churn

    path = repo_copy / "bad.csv"
    mutate(make_churn(600, 3)).to_csv(path, index=False)
    assert main(["pipeline", "run", "--data", str(path)]) == 4
    err = capsys.readouterr().err
    error_lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1 and says in error_lines[0] and "preprocess" in error_lines[0]
    assert "Traceback" not in err
    assert registry(repo_copy).list("churn-classifier") == []


def test_failed_training_step_registers_nothing(repo_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A bad hyperparameter is a config error before any step now; break the job's own code instead.
    train = repo_copy / "ml" / "train.py"
    text = train.read_text()
    assert "    pipeline.fit(features, labels)\n" in text
    train.write_text(text.replace("    pipeline.fit(features, labels)\n", '    raise RuntimeError("fit exploded")\n'))
    assert main(["pipeline", "run", "--rows", "1000"]) == 6
    err = capsys.readouterr().err
    assert "step 'train' failed" in err and "fit exploded" in err
    assert registry(repo_copy).list("churn-classifier") == []


@LOOP
def test_promotion_report_shows_profile_importance_and_cost_of_real_runs(
    in_two_runs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["promote", "--version", "2", "--dry-run"]) == 0
    body = (in_two_runs / ".mlops" / "promotion" / "churn-classifier-v2.md").read_text()
    assert "### Training data" in body and "| training rows |" in body
    assert 'title "Training data shift since v1, largest first"' in body
    assert "### Feature importance" in body and "| `contract` |" in body
    assert "### Cost" in body and "(an estimate: the local step times priced as the SageMaker instances" in body
    assert "| baseline | ml.m5.large × 1 |" in body


@LOOP
def test_models_commands_round_trip(in_two_runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Runs after the tests that read v2 as registered: it changes v2's status and adds v3.
    capsys.readouterr()
    assert main(["models", "show", "2"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["version"] == 2 and shown["status"] == "PendingManualApproval"
    assert main(["models", "reject", "2", "--reason", "not good enough"]) == 0
    assert main(["models", "approve", "2"]) == 0
    artifact = Path(shown["artifact_uri"].removeprefix("file://"))
    assert main(["models", "register", str(artifact)]) == 0
    assert main(["models", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(m["version"], m["status"]) for m in listed] == [
        (1, "PendingManualApproval"), (2, "Approved"), (3, "PendingManualApproval")
    ]  # fmt: skip
    assert listed[2]["sha256"] == listed[1]["sha256"]
    assert main(["models", "show", "9"]) == 5
