"""pytest plugin: every boto3 request a test makes is validated as strictly as AWS would (test side).

A `before-parameter-build` handler joins botocore's built-in handlers, so every client created
in the test process (plain boto3 against moto's `mock_aws`, a moto server reached through
`AWS_ENDPOINT_URL`, or a client wrapped in `botocore.stub.Stubber`) checks each request against
its operation's input shape in the full service model (`tests/aws_service_model.py`); a pipeline
definition sent to CreatePipeline or UpdatePipeline is also checked step by step, as the
CreateProcessingJob and CreateTrainingJob requests its execution would send. A request
that breaks it gets the service's answer, a `ValidationException`, and the test phase that made
it fails with the violations listed, even if the code under test caught the error.

At the end of the run the summary prints how many requests were validated and how many
distinct operations they covered (summed over pytest-xdist workers).
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from botocore import handlers
from botocore.exceptions import ClientError

from tests.aws_service_model import violations
from tests.pipeline_execution import job_requests

_WORKER_KEY = "aws_validation_counts"
_TOTALS = pytest.StashKey[Counter[str]]()  # counts from xdist workers


class RequestLog:
    """Requests seen in this process, and the violations not yet reported to a test."""

    def __init__(self) -> None:
        self.operations: Counter[str] = Counter()
        self.pending: list[str] = []

    def check(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        name = f"{model.service_model.service_name}.{model.name}"
        self.operations[name] += 1
        found = violations(model, params)
        if name in PIPELINE_OPERATIONS and isinstance(params.get("PipelineDefinition"), str):
            found += definition_violations(model.service_model, params["PipelineDefinition"])
        if found:
            lines = [f"{name}: {line}" for line in found]
            self.pending += lines
            message = "; ".join(found)
            raise ClientError({"Error": {"Code": "ValidationException", "Message": message}}, model.name)

    def take(self) -> list[str]:
        found, self.pending = self.pending, []
        return found


LOG = RequestLog()
PIPELINE_OPERATIONS = {"sagemaker.CreatePipeline", "sagemaker.UpdatePipeline"}


def definition_violations(service: Any, text: str) -> list[str]:
    """The definition's steps as the job requests an execution would send, checked the same way.

    Parameters without a default get a value that fits wherever this project uses them (an S3
    folder URI); SageMaker itself would reject the execution otherwise.
    """
    try:
        definition = json.loads(text)
        parameters = {
            p["Name"]: str(p.get("DefaultValue", f"s3://pipeline-parameter/{p['Name']}/"))
            for p in definition.get("Parameters", [])
        }
        requests = job_requests(definition, parameters)
    except (ValueError, KeyError, TypeError) as error:
        return [f"PipelineDefinition: cannot be resolved into job requests ({type(error).__name__}: {error})"]
    return [
        f"PipelineDefinition step {step}: {line}"
        for step, operation, request in requests
        for line in violations(service.operation_model(operation), request)
    ]


def pytest_configure(config: pytest.Config) -> None:
    # Sessions created from now on register this after botocore's own handlers (idempotency
    # tokens and defaults are filled in first, as they are before the request leaves).
    entry = ("before-parameter-build", LOG.check)
    if entry not in handlers.BUILTIN_HANDLERS:
        handlers.BUILTIN_HANDLERS.append(entry)
    config.stash[_TOTALS] = Counter()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    found = LOG.take()
    if found and report.outcome != "skipped":
        report.outcome = "failed"
        listing = "\n".join(f"  {line}" for line in found)
        report.longrepr = f"AWS requests the service would reject ({call.when}):\n{listing}"
    return report


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: hand the counts to the controller
        workeroutput[_WORKER_KEY] = dict(LOG.operations)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    counts = getattr(node, "workeroutput", {}).get(_WORKER_KEY, {})
    node.config.stash[_TOTALS].update(counts)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    totals = config.stash[_TOTALS] + LOG.operations
    if not totals:
        return
    terminalreporter.write_sep("-", "AWS request validation (full botocore service model)")
    terminalreporter.write_line(
        f"{sum(totals.values())} requests validated across {len(totals)} operations: "
        + ", ".join(f"{name} {count}" for name, count in sorted(totals.items()))
    )
