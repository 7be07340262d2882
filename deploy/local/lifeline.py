"""Ties between the processes of a local endpoint server, so none outlives the one that made it (server side).

A supervisor forks HTTP workers and each worker forks one model process per variant. A child
must never keep serving after its parent is gone, even when the parent was killed with SIGKILL
and could run no cleanup. Two independent ties ensure it:

- on Linux the kernel signals the child when its parent dies (`PR_SET_PDEATHSIG`, set through
  `prctl` with ctypes right after the fork);
- everywhere, the child watches a pipe or socket whose other end only the parent holds: it
  reads end-of-file the moment the parent is gone, however it died.

Forked children also inherit every descriptor of their parent (client connections, listening
sockets). `drop_inherited` points the ones a child must not hold at /dev/null, so a connection
the parent closes is really closed, and a number later reused is never closed by mistake.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import sys

PR_SET_PDEATHSIG = 1
_kept: set[int] = set()


def die_with_parent(signum: int, parent: int) -> None:
    """Ask the kernel to send `signum` when the parent dies; exit now if `parent` is already gone."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):  # then the pipe tie alone holds
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signum), 0, 0, 0)
    if os.getppid() != parent:  # the parent died between fork and prctl: nobody would signal us
        os._exit(0)


def keep_in_children(fd: int) -> None:
    """Mark a descriptor every forked child must keep (the server's lock, which says it still runs)."""
    _kept.add(fd)


def _open_descriptors() -> list[int]:
    try:
        return sorted(int(name) for name in os.listdir("/proc/self/fd"))
    except OSError:
        return list(range(3, 1024))


def drop_inherited(*keep: int) -> None:
    """Point every inherited descriptor but stdio, the kept ones, the log and `keep` at /dev/null."""
    logs = {h.stream.fileno() for h in logging.getLogger().handlers if isinstance(h, logging.FileHandler) and h.stream}
    wanted = {0, 1, 2, *_kept, *logs, *keep}
    null = os.open(os.devnull, os.O_RDWR)
    for fd in _open_descriptors():
        if fd not in wanted and fd != null:
            try:
                os.dup2(null, fd, inheritable=False)
            except OSError:
                continue  # closed meanwhile (the /proc listing's own descriptor)
    os.close(null)


def ignore_termination() -> None:
    """A model process stops when its worker's socket closes, not on the signals its worker drains on."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
