"""What SageMaker Pipelines does with the pipeline's role, read from the pipeline definition (test side).

Each Training or Processing step becomes a job named `pipelines-<execution>-<step>-<suffix>`
that Pipelines creates and describes with the pipeline's role, passing the step's
`RoleArn`; the job then pulls its image, reads its S3 inputs (and the code named by
`sagemaker_submit_directory`), writes its S3 outputs, logs and metrics with that role.
S3 URIs are resolved from the definition's expressions for this execution's parameters;
an expression this module cannot resolve fails the test, never counts as nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from .actions import Need

EXECUTION = "a1b2c3d4e5f6"  # a sample execution id: job names carry it
STEP_KINDS = {"Training": "training-job", "Processing": "processing-job"}


class Unresolved(ValueError):
    """A pipeline expression the IAM check cannot evaluate."""


def resolve(value: Any, parameters: dict[str, str], steps: dict[str, dict[str, Any]]) -> Any:
    if isinstance(value, list):
        return [resolve(v, parameters, steps) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Get"}:
        return _get(value["Get"], parameters, steps)
    if set(value) == {"Std:Join"}:
        join = value["Std:Join"]
        return join["On"].join(str(resolve(v, parameters, steps)) for v in join["Values"])
    return {k: resolve(v, parameters, steps) for k, v in value.items()}


def _get(path: str, parameters: dict[str, str], steps: dict[str, dict[str, Any]]) -> str:
    if path.startswith("Parameters."):
        return parameters[path.removeprefix("Parameters.")]
    if path == "Execution.PipelineExecutionId":
        return EXECUTION
    match = re.fullmatch(r"Steps\.([\w-]+)\.ProcessingOutputConfig\.Outputs\['([\w-]+)'\]\.S3Output\.S3Uri", path)
    if match:
        step = steps[match.group(1)]
        outputs = step["Arguments"]["ProcessingOutputConfig"]["Outputs"]
        (output,) = [o for o in outputs if o["OutputName"] == match.group(2)]
        return str(resolve(output["S3Output"]["S3Uri"], parameters, steps))
    match = re.fullmatch(r"Steps\.([\w-]+)\.ModelArtifacts\.S3ModelArtifacts", path)
    if match:
        step = steps[match.group(1)]
        base = resolve(step["Arguments"]["OutputDataConfig"]["S3OutputPath"], parameters, steps)
        return f"{str(base).rstrip('/')}/{job_name(match.group(1))}/output/model.tar.gz"
    raise Unresolved(f"pipeline expression {path!r}")


def job_name(step: str) -> str:
    return f"pipelines-{EXECUTION}-{step}-0123456789"[:63]


def step_needs(
    implied: Any, role: str, definition: dict[str, Any], parameters: dict[str, str], why: str
) -> Iterator[Need]:
    steps = {s["Name"]: s for s in definition["Steps"]}
    for name, step in steps.items():
        kind = STEP_KINDS.get(step["Type"])
        if kind is None:
            raise Unresolved(f"step {name} of type {step['Type']}: no IAM mapping for it")
        arguments = resolve(step["Arguments"], parameters, steps)
        because = f"{why} (step {name})"
        job = implied.arn("sagemaker", f"{kind}/{job_name(name)}")
        verb = "Training" if step["Type"] == "Training" else "Processing"
        yield Need(role, f"sagemaker:Create{verb}Job", job, (), because)
        yield Need(role, f"sagemaker:Describe{verb}Job", job, (), because)
        yield Need(
            role,
            "iam:PassRole",
            arguments["RoleArn"],
            (("iam:PassedToService", ("sagemaker.amazonaws.com",)),),
            because,
        )
        yield from _job_side(implied, role, step["Type"], arguments, name, because)


def _job_side(implied: Any, role: str, kind: str, arguments: dict[str, Any], step: str, because: str) -> Iterator[Need]:
    if kind == "Training":
        image = arguments["AlgorithmSpecification"]["TrainingImage"]
        reads = [c["DataSource"]["S3DataSource"]["S3Uri"] for c in arguments.get("InputDataConfig", [])]
        code = arguments.get("HyperParameters", {}).get("sagemaker_submit_directory", "").strip('"')
        reads += [code] if code.startswith("s3://") else []
        writes = [f"{arguments['OutputDataConfig']['S3OutputPath'].rstrip('/')}/{job_name(step)}/output/model.tar.gz"]
    else:
        image = arguments["AppSpecification"]["ImageUri"]
        reads = [i["S3Input"]["S3Uri"] for i in arguments.get("ProcessingInputs", []) if "S3Input" in i]
        writes = [o["S3Output"]["S3Uri"] for o in arguments.get("ProcessingOutputConfig", {}).get("Outputs", [])]
    yield from implied.image(role, image, because)
    for uri in reads:
        yield from implied.s3(role, "s3:GetObject", uri, because)
        bucket = uri.removeprefix("s3://").split("/")[0]
        yield Need(role, "s3:ListBucket", f"arn:{implied.target.partition}:s3:::{bucket}", (), because)
    for uri in writes:
        yield from implied.s3(role, "s3:PutObject", uri, because)
    yield from implied.job_side(role, LOG_GROUPS_BY_KIND[kind], f"{job_name(step)}/algo-1-1767225600", because)


LOG_GROUPS_BY_KIND = {"Training": "/aws/sagemaker/TrainingJobs", "Processing": "/aws/sagemaker/ProcessingJobs"}
