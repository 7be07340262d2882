"""The plan diff: what a deploy would change, in text and markdown."""

from __future__ import annotations

from dataclasses import replace

from deploy.config import load_environment
from deploy.endpoints import LiveState
from deploy.endpoints.plan import desired_fields, diff, render_markdown, render_text
from tests.conftest import REPO
from tests.unit.deploy.live_state import matching_live_state

SHA = "a" * 64


def pinned_prod():
    cfg = load_environment(REPO / "config", "prod")
    return cfg.model_copy(update={"model": cfg.model.model_copy(update={"version": 3, "sha256": SHA})})


def live_matching(cfg) -> LiveState:
    return matching_live_state(cfg)


def test_no_endpoint_means_everything_changes() -> None:
    cfg = pinned_prod()
    changes = diff(cfg, None)
    # Every field git sets; `endpoint.serverless` is unset on an instance endpoint.
    assert {c.field for c in changes} == {name for name, value in desired_fields(cfg).items() if value is not None}
    assert "endpoint.serverless" not in {c.field for c in changes}
    assert "creates" in render_markdown("prod", "churn-prod", None, changes)


def test_matching_endpoint_has_no_changes() -> None:
    cfg = pinned_prod()
    assert diff(cfg, live_matching(cfg)) == []
    assert render_text("prod", "churn-prod", live_matching(cfg), []) == "prod (churn-prod): no changes"


def test_new_pin_and_instance_type_show_up() -> None:
    cfg = pinned_prod()
    live = replace(live_matching(cfg), model_version=2, model_sha256="b" * 64, instance_type="ml.c5.large")
    changes = {c.field: (c.live, c.desired) for c in diff(cfg, live)}
    assert changes == {
        "model.version": (2, 3),
        "model.sha256": ("b" * 64, SHA),
        "endpoint.instance_type": ("ml.c5.large", "ml.m5.large"),
    }
    text = render_markdown("prod", "churn-prod", live, diff(cfg, live))
    assert "| `model.version` | 2 | 3 |" in text


def test_endpoint_not_in_service_is_a_change() -> None:
    cfg = pinned_prod()
    live = replace(live_matching(cfg), status="OutOfService")
    assert [c.field for c in diff(cfg, live)] == ["endpoint.status"]


def test_an_endpoint_that_cannot_serve_shows_why() -> None:
    cfg = pinned_prod()
    reason = "variant 'AllTraffic' failed to load: ArtifactError: model folder lacks model.joblib"
    live = replace(live_matching(cfg), status="Failed", failure_reason=reason)
    text = render_text("prod", "churn-prod", live, diff(cfg, live))
    assert "~ endpoint.status: Failed → InService" in text and f"({reason})" in text
    assert f"Why it is not in service: {reason}" in render_markdown("prod", "churn-prod", live, diff(cfg, live))
