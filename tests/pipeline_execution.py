"""What SageMaker Pipelines makes of a definition at run time: expressions resolved, job requests named (test side).

A step's `Arguments` hold pipeline expressions (`{"Get": "Parameters.RunId"}`, `{"Std:Join": …}`,
`{"Get": "Steps.train.ModelArtifacts.S3ModelArtifacts"}`). When an execution reaches the step,
SageMaker resolves them and sends the result as a CreateProcessingJob or CreateTrainingJob
request named `pipelines-<execution id>-<step>-<suffix>`. `job_requests` does the same with
given parameter values, so tests can validate the requests and run the jobs they describe.
"""

from __future__ import annotations

import re
from typing import Any

EXECUTION_ID = "a1b2c3d4e5f6"
OPERATIONS = {
    "Processing": ("CreateProcessingJob", "ProcessingJobName"),
    "Training": ("CreateTrainingJob", "TrainingJobName"),
}
_OUTPUT = re.compile(r"ProcessingOutputConfig\.Outputs\['(?P<name>[^']+)'\]\.S3Output\.S3Uri")


def job_name(step: str) -> str:
    return f"pipelines-{EXECUTION_ID}-{step}-Ab12Cd34Ef"


def resolve(value: Any, parameters: dict[str, str], steps: dict[str, dict[str, Any]]) -> Any:
    """`value` with every expression replaced by what SageMaker would put there."""
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


def _get(path: str, parameters: dict[str, str], steps: dict[str, dict[str, Any]]) -> Any:
    kind, _, rest = path.partition(".")
    if kind == "Parameters":
        return parameters[rest]
    step, _, prop = rest.partition(".")
    request = steps[step]
    if prop == "ModelArtifacts.S3ModelArtifacts":
        return f"{request['OutputDataConfig']['S3OutputPath']}/{request['TrainingJobName']}/output/model.tar.gz"
    match = _OUTPUT.fullmatch(prop)
    if match:
        outputs = request["ProcessingOutputConfig"]["Outputs"]
        return next(o["S3Output"]["S3Uri"] for o in outputs if o["OutputName"] == match["name"])
    raise KeyError(f"unsupported property reference {path}")


def job_requests(definition: dict[str, Any], parameters: dict[str, str]) -> list[tuple[str, str, dict[str, Any]]]:
    """(step name, operation, request) for every step, in order, as the execution would send them."""
    resolved: dict[str, dict[str, Any]] = {}
    requests = []
    for step in definition["Steps"]:
        operation, name_member = OPERATIONS[step["Type"]]
        request = {name_member: job_name(step["Name"]), **resolve(step["Arguments"], parameters, resolved)}
        resolved[step["Name"]] = request
        requests.append((step["Name"], operation, request))
    return requests
