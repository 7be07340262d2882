"""The generated pipeline definition: golden file, determinism and the wiring between steps."""

from __future__ import annotations

import json
import os
from pathlib import Path

import botocore.session
import pytest

from deploy.config import load_pipeline
from deploy.config.schema import PipelineConfig
from deploy.pipeline.steps import build_steps
from deploy.sagemaker.definition import Target, build_definition, render
from deploy.sagemaker.images import sklearn_image
from deploy.sagemaker.pipeline import target_for
from deploy.sagemaker.settings import Settings
from tests.aws_service_model import violations
from tests.pipeline_execution import job_requests

REPO = Path(__file__).resolve().parents[4]
PARAMETERS = {
    "RunId": "20250101T000000Z-1a2b3c4d",
    "InputData": "s3://churn-artifacts-test/mlops/data/" + "0" * 64 + "/churn.csv",
    "Schema": "s3://churn-artifacts-test/mlops/schema/" + "1" * 64 + "/schema.json",
    "SourceDir": "s3://churn-artifacts-test/mlops/code/" + "2" * 64 + "/",
}

GOLDEN = Path(__file__).parent / "golden" / "pipeline_definition.json"
IMAGE = "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-scikit-learn:1.9-0-cpu-py3"
TARGET = Target(
    region="eu-west-1",
    role_arn="arn:aws:iam::123456789012:role/churn-sagemaker-execution",
    bucket="churn-artifacts-test",
    prefix="mlops",
    training_image=IMAGE,
    processing_image=IMAGE,
)


def config(**sagemaker: object) -> PipelineConfig:
    """A fixed config, so the golden file changes only when the generator does."""
    return PipelineConfig.model_validate(
        {
            "features": {
                "label": "churned",
                "numeric": [{"name": "tenure_months", "min": 0}, {"name": "monthly_charges"}],
                "categorical": [{"name": "contract", "values": ["month-to-month", "one-year"]}],
            },
            "training": {"hyperparameters": {"algorithm": "logistic_regression", "C": 1.0, "max_iter": 200}},
            "gate": {"metrics": {"auc": {"threshold": 0.7}}},
            "sagemaker": {"training": {"spot": True, "max_wait_seconds": 7200}, **sagemaker},
        }
    )


def definition_text(cfg: PipelineConfig, overrides: dict[str, str] | None = None) -> str:
    return render(build_definition(cfg, build_steps(cfg, overrides), TARGET))


def test_definition_matches_the_golden_file() -> None:
    text = definition_text(config())
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text(text, encoding="utf-8")
    assert GOLDEN.is_file(), "run with UPDATE_GOLDEN=1 to create the golden file"
    assert text == GOLDEN.read_text(encoding="utf-8"), "definition changed: review, then rerun with UPDATE_GOLDEN=1"


def test_same_inputs_give_byte_identical_json() -> None:
    first, second = definition_text(config()), definition_text(config())
    assert first == second
    assert list(json.loads(first)) == sorted(json.loads(first))
    assert "Execution.PipelineExecutionId" not in first  # the run id is a parameter, not baked in


def test_overrides_change_only_the_hyperparameters() -> None:
    base = json.loads(definition_text(config()))
    changed = json.loads(definition_text(config(), {"C": "0.5"}))
    assert changed["Steps"][1]["Arguments"]["HyperParameters"]["C"] == '"0.5"'
    changed["Steps"][1]["Arguments"]["HyperParameters"]["C"] = base["Steps"][1]["Arguments"]["HyperParameters"]["C"]
    assert changed == base


def test_steps_are_wired_by_property_references() -> None:
    steps = {s["Name"]: s for s in json.loads(definition_text(config()))["Steps"]}
    assert [(n, s["Type"]) for n, s in steps.items()] == [
        ("preprocess", "Processing"),
        ("train", "Training"),
        ("evaluate", "Processing"),
        ("baseline", "Processing"),
    ]
    baseline_inputs = {
        i["InputName"]: i["S3Input"]["S3Uri"] for i in steps["baseline"]["Arguments"]["ProcessingInputs"]
    }
    assert baseline_inputs["model"] == {"Get": "Steps.train.ModelArtifacts.S3ModelArtifacts"}
    assert baseline_inputs["test"] == {"Get": "Steps.preprocess.ProcessingOutputConfig.Outputs['test'].S3Output.S3Uri"}
    assert baseline_inputs["schema"] == {"Get": "Parameters.Schema"}
    channels = {
        c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"]
        for c in steps["train"]["Arguments"]["InputDataConfig"]
    }
    assert channels["train"] == {"Get": "Steps.preprocess.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"}
    evaluate_inputs = {
        i["InputName"]: i["S3Input"]["S3Uri"] for i in steps["evaluate"]["Arguments"]["ProcessingInputs"]
    }
    assert evaluate_inputs["model"] == {"Get": "Steps.train.ModelArtifacts.S3ModelArtifacts"}
    assert evaluate_inputs["code"] == {"Get": "Parameters.SourceDir"}  # the folder: archive and runner
    output = steps["evaluate"]["Arguments"]["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
    assert output["Std:Join"]["Values"] == [
        "s3://churn-artifacts-test/mlops/runs",
        {"Get": "Parameters.RunId"},
        "evaluate",
        "evaluation",
    ]


def test_training_is_script_mode_with_spot_and_limits() -> None:
    train = json.loads(definition_text(config()))["Steps"][1]["Arguments"]
    hps = train["HyperParameters"]
    assert hps["sagemaker_program"] == '"train.py"'
    assert hps["sagemaker_submit_directory"]["Std:Join"]["Values"] == [
        '"',
        {"Get": "Parameters.SourceDir"},
        'sourcedir.tar.gz"',
    ]
    assert hps["label"] == '"churned"' and hps["numeric_features"] == '"tenure_months,monthly_charges"'
    assert train["EnableManagedSpotTraining"] is True
    assert train["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200}
    on_demand = json.loads(definition_text(config(training={"spot": False})))["Steps"][1]["Arguments"]
    assert on_demand["EnableManagedSpotTraining"] is False
    assert on_demand["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600}


def test_processing_runs_the_module_through_the_shipped_runner() -> None:
    preprocess = json.loads(definition_text(config()))["Steps"][0]["Arguments"]["AppSpecification"]
    assert preprocess["ContainerEntrypoint"] == ["/bin/sh", "/opt/ml/processing/input/code/runproc.sh", "ml.preprocess"]
    assert preprocess["ContainerArguments"][:2] == ["--input-dir", "/opt/ml/processing/input/raw"]


@pytest.mark.parametrize("source", ["fixed", "repository"])
def test_every_step_is_a_job_request_the_service_accepts(source: str) -> None:
    """Each step's Arguments, resolved as an execution resolves them, against the full service model."""
    cfg = config() if source == "fixed" else load_pipeline(REPO / "config")
    model = botocore.session.get_session().get_service_model("sagemaker")
    requests = job_requests(json.loads(definition_text(cfg)), PARAMETERS)
    assert [(step, operation) for step, operation, _ in requests] == [
        ("preprocess", "CreateProcessingJob"),
        ("train", "CreateTrainingJob"),
        ("evaluate", "CreateProcessingJob"),
        ("baseline", "CreateProcessingJob"),
    ]
    found = [
        f"{step}: {v}"
        for step, operation, request in requests
        for v in violations(model.operation_model(operation), request)
    ]
    assert found == []


def test_target_uses_the_sklearn_images_of_the_region() -> None:
    settings = Settings("eu-west-1", TARGET.role_arn, TARGET.bucket, "mlops")
    target = target_for(config(), settings)
    assert target.training_image == IMAGE == sklearn_image("eu-west-1", "1.9-0", "inference")
