"""Fixtures for the workflow gate tests (test side only)."""

import sys
from pathlib import Path

import pytest

# The gates live beside the tests; make them importable whatever the import mode.
sys.path.insert(0, str(Path(__file__).parent))

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def github_dir(repo: Path) -> Path:
    return repo / ".github"
