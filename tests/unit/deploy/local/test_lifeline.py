"""The two ties that end a server worker with its supervisor, each on its own."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from deploy.local.connection_limits import Limits
from deploy.local.http_worker import Worker, serve
from deploy.local.serving_metrics import MetricsBlock
from deploy.local.variant_pool import VariantPool
from tests.conftest import REPO

ORPHANED_CHILD = """
import os, signal, sys, time
from deploy.local.lifeline import die_with_parent
parent = os.getpid()
if os.fork() == 0:
    signal.signal(signal.SIGTERM, lambda *_: (open(sys.argv[1], "w").write("signalled"), os._exit(0)))
    die_with_parent(signal.SIGTERM, parent)
    time.sleep(30)
    os._exit(1)
time.sleep(0.3)
os._exit(0)  # like SIGKILL: no cleanup, nothing told
"""


def test_the_kernel_signals_a_child_whose_parent_died(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    subprocess.run([sys.executable, "-c", ORPHANED_CHILD, str(marker)], env=env, check=True, timeout=30)
    deadline = time.monotonic() + 10
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert marker.read_text() == "signalled"


def test_a_worker_stops_serving_when_its_supervisor_pipe_closes(tmp_path: Path) -> None:
    pool = VariantPool(tmp_path, 0, MetricsBlock(tmp_path / "metrics.bin"), handlers=None)
    worker = Worker(pool, "tied", Limits())
    listening = socket.create_server(("127.0.0.1", 0))
    port = listening.getsockname()[1]
    read_end, write_end = os.pipe()

    async def supervisor_dies() -> None:
        asyncio.get_running_loop().call_later(0.3, os.close, write_end)  # all the supervisor ever does
        await asyncio.wait_for(serve(listening, worker, read_end), 10)

    asyncio.run(supervisor_dies())
    os.close(read_end)
    assert listening.fileno() == -1  # closed: the port is free again
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))
