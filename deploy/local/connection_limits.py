"""What one client connection may cost a local endpoint worker: sizes, timeouts and a cap (server side).

Without limits, idle or slow clients hold descriptors until the worker runs out of them, and
then nobody is answered. Each worker therefore enforces, per connection: a request line and a
header block of bounded size (414, 431), a body of at most SageMaker's 6 MB (413), headers and
body that arrive within a deadline (408), and an idle keep-alive connection that is closed
after a while. Each worker also caps its open connections below its open-files limit; at the
cap the longest-idle connections are closed to make room, and only when none is idle is a
newcomer answered 503. Deadlines are checked by one sweep per worker, not a timer per request.
The worker accepts only a few connections per wake-up, and only under the cap, so closing
idle ones always frees descriptors before new ones are taken.
"""

from __future__ import annotations

import json
import resource
import time
from dataclasses import asdict, dataclass
from typing import Protocol

RESERVED_DESCRIPTORS = 64  # log, lock, metrics, model processes, imports: never given to clients
BUSY_BODY = b'{"error": "every connection of this server is busy; try again"}'
BUSY_REPLY = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\n" + (
    b"Content-Length: %d\r\n" % len(BUSY_BODY)
)


@dataclass(frozen=True)
class Limits:
    max_request_line: int = 8 * 1024  # bytes of method, path and query, as nginx's default buffer
    max_header_bytes: int = 32 * 1024  # the whole header block
    max_body: int = 6 * 1024 * 1024  # SageMaker's InvokeEndpoint payload limit
    header_seconds: float = 10.0  # from a request's first byte to the end of its headers
    body_seconds: float = 60.0  # from the end of the headers to the end of the body
    idle_seconds: float = 60.0  # a keep-alive connection with no request in progress
    max_connections: int = 0  # per worker; 0: the open-files limit minus a reserve

    @property
    def max_head(self) -> int:
        return self.max_request_line + self.max_header_bytes

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str | None) -> Limits:
        return cls(**json.loads(text)) if text else cls()

    def connection_cap(self) -> int:
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        cap = max(16, soft - RESERVED_DESCRIPTORS) if soft != resource.RLIM_INFINITY else 65536
        return min(cap, self.max_connections) if self.max_connections else cap

    def sweep_seconds(self) -> float:
        return max(0.01, min(1.0, self.header_seconds / 4, self.body_seconds / 4, self.idle_seconds / 4))


class Watched(Protocol):
    """What the sweep needs of a connection."""

    deadline: float  # time.monotonic() when it expires; 0 for none
    idle_since: float  # 0 while a request is in progress

    def expire(self) -> None: ...

    def evict(self) -> None: ...


def sweep(connections: set, now: float | None = None) -> None:
    """Expire every connection past its deadline."""
    now = time.monotonic() if now is None else now
    for connection in [c for c in connections if 0 < c.deadline <= now]:
        connection.expire()


def evict_idle(connections: set, count: int) -> int:
    """Close up to `count` of the longest-idle connections; how many were closed."""
    idle = sorted((c for c in connections if c.idle_since > 0), key=lambda c: c.idle_since)[:count]
    for connection in idle:
        connection.evict()
    return len(idle)
