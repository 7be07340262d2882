"""Tests that share an xdist group run on one worker, so a fixture they share is built once.

scripts/test.sh runs pytest with `--dist loadgroup`; the IAM recordings, the local loop and the
contract pipeline are each built once per worker that runs a test of their group. pytest 9.2
moved the node id pytest-xdist 3.8 rewrites to group tests, which spread every group over
every worker without a word: this runs a small suite the same way and checks the grouping.
"""

from __future__ import annotations

import pytest

SUITE = """
import os
import pytest

def record(name):
    with open(os.path.join(os.environ["RECORD_DIR"], name), "w") as out:
        out.write(os.environ["PYTEST_XDIST_WORKER"])

@pytest.mark.xdist_group("shared")
@pytest.mark.parametrize("n", range(6))
def test_grouped(n):
    record(f"grouped-{n}")

@pytest.mark.parametrize("n", range(6))
def test_free(n):
    record(f"free-{n}")
"""


def test_a_group_runs_on_one_worker(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    records = pytester.mkdir("records")
    monkeypatch.setenv("RECORD_DIR", str(records))
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")  # xdist alone, named below: quicker workers
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest_subprocess("-p", "xdist", "-n", "2", "--dist", "loadgroup", "-q")
    result.assert_outcomes(passed=12)
    grouped = {(records / f"grouped-{n}").read_text() for n in range(6)}
    assert len(grouped) == 1, f"the group ran on workers {sorted(grouped)}"


def test_every_unit_named_longest_first_exists() -> None:
    """A renamed module or group would silently lose its place at the front of the queue."""
    import re

    from tests.conftest import LONGEST_FIRST, REPO

    named = re.compile(r'xdist_group\("([\w-]+)"\)')
    groups = {m for f in (REPO / "tests").rglob("*.py") for m in named.findall(f.read_text())}
    missing = [name for name in LONGEST_FIRST if not ((REPO / name).is_file() if "/" in name else name in groups)]
    assert missing == []
