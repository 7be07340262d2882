"""The README's console examples are what the code prints: each marked example runs in a scratch checkout."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.readme_console import REPO, examples, matches, mlops_shim, run_console


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A scratch repository root holding config/ and ml/, as a clone would."""
    root = tmp_path / "sagemaker-gitops"
    shutil.copytree(REPO / "config", root / "config")
    shutil.copytree(REPO / "ml", root / "ml", ignore=shutil.ignore_patterns("__pycache__"))
    return root


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def _bad_prod_config(root: Path) -> None:
    prod = root / "config" / "prod.yaml"
    _edit(prod, "canary_percent: 10", "canary_percent: 60")
    _edit(prod, "approve_on_deploy: true\n", "approve_on_deploy: true\ncolour: blue\n")


def _bad_data(root: Path) -> None:
    from ml.dataset import make_churn

    frame = make_churn(1000, 3).astype({"monthly_charges": object})
    frame.loc[4, "monthly_charges"] = "abc"  # data row 5
    frame.to_csv(root / "customers.csv", index=False)


SETUPS = {
    "version-and-root": lambda root: None,
    "bad-hyperparameter": lambda root: None,
    "bad-prod-config": _bad_prod_config,
    "bad-data": _bad_data,
}


def test_every_marked_console_example_has_a_test() -> None:
    marked = {name for name, example in examples().items() if example.kind == "console"}
    assert marked >= set(SETUPS)
    assert marked - set(SETUPS) <= {"invoke-csv"}  # run against a deployed endpoint in test_local_loop.py


@pytest.mark.parametrize("name", sorted(SETUPS))
def test_readme_console_example(name: str, checkout: Path, tmp_path: Path) -> None:
    SETUPS[name](checkout)
    run_console(examples()[name], checkout, mlops_shim(tmp_path / "bin"), {str(checkout): "~/sagemaker-gitops"})


def test_ellipsis_matches_any_run_of_lines() -> None:
    assert matches(["a", "…", "d"], ["a", "b", "c", "d"])
    assert matches(["a", "…"], ["a"])
    assert not matches(["a", "d"], ["a", "b", "d"])
    assert not matches(["a"], ["a", "b"])
