"""The step list both backends run: order, wiring and SageMaker-style hyperparameters."""

from __future__ import annotations

from deploy.config import load_pipeline
from deploy.pipeline.run import parse_overrides
from deploy.pipeline.steps import build_steps, hyperparameters
from tests.conftest import REPO


def test_steps_are_wired_output_to_input() -> None:
    steps = build_steps(load_pipeline(REPO / "config"))
    assert [(s.name, s.kind, s.module) for s in steps] == [
        ("preprocess", "processing", "ml.preprocess"),
        ("train", "training", "ml.train"),
        ("evaluate", "processing", "ml.evaluate"),
        ("baseline", "processing", "ml.baseline"),
    ]
    produced = {"data.raw", "data.schema"}
    for step in steps:
        assert {i.source for i in step.inputs} <= produced, step.name
        produced |= {f"{step.name}.{o.name}" for o in step.outputs}
    assert steps[1].entry_point == "ml/train.py"


def test_hyperparameters_are_strings_with_features_and_overrides() -> None:
    cfg = load_pipeline(REPO / "config")
    hps = hyperparameters(cfg, {"C": "0.05"})
    assert all(isinstance(v, str) for v in hps.values())
    assert hps["C"] == "0.05"
    assert hps["label"] == "churned"
    assert hps["numeric_features"].split(",")[0] == "tenure_months"
    assert "paperless_billing" in hps["categorical_features"]


def test_overrides_accept_repeated_and_comma_separated_pairs() -> None:
    assert parse_overrides(["a=1,b=2", "c = 3"]) == {"a": "1", "b": "2", "c": "3"}
    assert parse_overrides([""]) == {}


def test_bad_override_is_a_config_error() -> None:
    import pytest

    from deploy.errors import ConfigError

    with pytest.raises(ConfigError, match="expected name=value"):
        parse_overrides(["learning_rate"])
