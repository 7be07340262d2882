"""`mlops deploy --traffic` on SageMaker: requests through sagemaker-runtime while the new fleet is judged.

The account is moto's (registry, endpoint, CloudWatch, sagemaker-runtime's InvokeEndpoint);
UpdateEndpoint and the DescribeEndpoint answers during it come from a Stubber. moto does
not emit SageMaker's metrics, so each invocation puts the `Invocations` datapoint SageMaker
would, on the fleet that holds traffic at that moment.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import boto3
import pytest

from deploy.cli.app import main
from deploy.config import load_environment
from deploy.endpoints.traffic import load_payloads
from deploy.errors import ConfigError
from deploy.sagemaker import resources as res
from deploy.sagemaker.backend import SageMakerBackend
from deploy.sagemaker.endpoints import SageMakerEndpoints

from .conftest import REGION, ROLE_ARN
from .endpoint_fixtures import Clock, Session, SplitClient, described, environment, package, pipeline
from .test_endpoints_cli import pin, register

ENDPOINT = "churn-prod"


class PacedClock(Clock):
    """The follow loop's clock, with a short real pause per poll so the replay threads get to run."""

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        time.sleep(0.3)


class Update:
    """A v1 → v2 update of prod whose DescribeEndpoint answers are `phases` (new-fleet status, weight)."""

    def __init__(self, repo: Path, monkeypatch: pytest.MonkeyPatch, phases: list[tuple[str, float]]) -> None:
        first, arn1, digest1 = register(repo, "one")
        pin(repo, first, digest1, arn1)
        assert main(["deploy", "--env", "prod", "--backend", "sagemaker"]) == 0
        second, arn2, digest2 = register(repo, "two")
        pin(repo, second, digest2, arn2)
        cfg = load_environment(repo / "config", "prod")
        model = res.model_name(cfg, second, arn2, digest2, ROLE_ARN)
        self.new = res.config_name(cfg, second, model, None)
        self.split, self.clock = SplitClient(), PacedClock()
        self.runtime = boto3.client("sagemaker-runtime", region_name=REGION)
        self.cloudwatch = boto3.client("cloudwatch", region_name=REGION)
        old = self.split.moto.describe_endpoint(EndpointName=ENDPOINT)
        self.split.stubber.add_response("update_endpoint", {"EndpointArn": old["EndpointArn"]})
        self.answers = [
            described(ENDPOINT, old["EndpointArn"], old["EndpointConfigName"], "Updating", pending=self.new,
                      new_status=status, weight=weight)
            for status, weight in phases
        ] + [described(ENDPOINT, old["EndpointArn"], self.new, "InService")]  # fmt: skip
        for answer in self.answers:
            self.split.stubber.add_response("describe_endpoint", answer)
        self.received = 0  # DescribeEndpoint answers the follow loop has seen so far
        self.invoked_after: list[int] = []  # for each invocation, how many answers had been seen
        self.split.stubbed.meta.events.register("after-call.sagemaker.DescribeEndpoint", self._received)
        self.runtime.meta.events.register("before-call.sagemaker-runtime.InvokeEndpoint", self._invoked)
        split, clock, runtime = self.split, self.clock, self.runtime

        def stubbed_endpoints(backend: SageMakerBackend) -> SageMakerEndpoints:
            session = Session(sagemaker=split, sagemaker_runtime=runtime)
            return SageMakerEndpoints(session, backend.pipeline, backend.registry(), sleep=clock.sleep, clock=clock)

        monkeypatch.setattr(SageMakerBackend, "endpoints", stubbed_endpoints)

    def _received(self, **_: Any) -> None:
        self.received += 1

    def _invoked(self, **_: Any) -> None:
        seen = self.received
        self.invoked_after.append(seen)
        answer = self.answers[seen - 1] if seen else None
        pending = (answer or {}).get("PendingDeploymentSummary", {}).get("ProductionVariants", [{}])[0]
        if pending.get("CurrentWeight", 0) > 0:  # what SageMaker would count for the new fleet alone
            dimensions = [
                {"Name": "EndpointName", "Value": ENDPOINT},
                {"Name": "VariantName", "Value": "AllTraffic"},
                {"Name": "EndpointConfigName", "Value": self.new},
            ]
            self.cloudwatch.put_metric_data(
                Namespace="AWS/SageMaker",
                MetricData=[{"MetricName": "Invocations", "Dimensions": dimensions, "Value": 1.0}],
            )

    def deploy(self, *extra: str) -> int:
        with self.split.stubber:
            return main(["deploy", "--env", "prod", "--backend", "sagemaker", *extra])


PHASES = [("Creating", 0.0), ("Creating", 0.0), ("Baking", 0.5), ("Baking", 0.5), ("ActivatingTraffic", 1.0)]


def test_golden_traffic_reaches_the_endpoint_only_while_the_new_fleet_is_judged(
    sm_repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    update = Update(sm_repo, monkeypatch, PHASES)
    capsys.readouterr()
    assert update.deploy("--traffic", "golden", "--traffic-rps", "40") == 0
    stderr = " ".join(capsys.readouterr().err.split())
    # nothing while the new fleet was provisioned (answers 1–2), nothing once it served alone (answer 6)
    assert update.invoked_after, "the replay sent no request while the canary baked"
    assert min(update.invoked_after) >= 3 and max(update.invoked_after) <= 6
    assert sum(1 for seen in update.invoked_after if seen == 6) <= 4  # at most one in flight per thread
    assert f"traffic replay: {len(update.invoked_after)} requests" in stderr
    assert "sent only while the new fleet was judged" in stderr and "0 5xx" in stderr
    assert "the new fleet answered" in stderr and "UNJUDGED" not in stderr
    assert "WARNING: no --traffic" not in stderr


def test_a_quiet_canary_is_reported_unjudged(
    sm_repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    update = Update(sm_repo, monkeypatch, PHASES)
    capsys.readouterr()
    assert update.deploy() == 0
    stderr = " ".join(capsys.readouterr().err.split())
    assert not update.invoked_after
    assert "WARNING: no --traffic: the canary of prod is judged only on the requests the endpoint happens to get" in (
        stderr
    )
    assert f"WARNING: UNJUDGED: CloudWatch counts no requests on the new fleet ('{update.new}')" in stderr


def test_test_split_traffic_comes_from_the_runs_folder_in_s3(aws_setup: dict[str, str]) -> None:
    cfg = environment("prod", 1)
    endpoints = SageMakerEndpoints(Session(), pipeline(), None)
    model = replace(package(1, "arn:aws:sagemaker:eu-west-1:123456789012:model-package/churn-classifier/1"))
    rows = "tenure_months,monthly_charges,churned\n3,89.5,1\n48,45.0,0\n"
    key = "mlops/runs/run-7/preprocess/test/test.csv"
    boto3.client("s3", region_name=REGION).put_object(Bucket=aws_setup["bucket"], Key=key, Body=rows.encode())
    with pytest.raises(ConfigError, match="no test split found for churn-classifier v1 \\(lineage run_id None\\)"):
        load_payloads("test-split", model, "churned", cfg, endpoints)
    model = replace(model, lineage={"run_id": "run-7"})
    payloads = load_payloads("test-split", model, "churned", cfg, endpoints)
    assert [p.body for p in payloads] == [b"3,89.5\n", b"48,45.0\n"]
    assert {p.content_type for p in payloads} == {"text/csv"}


def test_golden_traffic_is_the_smoke_payloads() -> None:
    cfg = environment("staging", 1)
    payloads = load_payloads("golden", None, "churned", cfg)
    assert [p.content_type for p in payloads] == ["application/json", "text/csv"]
    assert json.loads(payloads[0].body)["instances"][0]["tenure_months"] == 3
    assert payloads[1].body.decode().count("\n") == 2
