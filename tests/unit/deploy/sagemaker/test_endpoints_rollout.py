"""Blue/green updates followed to the end: UpdateEndpoint and DescribeEndpoint sequences from a Stubber.

The endpoint, its configs, models, alarms and autoscaling live in moto (created by the
adapter's own create path); only the update and what DescribeEndpoint answers during it
are stubbed, validated against SageMaker's service model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from deploy.cli.deploy_cmd import ConsoleReporter
from deploy.config.schema import EnvironmentConfig
from deploy.endpoints import DeployOutcome, LiveState
from deploy.errors import DeployError, ExitCode, RollbackError
from deploy.sagemaker.alarms import RollbackAlarms
from deploy.sagemaker.endpoints import SageMakerEndpoints
from deploy.sagemaker.resources import TAG_POLICY, TAG_VERSION, tag_dict

from .conftest import REGION
from .endpoint_fixtures import (
    Clock,
    Reporter,
    Session,
    SplitClient,
    described,
    desired,
    endpoints,
    environment,
    register_packages,
)

ENDPOINT = "churn-prod"


@dataclass
class Scenario:
    adapter: SageMakerEndpoints
    split: SplitClient
    clock: Clock
    live: LiveState
    cfg: EnvironmentConfig
    package_arn: str
    old: str
    new: str
    arn: str
    reporter: Reporter

    def answer(self, status: str, config: str | None = None, **kwargs: Any) -> dict[str, Any]:
        return described(ENDPOINT, self.arn, config or self.old, status, **kwargs)

    def run(self, *answers: dict[str, Any]) -> DeployOutcome:
        self.split.stubber.add_response("update_endpoint", {"EndpointArn": self.arn})
        for answer in answers:
            self.split.stubber.add_response("describe_endpoint", answer)
        with self.split.stubber:
            return self.adapter.deploy(desired(self.cfg, self.package_arn), self.live, self.reporter)


class AlarmOnUpdate(Reporter):
    """Once traffic shifts, the standing 5xx alarm (both fleets) and, with `new_fleet`, the deployment's fire."""

    def __init__(self, new_fleet: bool = True) -> None:
        super().__init__()
        self.new_fleet = new_fleet

    def event(self, message: str) -> None:
        super().event(message)
        if not message.startswith("UpdateEndpoint"):
            return
        cloudwatch = boto3.client("cloudwatch", region_name=REGION)
        config = message.split("→ '")[1].split("'")[0]
        fired = ["churn-prod-5xx"] + ([f"churn-prod-5xx@{config}"] if self.new_fleet else [])
        for name in fired:
            reason = "Threshold Crossed: 3 datapoints >= 1.0" if "@" in name else "Threshold Crossed: old fleet"
            cloudwatch.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason=reason)


def alarm_names() -> set[str]:
    return {a["AlarmName"] for a in boto3.client("cloudwatch", region_name=REGION).describe_alarms()["MetricAlarms"]}


STANDING = {"churn-prod-5xx", "churn-prod-p99-latency"}


def scenario(first: dict[str, Any] | None = None, second: dict[str, Any] | None = None) -> Scenario:
    arns = register_packages(2)
    split, clock = SplitClient(), Clock()
    adapter = endpoints(Session(sagemaker=split), clock)
    adapter.deploy(desired(environment("prod", 1, **(first or {})), arns[0]), None, Reporter())
    cfg = environment("prod", 2, **(second or {}))
    live = adapter.describe("prod", cfg)
    assert live is not None and live.config_name
    new = adapter.catalog.plan(desired(cfg, arns[1])).config_name
    arn = split.moto.describe_endpoint(EndpointName=ENDPOINT)["EndpointArn"]
    return Scenario(adapter, split, clock, live, cfg, arns[1], live.config_name, new, arn, Reporter())


def test_clean_canary_reports_each_phase_and_records_the_new_policy(aws_setup: dict[str, str]) -> None:
    s = scenario()
    outcome = s.run(
        s.answer("Updating", pending=s.new, new_status="Creating", weight=0.0),
        s.answer("Updating", pending=s.new, new_status="ActivatingTraffic", weight=0.1),
        s.answer("Updating", pending=s.new, new_status="Baking", weight=0.1),
        s.answer("Updating", pending=s.new, new_status="ActivatingTraffic", weight=1.0),
        s.answer("InService", s.new),
    )
    assert "churn-classifier v2" in outcome.summary and "replacing churn-classifier v1" in outcome.summary
    new_fleet = [v for snap in s.reporter.snapshots for v in snap["variants"] if v["fleet"] == "new"]
    assert [v["status"] for v in new_fleet] == ["Creating", "ActivatingTraffic", "Baking", "ActivatingTraffic"]
    assert [v["weight"] for v in new_fleet] == [0.0, 0.1, 0.1, 1.0] and new_fleet[0]["version"] == 2
    assert s.clock.slept == [15] * 4
    tags = tag_dict(s.split.moto.list_tags(ResourceArn=s.arn)["Tags"])
    assert tags[TAG_VERSION] == "2" and tags[TAG_POLICY].startswith("strategy=canary")


def test_alarm_triggered_rollback_names_the_alarm_and_the_model_still_serving(aws_setup: dict[str, str]) -> None:
    s = scenario()
    s.reporter = AlarmOnUpdate()
    with pytest.raises(RollbackError) as caught:
        s.run(
            s.answer("Updating", pending=s.new, new_status="Baking", weight=0.1),
            s.answer("RollingBack", pending=s.new, new_status="Deleting", weight=0.0),
            s.answer("InService"),
        )
    message = caught.value.message
    assert caught.value.exit_code == ExitCode.ROLLBACK
    assert "ROLLED BACK" in message and f"churn-prod-5xx@{s.new} (Threshold Crossed: 3 datapoints" in message
    assert "old fleet" not in message  # the standing alarm sees both fleets: not the verdict on the new one
    assert f"churn-classifier v1 (endpoint config '{s.old}') is still serving" in message
    assert any("ROLLING BACK" in e and f"churn-prod-5xx@{s.new}" in e for e in s.reporter.events)
    assert alarm_names() == STANDING  # the deployment alarms are removed after a rollback too


def test_an_old_fleet_alarm_is_not_a_reason_to_blame_the_new_model(aws_setup: dict[str, str]) -> None:
    s = scenario()
    s.reporter = AlarmOnUpdate(new_fleet=False)
    with pytest.raises(RollbackError) as caught:
        s.run(s.answer("Updating", pending=s.new, new_status="Baking", weight=0.5), s.answer("InService"))
    assert "silently" in caught.value.message and "churn-prod-5xx" not in caught.value.message


def test_deployment_alarms_are_removed_when_the_update_request_fails(aws_setup: dict[str, str]) -> None:
    s = scenario()
    s.split.stubber.add_client_error("update_endpoint", "ValidationException", "Cannot update in-progress endpoint")
    with s.split.stubber, pytest.raises(DeployError, match="Cannot update in-progress endpoint"):
        s.adapter.deploy(desired(s.cfg, s.package_arn), s.live, s.reporter)
    assert alarm_names() == STANDING
    assert any(e.startswith("deployment alarms removed: churn-prod-5xx@") for e in s.reporter.events)


def test_silent_rollback_in_service_on_the_old_config_is_a_failure(aws_setup: dict[str, str]) -> None:
    s = scenario()
    with pytest.raises(RollbackError, match="silently: InService on") as caught:
        s.run(s.answer("Updating", pending=s.new, new_status="Creating"), s.answer("InService"))
    assert f"not the requested '{s.new}'" in caught.value.message
    assert "churn-classifier v1" in caught.value.message and "SageMaker gave no reason" in caught.value.message


def test_old_config_right_after_the_update_is_retried_then_judged(aws_setup: dict[str, str]) -> None:
    s = scenario()
    with pytest.raises(RollbackError, match="silently"):
        s.run(s.answer("InService"), s.answer("InService"), s.answer("InService"))
    assert len(s.clock.slept) == 2


def test_failure_reason_on_the_old_config_is_reported(aws_setup: dict[str, str]) -> None:
    s = scenario()
    reason = "Request to service failed. If failure persists after retry, contact customer support."
    with pytest.raises(RollbackError, match="contact customer support"):
        s.run(s.answer("Updating", pending=s.new), s.answer("InService", reason=reason))


def test_new_failure_reason_even_on_the_requested_config_fails(aws_setup: dict[str, str]) -> None:
    s = scenario()
    with pytest.raises(RollbackError, match="reports a failure"):
        s.run(s.answer("Updating", pending=s.new), s.answer("InService", s.new, reason="ping health check failed"))


def test_update_rollback_failed(aws_setup: dict[str, str]) -> None:
    s = scenario()
    with pytest.raises(RollbackError, match=r"rollback FAILED too \(UpdateRollbackFailed\): instances") as caught:
        s.run(s.answer("RollingBack", pending=s.new), s.answer("UpdateRollbackFailed", reason="instances unhealthy"))
    assert caught.value.exit_code == ExitCode.ROLLBACK


def test_stuck_in_updating_past_the_timeout(aws_setup: dict[str, str]) -> None:
    s = scenario()
    s.adapter.poll_seconds = 600
    with pytest.raises(DeployError) as caught:
        s.run(*[s.answer("Updating", pending=s.new, new_status="Baking", weight=0.1)] * 6)
    assert caught.value.exit_code == ExitCode.DEPLOY and not isinstance(caught.value, RollbackError)
    assert "did not finish within 2820 s" in caught.value.message and "still Updating" in caught.value.message
    assert f"churn-classifier v1 (endpoint config '{s.old}') is still serving meanwhile" in caught.value.message
    # SageMaker carries on and still judges the update: its alarms stay until the next deploy
    assert alarm_names() == STANDING | {f"{name}@{s.new}" for name in STANDING}
    assert any("deployment alarms kept" in e for e in s.reporter.events)
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    assert sorted(RollbackAlarms(cloudwatch, "prod", s.cfg).apply()) == sorted(f"{n}@{s.new}" for n in STANDING)
    assert alarm_names() == STANDING


def scaled(count: int = 2) -> dict[str, Any]:
    return {"autoscaling": {"enabled": True, "min_capacity": 2, "max_capacity": 4}, "instance_count": count}


def test_instance_type_change_deregisters_autoscaling_first_and_registers_after(aws_setup: dict[str, str]) -> None:
    s = scenario(scaled(), {**scaled(), "instance_type": "ml.c5.xlarge"})
    aas = boto3.client("application-autoscaling", region_name=REGION)
    s.run(s.answer("Updating", pending=s.new), s.answer("InService", s.new))
    order = [e.split(" ")[0] for e in s.reporter.events if e.startswith(("autoscaling", "UpdateEndpoint"))]
    assert order == ["autoscaling", "UpdateEndpoint", "autoscaling"]
    assert "deregistered" in next(e for e in s.reporter.events if e.startswith("autoscaling"))
    assert len(aas.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]) == 1


def test_autoscaling_comes_back_after_a_rollback(aws_setup: dict[str, str]) -> None:
    s = scenario(scaled(), {**scaled(), "instance_type": "ml.c5.xlarge"})
    with pytest.raises(RollbackError):
        s.run(s.answer("Updating", pending=s.new), s.answer("InService"))
    (target,) = boto3.client("application-autoscaling", region_name=REGION).describe_scalable_targets(
        ServiceNamespace="sagemaker"
    )["ScalableTargets"]
    assert target["MinCapacity"] == 2 and any("registered again" in e for e in s.reporter.events)


def test_console_shows_fleet_status_instead_of_request_metrics(
    aws_setup: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    s = scenario()
    s.run(s.answer("Updating", pending=s.new, new_status="Baking", weight=0.1), s.answer("InService", s.new))
    ConsoleReporter().traffic(s.reporter.snapshots[0])
    line = " ".join(capsys.readouterr().err.split())
    assert "[Updating]" in line and "AllTraffic(v1, serving)" in line
    assert "AllTraffic(v2, new) weight 0.1 instances 2/2 Baking" in line and "req" not in line


def test_autoscaled_fleet_is_replaced_at_its_scaled_size(aws_setup: dict[str, str]) -> None:
    s = scenario(scaled(), scaled())
    sent: list[dict[str, Any]] = []
    s.split.stubbed.meta.events.register(
        "provide-client-params.sagemaker.UpdateEndpoint", lambda params, **_: sent.append(dict(params))
    )
    s.run(s.answer("Updating", pending=s.new), s.answer("InService", s.new))
    (request,) = sent
    assert request["RetainAllVariantProperties"] is True
    assert {p["VariantPropertyType"] for p in request["ExcludeRetainedVariantProperties"]} == {
        "DesiredWeight",
        "DataCaptureConfig",
    }
    assert any("instance count kept from the scaled fleet" in e for e in s.reporter.events)
