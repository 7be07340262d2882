"""What SageMaker Pipelines does with the pipeline's role, read from the pipeline definition (test side).

Each Training or Processing step becomes a job named `pipelines-<execution>-<step>-<suffix>`
that Pipelines creates and describes with the pipeline's role, passing the step's
`RoleArn`; the job then pulls its image, reads its S3 inputs (and the code named by
`sagemaker_submit_directory`), writes its S3 outputs, logs and metrics with that role.
S3 URIs are resolved from the definition's expressions for this execution's parameters by
`tests.pipeline_execution` (which the contract tests use too); an expression it cannot
resolve fails the test, never counts as nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tests.pipeline_execution import job_name, job_requests

from .actions import Need

STEP_KINDS = {"Training": "training-job", "Processing": "processing-job"}


class Unresolved(ValueError):
    """A pipeline step the IAM check cannot map."""


def step_needs(
    implied: Any, role: str, definition: dict[str, Any], parameters: dict[str, str], why: str
) -> Iterator[Need]:
    types = {s["Name"]: s["Type"] for s in definition["Steps"]}
    unknown = [f"step {n} of type {t}" for n, t in types.items() if t not in STEP_KINDS]
    if unknown:
        raise Unresolved(f"{', '.join(unknown)}: no IAM mapping for it")
    # The requests SageMaker sends when the execution reaches each step, expressions resolved.
    for name, _, arguments in job_requests(definition, parameters):
        step_type = types[name]
        kind = STEP_KINDS[step_type]
        because = f"{why} (step {name})"
        job = implied.arn("sagemaker", f"{kind}/{job_name(name)}")
        verb = "Training" if step_type == "Training" else "Processing"
        yield Need(role, f"sagemaker:Create{verb}Job", job, (), because)
        yield Need(role, f"sagemaker:Describe{verb}Job", job, (), because)
        yield Need(
            role,
            "iam:PassRole",
            arguments["RoleArn"],
            (("iam:PassedToService", ("sagemaker.amazonaws.com",)),),
            because,
        )
        yield from _job_side(implied, role, step_type, arguments, name, because)


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
