"""Starting and ending the process group of a local endpoint server (control plane).

Whether a server runs is read from `server.lock`, which the server and every process it forked
hold for as long as any of them lives (an flock is shared across fork): neither a recycled pid
nor a child that has not yet exec'd is ever misread. A start hands the server the write end of
a pipe and waits for the one line the server writes there once every worker serves: a
readiness handshake that cannot race. A start that fails, times out or is interrupted ends the
whole process group (the server runs in its own session), so a start reported as failed leaves
nothing running. Before a server starts, each variant in `routing.json` is checked against its
pinned archive and unpacked again if its folder is gone or was changed.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import select
import signal
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deploy.errors import DeployError
from deploy.local import model_store
from deploy.local import routing_table as rt

CODE_ROOT = Path(__file__).resolve().parents[2]  # holds deploy/ (and ml/ in this repository)
START_SECONDS = 60.0  # python, scikit-learn and every model loaded on a busy machine
EXIT_SECONDS = 5.0  # for the processes of a killed group to be gone


def _reap(pid: int) -> bool:
    """True if `pid` was our child and has exited (reaped now, so it leaves no zombie)."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return False
    return done == pid


def alive(pid: int) -> bool:
    """A live process leading its own process group (as the server does), not a zombie."""
    if pid <= 0 or _reap(pid):
        return False
    try:
        os.kill(pid, 0)
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (ProcessLookupError, PermissionError):
        return False
    except OSError:
        state = "?"  # no /proc here: the signal probe is all there is
    try:
        return state != "Z" and os.getpgid(pid) == pid
    except ProcessLookupError:
        return False


def lock_held(state_dir: Path) -> bool:
    """True while the server of `state_dir`, or any process it forked, still runs."""
    try:
        fd = os.open(state_dir / rt.LOCK_FILE, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)  # shared: probes never block one another
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # releases the probe's own lock
    return False


@dataclass(frozen=True)
class ServerState:
    """What runs for a state folder: stopped, starting, running, or orphaned (workers of a dead supervisor)."""

    phase: str
    pid: int = 0
    info: dict[str, Any] | None = None


def inspect(state_dir: Path) -> ServerState:
    state_dir = Path(state_dir).resolve()
    if not lock_held(state_dir):
        for name in (rt.PID_FILE, rt.INFO_FILE):
            (state_dir / name).unlink(missing_ok=True)
        return ServerState("stopped")
    try:
        pid = int((state_dir / rt.PID_FILE).read_text().strip())
    except (OSError, ValueError):
        return ServerState("starting")
    info = _read_info(state_dir)
    if not alive(pid):
        return ServerState("orphaned", pid)
    return ServerState("running" if info and info.get("pid") == pid else "starting", pid, info)


def log_tail(state_dir: Path, lines: int = 15) -> str:
    try:
        text = (state_dir / rt.LOG_FILE).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no server.log)"
    return "\n".join(text.splitlines()[-lines:])


def port_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return False
            raise
    return True


def _spawn(state_dir: Path, argv: list[str], code_root: Path) -> int:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(code_root), str(CODE_ROOT), env.get("PYTHONPATH")) if p)
    log = str(state_dir / rt.LOG_FILE)
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644),
        (os.POSIX_SPAWN_DUP2, 1, 2),
    ]
    # posix_spawn rather than Popen: the server must outlive us, and no Popen object is left to warn.
    return os.posix_spawn(sys.executable, argv, env, file_actions=actions, setsid=True)


def restore_models(state_dir: Path) -> list[str]:
    """Check every routed variant's folder against its pinned archive, unpacking again where needed.

    A variant whose archive is gone or no longer matches its pin cannot be served as pinned: it
    is taken out of the routing (a deploy loads the desired model again). Returns what was done."""
    notes: list[str] = []
    dropped: list[str] = []
    for v in rt.read_routing(state_dir).variants:
        label = f"variant '{v.name}' v{v.version}"
        if not v.archive:
            dropped.append(v.name)
            notes.append(f"{label}: no pinned archive recorded for {v.model_dir}; taken out of the routing")
            continue
        try:
            folder, repaired = model_store.ensure_unpacked(Path(v.archive), v.sha256, state_dir / rt.MODELS_DIR, label)
        except DeployError as error:
            dropped.append(v.name)
            notes.append(f"{error.message}; taken out of the routing")
            continue
        if repaired:
            notes.append(repaired)
        if str(folder) != v.model_dir:
            rt.update_routing(state_dir, lambda r, v=v, f=folder: r.with_variant(replace_dir(v, str(f))))
    if dropped:
        rt.update_routing(state_dir, lambda r: _without(r, dropped))
    return notes


def replace_dir(route: rt.VariantRoute, model_dir: str) -> rt.VariantRoute:
    return rt.VariantRoute(route.name, model_dir, route.version, route.sha256, route.weight, route.archive)


def _without(routing: rt.Routing, names: list[str]) -> rt.Routing:
    for name in names:
        routing = routing.without(name)
    return routing


def _read_info(state_dir: Path) -> dict[str, Any] | None:
    try:
        return json.loads((state_dir / rt.INFO_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def launch(state_dir: Path, argv: list[str], code_root: Path, where: str, timeout: float) -> dict[str, Any]:
    """Spawn the server and return its `server.json` once it says it serves; on any failure end it all."""
    read_end, write_end = os.pipe()
    os.set_inheritable(write_end, True)
    try:
        pid = _spawn(state_dir, [*argv, "--ready-fd", str(write_end)], code_root)
    finally:
        os.close(write_end)  # from now on only the server holds it: end-of-file means it is gone
    try:
        return _await_line(read_end, pid, state_dir, where, timeout)
    except BaseException:
        end_group(state_dir, pid)
        raise
    finally:
        os.close(read_end)


def _await_line(read_end: int, pid: int, state_dir: Path, where: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    received = b""
    while b"\n" not in received:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise DeployError(f"the server of {where} was not ready after {timeout:.0f} s:\n{log_tail(state_dir)}")
        readable, _, _ = select.select([read_end], [], [], remaining)
        if readable:
            chunk = os.read(read_end, 65536)
            if not chunk:
                code = _exit_code(pid)
                raise DeployError(f"the server of {where} exited while starting{code}:\n{log_tail(state_dir)}")
            received += chunk
    return json.loads(received.partition(b"\n")[0])


def _exit_code(pid: int) -> str:
    deadline = time.monotonic() + EXIT_SECONDS
    while time.monotonic() < deadline:
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return ""
        if done == pid:
            return f" (exit code {os.waitstatus_to_exitcode(status)})"
        time.sleep(0.01)
    return ""


def _await_lock_free(state_dir: Path, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while lock_held(state_dir):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


def end_group(state_dir: Path, pgid: int) -> None:
    """SIGKILL every process of the server's session (its group id is the supervisor's pid) and wait."""
    if pgid > 0:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
        _reap_soon(pgid)
    if not _await_lock_free(state_dir, EXIT_SECONDS):
        raise DeployError(f"processes of the endpoint server in {state_dir} did not exit; see `server.log`")
    for name in (rt.PID_FILE, rt.INFO_FILE):
        (state_dir / name).unlink(missing_ok=True)


def stop_group(state_dir: Path, pid: int, timeout: float) -> None:
    """SIGTERM the supervisor (it drains its workers); SIGKILL the group if anything is left after `timeout`."""
    if alive(pid):
        os.kill(pid, signal.SIGTERM)
    if _await_lock_free(state_dir, timeout):
        _reap_soon(pid)
        for name in (rt.PID_FILE, rt.INFO_FILE):
            (state_dir / name).unlink(missing_ok=True)
    else:
        end_group(state_dir, pid)


def _reap_soon(pid: int) -> None:
    deadline = time.monotonic() + EXIT_SECONDS
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return  # not our child: init reaps it
        if done == pid:
            return
        time.sleep(0.01)
