"""The generated pipeline's jobs in the scikit-learn 1.9-0 image's environment, with its real training toolkit.

Each step runs from the job request an execution would send (`pipeline_run`): processing with
exactly the definition's ContainerEntrypoint, ContainerArguments and Environment; training
through `sagemaker-training`'s own `train` command, which reads the HyperParameters from
`hyperparameters.json` and builds the script's command line with its own mapping code.
"""

from __future__ import annotations

import io
import json
import shlex
import tarfile

import pytest

from deploy.config import load_pipeline
from deploy.local.jobs import hyperparameter_args
from deploy.pipeline.steps import build_steps, hyperparameters
from tests.contract.conftest import BUCKET, REPO, PipelineRun
from tests.contract.jobs import Store, run_processing
from tests.contract.sandbox import Container
from tests.pipeline_execution import job_requests

# One worker runs them all: they share the session's pipeline run through the image's environment.
pytestmark = pytest.mark.xdist_group("contract")


def test_preprocess_runs_from_the_definitions_entrypoint_and_writes_every_split(pipeline_run: PipelineRun) -> None:
    pipeline_run.succeeded("preprocess")
    _, request = pipeline_run.requests["preprocess"]
    assert request["AppSpecification"]["ContainerEntrypoint"] == [
        "/bin/sh",
        "/opt/ml/processing/input/code/runproc.sh",
        "ml.preprocess",
    ]
    out = pipeline_run.containers["preprocess"].opt_ml / "processing" / "output"
    assert {p.name for p in out.iterdir()} == {"train", "validation", "test", "report"}
    assert all(any((out / split).iterdir()) for split in ("train", "validation", "test"))


def test_training_toolkit_builds_the_command_line_and_every_hyperparameter_keeps_its_type(
    pipeline_run: PipelineRun,
) -> None:
    result = pipeline_run.succeeded("train")
    _, request = pipeline_run.requests["train"]
    opt_ml = pipeline_run.containers["train"].opt_ml
    assert {p.name for p in (opt_ml / "model").iterdir()} == {"model.joblib", "model_info.json"}
    assert (opt_ml / "output" / "success").exists()  # the toolkit's own verdict
    info = json.loads((opt_ml / "model" / "model_info.json").read_text())
    configured = load_pipeline(REPO / "config").training.hyperparameters
    assert {name: info["hyperparameters"][name] for name in configured} == configured
    for name, value in configured.items():
        assert type(info["hyperparameters"][name]) is type(value), name
    # The toolkit logs the command it ran: one-letter names with one dash, the rest with two.
    sent = {k for k in request["HyperParameters"] if not k.startswith("sagemaker_")}
    command = next(line for line in result.stdout.splitlines() + result.stderr.splitlines() if " train.py " in line)
    for name in sent:
        assert (f" -{name} " if len(name) == 1 else f" --{name} ") in command, (name, command)
    assert set(hyperparameters(load_pipeline(REPO / "config"))) == sent


def test_evaluate_reads_the_trained_model_and_writes_evaluation_json(
    pipeline_run: PipelineRun, moto_s3: tuple[Store, dict[str, str]]
) -> None:
    pipeline_run.succeeded("evaluate")
    _, request = pipeline_run.requests["evaluate"]
    (output,) = request["ProcessingOutputConfig"]["Outputs"]
    store, _ = moto_s3
    evaluation = json.loads(store.read(output["S3Output"]["S3Uri"] + "/evaluation.json"))
    metrics = evaluation["binary_classification_metrics"]
    assert 0.5 < metrics["auc"]["value"] <= 1.0


def test_model_artifact_is_what_sagemaker_uploads(
    pipeline_run: PipelineRun, moto_s3: tuple[Store, dict[str, str]]
) -> None:
    pipeline_run.succeeded("train")
    _, request = pipeline_run.requests["train"]
    uri = f"{request['OutputDataConfig']['S3OutputPath']}/{request['TrainingJobName']}/output/model.tar.gz"
    store, _ = moto_s3
    with tarfile.open(fileobj=io.BytesIO(store.read(uri)), mode="r:gz") as tar:
        assert sorted(tar.getnames()) == ["model.joblib", "model_info.json"]


@pytest.mark.parametrize("step", ["preprocess", "evaluate"])
def test_processing_strings_fit_the_api(pipeline_run: PipelineRun, step: str) -> None:
    _, request = pipeline_run.requests[step]
    app = request["AppSpecification"]
    assert all(len(s) <= 256 for s in app["ContainerEntrypoint"] + app.get("ContainerArguments", []))


def test_local_backend_builds_the_same_command_line_as_the_toolkit(pipeline_run: PipelineRun) -> None:
    result = pipeline_run.succeeded("train")
    logged = next(line for line in result.stdout.splitlines() + result.stderr.splitlines() if " train.py " in line)
    toolkit = shlex.split(logged.split(" train.py ", 1)[1].rstrip('"'))
    (step,) = [s for s in build_steps(load_pipeline(REPO / "config")) if s.kind == "training"]
    assert hyperparameter_args(step.hyperparameters) == toolkit


def test_a_rejected_data_file_is_the_jobs_exit_message(
    pipeline_run: PipelineRun, moto_s3: tuple[Store, dict[str, str]], fresh_container: Container
) -> None:
    store, network = moto_s3
    store.s3.put_object(Bucket=BUCKET, Key="bad/churn.csv", Body=b"customer,churned\n1,maybe\n")
    parameters = {**pipeline_run.parameters, "InputData": f"s3://{BUCKET}/bad/churn.csv", "RunId": "bad-data"}
    (_, _, request), *_ = job_requests(pipeline_run.definition, parameters)
    result = run_processing(fresh_container, request, store, network)
    assert result.returncode == 3, result.stderr[-2000:]  # the data-error exit code, through the runner
    message = (fresh_container.opt_ml / "output" / "message").read_text()
    assert message.startswith("data error: ") and message.count("\n") == 1  # what SageMaker shows as ExitMessage
