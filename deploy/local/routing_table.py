"""The files a local endpoint's control plane and server workers share in its state folder (both sides).

`routing.json` is the desired routing: variants (name, model folder, version, sha256, weight)
and a generation counter bumped on every change. The control plane rewrites it atomically
under a file lock; each worker polls its stat cheaply, applies a new generation, and answers
with `workers/worker-<i>.json` (the generation it now serves and what it loaded), which is how
the control plane knows that every worker routes the same way. A serverless endpoint's
routing also carries its idle timeout, and each ack says whether that worker's model
processes are stopped until the next request.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

ROUTING_FILE = "routing.json"
WORKERS_DIR = "workers"
METRICS_DIR = "metrics"
MODELS_DIR = "models"
PID_FILE = "server.pid"
LOCK_FILE = "server.lock"  # held by the server and every process it forked, for as long as any of them runs
INFO_FILE = "server.json"
LOG_FILE = "server.log"
IDENTITY_HEADER = "X-Mlops-Endpoint"  # on every reply: the endpoint name, so clients know whose server answered


@dataclass(frozen=True)
class VariantRoute:
    name: str
    model_dir: str
    version: int
    sha256: str
    weight: int = 0
    archive: str = ""  # the pinned model.tar.gz the folder was unpacked from: a restart checks it again


@dataclass(frozen=True)
class Routing:
    generation: int = 0
    variants: tuple[VariantRoute, ...] = ()
    # A serverless endpoint: workers stop their model processes after this many seconds without
    # a request and start them again on the next one. None: they always run.
    idle_seconds: float | None = None

    def get(self, name: str) -> VariantRoute | None:
        return next((v for v in self.variants if v.name == name), None)

    def with_variant(self, route: VariantRoute) -> Routing:
        others = tuple(v for v in self.variants if v.name != route.name)
        return replace(self, variants=(*others, route))

    def without(self, name: str) -> Routing:
        return replace(self, variants=tuple(v for v in self.variants if v.name != name))

    def with_weights(self, weights: dict[str, int]) -> Routing:
        return replace(self, variants=tuple(replace(v, weight=weights.get(v.name, v.weight)) for v in self.variants))


@dataclass(frozen=True)
class WorkerAck:
    """What one worker reported after applying a routing generation."""

    index: int
    pid: int
    generation: int
    loaded: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> {sha256, version, weight}
    errors: dict[str, str] = field(default_factory=dict)  # name -> why it could not be loaded
    idle: bool = False  # its model processes are stopped until the next request (serverless)


def write_json(path: Path, document: dict[str, Any]) -> None:
    """Replace `path` atomically, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(document, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(temporary, path)


def read_routing(state_dir: Path) -> Routing:
    path = state_dir / ROUTING_FILE
    if not path.exists():
        return Routing()
    document = json.loads(path.read_text(encoding="utf-8"))
    variants = tuple(VariantRoute(**v) for v in document["variants"])
    return Routing(document["generation"], variants, document.get("idle_seconds"))


def write_routing(state_dir: Path, routing: Routing) -> None:
    document: dict[str, Any] = {"generation": routing.generation, "variants": [asdict(v) for v in routing.variants]}
    if routing.idle_seconds is not None:
        document["idle_seconds"] = routing.idle_seconds
    write_json(state_dir / ROUTING_FILE, document)


@contextmanager
def _locked(state_dir: Path) -> Iterator[None]:
    state_dir.mkdir(parents=True, exist_ok=True)
    with open(state_dir / "routing.lock", "a", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def update_routing(state_dir: Path, change: Callable[[Routing], Routing]) -> Routing:
    """Apply `change` under the lock and publish it as the next generation."""
    with _locked(state_dir):
        current = read_routing(state_dir)
        updated = replace(change(current), generation=current.generation + 1)
        write_routing(state_dir, updated)
        return updated


def write_ack(state_dir: Path, ack: WorkerAck) -> None:
    write_json(state_dir / WORKERS_DIR / f"worker-{ack.index}.json", asdict(ack))


def read_acks(state_dir: Path) -> dict[int, WorkerAck]:
    acks: dict[int, WorkerAck] = {}
    for path in (state_dir / WORKERS_DIR).glob("worker-*.json"):
        try:
            ack = WorkerAck(**json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            continue  # replaced between glob and read, or from an older server
        acks[ack.index] = ack
    return acks
