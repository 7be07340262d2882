"""Shared test setup: markers, strict AWS request validation, and the repository paths tests copy from."""

from __future__ import annotations

import gc
import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# The workers already fill every core (scripts/test.sh runs two per core): BLAS and OpenMP pools in
# each worker and in every job or server a test starts would only oversubscribe them, and their
# idle threads spin. Set before anything imports numpy; the processes tests start inherit it.
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")
# A test process holds a large heap (botocore's service models, moto's backends, pydantic's
# schemas) and allocates fast: at Python's default thresholds (700, 10, 10) the cyclic garbage
# collector ran thousands of times and took about a sixth of the unit tests' CPU time. These
# collect as surely, a few hundred times per run.
gc.set_threshold(50_000, 20, 20)
# Every boto3 request any test makes is checked against the full service model.
pytest_plugins = ["tests.aws_validation", "tests.botocore_models", "pytester"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: runs real processes (jobs, servers) on this machine")


# The longest work units (an xdist group, or a module), longest first, as measured on two cores.
# xdist hands units out in collection order (scripts/test.sh passes --no-loadscope-reorder), so
# these start side by side and the many short tests fill in around them. xdist's own order
# (most tests first) could queue two long ones on one worker while the others sat idle at the end.
# A worker whose first unit has at most two tests is handed the next one at once: the demo (one
# test, about a minute) is followed by a short unit (teardown), not by the contract group.
LONGEST_FIRST = (
    "local-loop",
    "tests/e2e/test_demo.py",
    "tests/e2e/test_monitor_local.py",
    "iam-recordings",
    "tests/e2e/test_teardown_local.py",
    "contract",
    "tests/e2e/test_endpoint_server.py",
    "tests/e2e/test_openapi.py",
    "tests/e2e/test_serverless_local.py",
    "tests/e2e/test_pipeline_local.py",
    "tests/unit/deploy/monitor/test_monitor_cli.py",
)


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in item.nodeid.replace("\\", "/"):
            item.add_marker(pytest.mark.e2e)
        if item.get_closest_marker("xdist_group") is None and _uses_a_module_fixture(item):
            # A module fixture (a pipeline run, a server) is built once per worker that runs one
            # of the module's tests: keep those modules whole on one worker (--dist loadgroup).
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))
    items.sort(key=_rank)  # stable: every module's tests stay together and in order


def _rank(item: pytest.Item) -> int:
    marker = item.get_closest_marker("xdist_group")
    names = {item.nodeid.replace("\\", "/").split("::")[0]}
    if marker is not None:
        names.add(marker.args[0] if marker.args else marker.kwargs.get("name"))
    return min((LONGEST_FIRST.index(n) for n in names if n in LONGEST_FIRST), default=len(LONGEST_FIRST))


def _uses_a_module_fixture(item: pytest.Item) -> bool:
    info = getattr(item, "_fixtureinfo", None)
    definitions = info.name2fixturedefs.values() if info is not None else ()
    return any(d.scope == "module" for defs in definitions for d in defs)


@pytest.fixture
def repo_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scratch copy of config/ and ml/ acting as the repository root (MLOPS_ROOT)."""
    root = tmp_path / "repo"
    shutil.copytree(REPO / "config", root / "config")
    shutil.copytree(REPO / "ml", root / "ml", ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setenv("MLOPS_ROOT", str(root))
    return root
