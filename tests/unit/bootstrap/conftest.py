"""Fixtures for the bootstrap tests (test side only): the CloudFormation template, parsed."""

from pathlib import Path
from typing import Any

import pytest

from deploy.bootstrap.template import TEMPLATE, load

REPO = Path(__file__).resolve().parents[3]


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    return load(path)


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    return load_template()


@pytest.fixture(scope="session")
def resources(template) -> dict[str, Any]:
    return template["Resources"]
