"""Records every AWS call the commands under test make, and answers the few moto lacks (test side).

Every botocore client created while installed gets a `before-parameter-build` handler, so
each call is recorded with its service, operation and API parameters exactly as the
command sent them (after botocore's own parameter handling, before validation and the
wire). Recording is switched on only around the commands a workflow job runs, so test
setup is never mistaken for a job's needs.

`Scripted` answers operations moto does not implement (UpdateEndpoint,
ListPipelineExecutionSteps) from a `before-call` handler, the way `botocore.stub.Stubber`
does: the request has passed botocore's validation against the service model, and each
scripted response is validated against the operation's output shape.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import botocore.session
from botocore.awsrequest import AWSResponse
from botocore.validate import validate_parameters

Answer = Callable[[dict[str, Any]], dict[str, Any] | None]


@dataclass(frozen=True)
class Call:
    service: str  # botocore's service name: "sagemaker", "sagemaker-runtime", "s3", ...
    operation: str  # the service model's operation name: "CreateEndpoint"
    params: dict[str, Any]


def plain(value: Any) -> Any:
    """A copy of API parameters; file objects (uploads) become a marker, they cannot be copied."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if value is None or isinstance(value, str | bytes | int | float | bool):
        return value
    return f"<{type(value).__name__}>"


class CallRecorder:
    """Hooks botocore client creation; `recording()` collects the calls made inside it."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.active = False
        self.answers: dict[tuple[str, str], Answer] = {}

    def install(self, monkeypatch: Any) -> None:
        original = botocore.session.Session.create_client
        recorder = self

        def create_client(session: Any, *args: Any, **kwargs: Any) -> Any:
            client = original(session, *args, **kwargs)
            client.meta.events.register("before-parameter-build", recorder._record)
            client.meta.events.register("before-call", recorder._answer)
            return client

        monkeypatch.setattr(botocore.session.Session, "create_client", create_client)

    @contextmanager
    def recording(self) -> Iterator[list[Call]]:
        self.active = True
        try:
            yield self.calls
        finally:
            self.active = False

    def script(self, service: str, operation: str, answer: Answer) -> None:
        self.answers[(service, operation)] = answer

    def _record(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        context["mlops_params"] = plain(params)  # for `_answer`, which sees the serialised request
        if self.active:
            self.calls.append(Call(model.service_model.service_name, model.name, plain(params)))

    def _answer(self, model: Any, context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        answer = self.answers.get((model.service_model.service_name, model.name))
        if answer is None:
            return None
        response = answer(context["mlops_params"])
        if response is None:  # not this time: moto answers
            return None
        if model.output_shape is not None:
            validate_parameters(response, model.output_shape)
        return AWSResponse(None, 200, {}, None), response
