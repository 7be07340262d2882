"""One deploy per environment at a time on a machine (control plane).

CI serialises deploys with a concurrency group; this lock covers laptops and the local
backend, where two terminals could reconcile the same environment at once.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from deploy.errors import DeployError


@contextmanager
def deploy_lock(path: Path, env: str, wait_seconds: float) -> Iterator[None]:
    """Hold the lock for `env`; wait up to `wait_seconds`, then refuse naming the holder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the whole block
    deadline = time.monotonic() + wait_seconds
    try:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    holder = handle.read().strip() or "another process"
                    raise DeployError(
                        f"another deploy of '{env}' is running ({holder}); retry when it ends or pass --wait"
                    ) from None
                time.sleep(0.2)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        yield
    finally:
        handle.close()
