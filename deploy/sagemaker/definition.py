"""The SageMaker Pipeline definition generated from the shared step list (control plane).

`build_definition` turns `deploy.pipeline.steps.build_steps(...)` into the pipeline JSON:
processing steps for preprocess and evaluate, a script-mode training step for train, wired
by property references (`Get`) so SageMaker orders them. What changes on every run (the
run id, the data, schema and code URIs) is a pipeline parameter, so the definition depends
only on the config and `render` gives byte-identical JSON for the same inputs: its diff in
a pull request shows a config change and nothing else.

Processing entry point: the code folder (`sourcedir.tar.gz` and `runproc.sh`, the `SourceDir`
parameter) arrives as a ProcessingInput under `/opt/ml/processing/input/code`; the entrypoint is
`/bin/sh …/runproc.sh ml.<step>`, which extracts the archive to `/opt/ml/code`, runs
`python3 -m ml.<step>` from there (so `from ml.x import y` resolves) and copies the step's
failure file to `/opt/ml/output/message`, which SageMaker reports as the job's ExitMessage.
Every string stays within the API's limits (256 characters per entrypoint or argument string).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from deploy.config.schema import JobCompute, PipelineConfig, TrainingCompute
from deploy.pipeline.steps import PROCESSING_IN, Step, StepInput
from deploy.sagemaker.sourcedir import CODE_DIR, PROCESSING_RUNNER, SOURCEDIR, TRAIN_PROGRAM

VERSION = "2020-12-01"
# Set per execution: outputs go to <prefix>/runs/<RunId>/; the inputs are content-addressed S3
# URIs (SourceDir is the code folder, ending in "/").
PARAMETERS = ("RunId", "InputData", "Schema", "SourceDir")
CODE_INPUT = f"{PROCESSING_IN}/code"
ENVIRONMENT = {"PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1"}


@dataclass(frozen=True)
class Target:
    """Where the pipeline runs: what the definition needs besides the config."""

    region: str
    role_arn: str
    bucket: str
    prefix: str
    training_image: str
    processing_image: str


def param(name: str) -> dict[str, str]:
    return {"Get": f"Parameters.{name}"}


def join(separator: str, *values: Any) -> dict[str, Any]:
    return {"Std:Join": {"On": separator, "Values": list(values)}}


def run_location(target: Target, *parts: str) -> dict[str, Any]:
    """`s3://<bucket>/<prefix>/runs/<RunId>/<parts…>`, resolved by SageMaker at run time."""
    return join("/", f"s3://{target.bucket}/{target.prefix}/runs", param("RunId"), *parts)


def source_reference(source: str, steps: dict[str, Step]) -> dict[str, Any]:
    """A step input's S3 URI: a parameter for the run's data, a property of an earlier step otherwise."""
    if source == "data.raw":
        return param("InputData")
    if source == "data.schema":
        return param("Schema")
    step_name, _, output = source.partition(".")
    if steps[step_name].kind == "training":
        return {"Get": f"Steps.{step_name}.ModelArtifacts.S3ModelArtifacts"}
    return {"Get": f"Steps.{step_name}.ProcessingOutputConfig.Outputs['{output}'].S3Output.S3Uri"}


def _processing_input(name: str, uri: Any, local_path: str) -> dict[str, Any]:
    return {
        "AppManaged": False,
        "InputName": name,
        "S3Input": {
            "LocalPath": local_path,
            "S3CompressionType": "None",
            "S3DataDistributionType": "FullyReplicated",
            "S3DataType": "S3Prefix",
            "S3InputMode": "File",
            "S3Uri": uri,
        },
    }


def _processing(step: Step, steps: dict[str, Step], target: Target, compute: JobCompute) -> dict[str, Any]:
    inputs = [_processing_input("code", param("SourceDir"), CODE_INPUT)]
    inputs += [_processing_input(i.name, source_reference(i.source, steps), i.container_path) for i in step.inputs]
    outputs = [
        {
            "AppManaged": False,
            "OutputName": o.name,
            "S3Output": {
                "LocalPath": o.container_path,
                "S3UploadMode": "EndOfJob",
                "S3Uri": run_location(target, step.name, o.name),
            },
        }
        for o in step.outputs
    ]
    app: dict[str, Any] = {
        "ContainerEntrypoint": ["/bin/sh", f"{CODE_INPUT}/{PROCESSING_RUNNER}", step.module],
        "ImageUri": target.processing_image,
    }
    if step.arguments:
        app["ContainerArguments"] = list(step.arguments)
    return {
        "AppSpecification": app,
        "Environment": dict(ENVIRONMENT),
        "ProcessingInputs": inputs,
        "ProcessingOutputConfig": {"Outputs": outputs},
        "ProcessingResources": {"ClusterConfig": _cluster(compute)},
        "RoleArn": target.role_arn,
        "StoppingCondition": {"MaxRuntimeInSeconds": compute.max_runtime_seconds},
    }


def _cluster(compute: JobCompute) -> dict[str, Any]:
    return {
        "InstanceCount": compute.instance_count,
        "InstanceType": compute.instance_type,
        "VolumeSizeInGB": compute.volume_size_gb,
    }


def _channel(item: StepInput, steps: dict[str, Step]) -> dict[str, Any]:
    source = {"S3DataDistributionType": "FullyReplicated", "S3DataType": "S3Prefix"}
    source["S3Uri"] = source_reference(item.source, steps)  # type: ignore[assignment]
    return {"ChannelName": item.name, "DataSource": {"S3DataSource": source}, "InputMode": "File"}


def script_mode_hyperparameters(step: Step, target: Target) -> dict[str, Any]:
    """JSON-encoded values, as the SageMaker SDK sends them; the toolkit decodes them into `--name value`."""
    values: dict[str, Any] = {name: json.dumps(value) for name, value in step.hyperparameters.items()}
    values["sagemaker_program"] = json.dumps(TRAIN_PROGRAM)
    values["sagemaker_submit_directory"] = join("", '"', param("SourceDir"), f'{SOURCEDIR}"')
    values["sagemaker_region"] = json.dumps(target.region)
    values["sagemaker_container_log_level"] = "20"
    return values


def _training(step: Step, steps: dict[str, Step], target: Target, compute: TrainingCompute) -> dict[str, Any]:
    stopping = {"MaxRuntimeInSeconds": compute.max_runtime_seconds}
    if compute.spot:
        stopping["MaxWaitTimeInSeconds"] = compute.max_wait_seconds
    return {
        "AlgorithmSpecification": {"TrainingImage": target.training_image, "TrainingInputMode": "File"},
        "EnableManagedSpotTraining": compute.spot,
        "Environment": {**ENVIRONMENT, "PYTHONPATH": CODE_DIR},
        "HyperParameters": script_mode_hyperparameters(step, target),
        "InputDataConfig": [_channel(i, steps) for i in step.inputs],
        "OutputDataConfig": {"S3OutputPath": run_location(target, step.name)},
        "ResourceConfig": _cluster(compute),
        "RoleArn": target.role_arn,
        "StoppingCondition": stopping,
    }


def build_definition(cfg: PipelineConfig, steps: list[Step], target: Target) -> dict[str, Any]:
    by_name = {s.name: s for s in steps}
    sm = cfg.sagemaker
    entries = [
        {"Arguments": _training(step, by_name, target, sm.training), "Name": step.name, "Type": "Training"}
        if step.kind == "training"
        else {"Arguments": _processing(step, by_name, target, sm.processing), "Name": step.name, "Type": "Processing"}
        for step in steps
    ]
    return {
        "Metadata": {},
        "Parameters": [{"Name": name, "Type": "String"} for name in PARAMETERS],
        "Steps": entries,
        "Version": VERSION,
    }


def render(definition: dict[str, Any]) -> str:
    """Deterministic JSON: sorted keys, fixed indentation, no timestamps, one trailing newline."""
    return json.dumps(definition, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
