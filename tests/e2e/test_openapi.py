"""deploy/endpoints/openapi.yaml against a running local endpoint: checked, then fuzzed with schemathesis.

Schemathesis generates requests from the document (valid ones, and invalid ones for the
negative pass) and checks every answer: never a 5xx, a status, content type, headers and body
that the document allows. Examples are bounded so the suite stays fast.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, settings
from jsonschema import Draft202012Validator
from schemathesis import GenerationMode
from schemathesis.checks import (
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.specs.openapi.checks import content_type_conformance

from deploy.artifacts import file_sha256, pack_model_dir
from deploy.config import load_pipeline
from deploy.endpoints.client import EndpointClient, PayloadRejected
from deploy.local.endpoint_process import EndpointProcess

from .conftest import REPO, free_port

DOCUMENT = REPO / "deploy" / "endpoints" / "openapi.yaml"
NAME = "churn-openapi"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]  # fmt: skip


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from ml.dataset import make_churn, write_table
    from ml.schema import DEFAULT_SCHEMA as schema
    from ml.train import train

    base = tmp_path_factory.mktemp("openapi")
    write_table(make_churn(600, 3), base / "train" / "train.csv")
    train(base / "train", base / "model", {"algorithm": "logistic_regression"}, schema.numeric_names,
          schema.categorical_names, schema.label)  # fmt: skip
    pack_model_dir(base / "model", base / "model.tar.gz")
    process = EndpointProcess.start(base / "state", free_port(), 1, NAME)
    try:
        process.load_variant("AllTraffic", base / "model.tar.gz", file_sha256(base / "model.tar.gz"), 1)
        process.set_weights({"AllTraffic": 100})
        yield process.url
    finally:
        process.stop()


def document() -> dict:
    return yaml.safe_load(DOCUMENT.read_text())


def component(name: str) -> Draft202012Validator:
    """A validator for one schema of the document, its references resolved inside the document."""
    doc = document()
    return Draft202012Validator({"$ref": f"#/components/schemas/{name}", "components": doc["components"]})


def post(url: str, body: bytes, content_type: str, accept: str = "application/json") -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": content_type, "Accept": accept})  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, dict(reply.headers), reply.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_the_documents_instance_is_the_pipelines_feature_list() -> None:
    features = load_pipeline(REPO / "config").features
    names = [f.name for f in features.numeric] + [f.name for f in features.categorical]
    schemas = document()["components"]["schemas"]
    assert list(schemas["InstanceObject"]["properties"]) == names
    assert schemas["InstanceObject"]["required"] == names
    assert schemas["InstanceList"]["minItems"] == schemas["InstanceList"]["maxItems"] == len(names)


def test_the_documented_examples_get_documented_answers(endpoint: str) -> None:
    bodies = document()["components"]["requestBodies"]["Rows"]["content"]
    for path in ("/invocations", f"/endpoints/{NAME}/invocations"):
        status, headers, body = post(endpoint + path, json.dumps(bodies["application/json"]["example"]).encode(),
                                     "application/json")  # fmt: skip
        assert status == 200 and headers["X-Amzn-Invoked-Production-Variant"] == "AllTraffic"
        component("PredictionResponse").validate(json.loads(body))
        status, headers, body = post(endpoint + path, bodies["text/csv"]["example"].encode(), "text/csv", "text/csv")
        csv_schema = document()["components"]["responses"]["Predictions"]["content"]["text/csv"]["schema"]
        assert status == 200 and Draft202012Validator(csv_schema).is_valid(body.decode()), body


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"", "text/csv", 400),
        (b"1,2,3\n", "text/csv", 400),
        (b"{", "application/json", 400),
        (b"\x93NUMPY", "application/x-npy", 415),
    ],
)
def test_error_answers_carry_the_documented_error_body(endpoint: str, body: bytes, content_type: str, status: int):
    got, headers, answer = post(f"{endpoint}/endpoints/{NAME}/invocations", body, content_type)
    assert got == status and headers["X-Amzn-ErrorType"] == "ModelError:"
    component("Error").validate(json.loads(answer))
    with pytest.raises(PayloadRejected) as rejected:
        EndpointClient(NAME, endpoint_url=endpoint).invoke(body, content_type=content_type)
    assert rejected.value.status == status and rejected.value.reason == json.loads(answer)["error"]


@pytest.fixture(scope="module")
def openapi_schema() -> schemathesis.BaseSchema:
    schema = schemathesis.openapi.from_path(DOCUMENT)
    schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
    return schema


# Loaded from a fixture, so the operations' tests (and the coverage phase's cases) are built
# by the worker that runs this test, at run time, not by every worker while collecting.
SCHEMA = schemathesis.pytest.from_fixture("openapi_schema")


@SCHEMA.parametrize()
@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_fuzzed_requests_never_get_a_5xx_and_always_match_the_document(case: schemathesis.Case, endpoint: str):
    if "EndpointName" in (case.path_parameters or {}):
        case.path_parameters["EndpointName"] = NAME  # the handler, not only the 404 of another name
    case.call_and_validate(base_url=endpoint, checks=CHECKS)


def test_the_document_is_packaged_with_the_control_plane() -> None:
    assert Path(DOCUMENT).is_file() and "**/*.yaml" in (REPO / "pyproject.toml").read_text()


def test_the_readmes_application_snippet_runs_against_a_local_endpoint(
    endpoint: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Calling an endpoint from your application") :]
    snippet = section[section.index("```python\n") + 10 : section.index("```\n", section.index("```python"))]
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", endpoint)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)  # a loopback endpoint needs no credentials
    exec(compile(snippet.replace('"churn-prod"', f'"{NAME}"'), "README.md", "exec"), {})  # noqa: S102
    label, probability, variant = capsys.readouterr().out.split()
    assert label in ("0", "1") and 0 <= float(probability) <= 1 and variant == "AllTraffic"


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        ("/invocations?" + "q" * 9000, {}, 414),
        ("/invocations", {"X-Padding": "p" * 40000}, 431),
    ],
)
def test_requests_too_large_to_read_get_the_documented_answer(endpoint: str, path: str, headers: dict, status: int):
    import http.client

    port = int(endpoint.rsplit(":", 1)[1])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("POST", path, body=b"1", headers={"Content-Type": "text/csv", **headers})
        reply = connection.getresponse()
        got, answer = reply.status, reply.read()
    finally:
        connection.close()
    documented = document()["paths"]["/invocations"]["post"]["responses"]
    assert got == status and str(status) in documented
    component("Error").validate(json.loads(answer))
