"""A serverless endpoint's idle timeout travels to the workers in `routing.json`; their acks say when they idle."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from deploy.config import load_environment
from deploy.config.schema import EnvironmentConfig
from deploy.local import routing_table as rt
from tests.conftest import REPO


def test_idle_seconds_survive_every_routing_change(tmp_path: Path) -> None:
    assert rt.read_routing(tmp_path).idle_seconds is None
    rt.update_routing(tmp_path, lambda r: replace(r, idle_seconds=6.0))
    route = rt.VariantRoute("AllTraffic", "/m", 1, "a" * 64)
    rt.update_routing(tmp_path, lambda r: r.with_variant(route))
    routing = rt.update_routing(tmp_path, lambda r: r.with_weights({"AllTraffic": 100}))
    assert (routing.generation, routing.idle_seconds) == (3, 6.0)
    assert rt.read_routing(tmp_path) == routing
    cleared = rt.update_routing(tmp_path, lambda r: replace(r, idle_seconds=None))
    assert rt.read_routing(tmp_path).idle_seconds is None and cleared.variants == (replace(route, weight=100),)


def test_worker_acks_say_whether_they_idle(tmp_path: Path) -> None:
    rt.write_ack(tmp_path, rt.WorkerAck(0, 11, 3, {}, {}, idle=True))
    rt.write_ack(tmp_path, rt.WorkerAck(1, 12, 3, {}, {}))
    acks = rt.read_acks(tmp_path)
    assert (acks[0].idle, acks[1].idle) == (True, False)


def test_local_idle_seconds_scale_with_time_scale_and_only_for_serverless() -> None:
    staging = load_environment(REPO / "config", "staging")
    assert staging.local_idle_seconds() is None  # instances never idle
    data = staging.model_dump(exclude_unset=True)
    data["endpoint"] = {k: v for k, v in data["endpoint"].items() if k not in ("instance_type", "instance_count")}
    data["endpoint"]["serverless"] = {"memory_size_mb": 1024, "max_concurrency": 2}
    serverless = EnvironmentConfig.model_validate(data)
    assert serverless.local.idle_timeout_seconds == 600  # the default
    assert serverless.local_idle_seconds() == 600 * staging.local.time_scale
