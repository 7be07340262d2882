"""Workflows that cannot deploy the wrong thing: each gate holds on `.github` and fails on `before/`.

`before/` is a copy of the workflows and the setup action as they were when these defects
were found; every gate must find its defect there, so none of them passes vacuously.
"""

from pathlib import Path

import deploy_safety as safety
import pytest

BEFORE = Path(__file__).parent / "before"


@pytest.mark.parametrize("gate", safety.GATES, ids=[g.__name__ for g in safety.GATES])
def test_the_gate_holds_on_the_real_workflows(gate, github_dir: Path) -> None:
    assert gate(github_dir) == []


@pytest.mark.parametrize("gate", safety.GATES, ids=[g.__name__ for g in safety.GATES])
def test_the_gate_finds_the_defect_in_the_old_workflows(gate) -> None:
    problems = gate(BEFORE)
    assert problems, f"{gate.__name__} passes on the old workflows"
