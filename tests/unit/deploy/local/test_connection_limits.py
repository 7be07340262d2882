"""Connection limits of the local endpoint's workers: deadlines, the cap, and which connections make room."""

from __future__ import annotations

import resource
from dataclasses import dataclass

from deploy.local.connection_limits import RESERVED_DESCRIPTORS, Limits, evict_idle, sweep


@dataclass(eq=False)
class FakeConnection:
    """Only the attributes the sweep and eviction read; records what was done to it."""

    deadline: float = 0.0
    idle_since: float = 0.0
    expired: bool = False
    evicted: bool = False

    def expire(self) -> None:
        self.expired = True

    def evict(self) -> None:
        self.evicted = True


def test_the_sweep_expires_only_connections_past_their_deadline() -> None:
    late, early, none = FakeConnection(deadline=5.0), FakeConnection(deadline=15.0), FakeConnection()
    sweep({late, early, none}, now=10.0)
    assert (late.expired, early.expired, none.expired) == (True, False, False)


def test_eviction_closes_the_longest_idle_first_and_never_a_busy_one() -> None:
    busy = FakeConnection()
    idle = [FakeConnection(idle_since=t) for t in (30.0, 10.0, 20.0)]
    assert evict_idle({busy, *idle}, 2) == 2
    assert [c.evicted for c in idle] == [False, True, True] and not busy.evicted
    assert evict_idle({busy}, 2) == 0


def test_the_cap_stays_below_the_open_files_limit() -> None:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert Limits().connection_cap() <= max(16, soft - RESERVED_DESCRIPTORS)
    assert Limits(max_connections=10).connection_cap() == 10


def test_limits_travel_to_the_server_as_json() -> None:
    limits = Limits(header_seconds=0.5, max_request_line=100)
    assert Limits.from_json(limits.to_json()) == limits and Limits.from_json(None) == Limits()
    assert 0.01 <= limits.sweep_seconds() <= 0.125
