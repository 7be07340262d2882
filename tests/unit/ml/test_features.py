"""Hyperparameter resolution, pipeline construction and the fast scorer's equivalence."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.features import build_pipeline, resolve_hyperparameters
from ml.schema import DEFAULT_SCHEMA
from ml.scoring import compile_scorer

FEATURES = list(DEFAULT_SCHEMA.features)


def test_defaults_are_filled_in() -> None:
    assert resolve_hyperparameters({}) == {
        "algorithm": "logistic_regression",
        "C": 1.0,
        "max_iter": 200,
        "random_state": 0,
    }
    params = resolve_hyperparameters({"algorithm": "hist_gradient_boosting", "max_depth": 4, "C": None})
    assert params["max_depth"] == 4
    assert params["learning_rate"] == 0.1


def test_unknown_algorithm_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown algorithm 'xgboost'"):
        resolve_hyperparameters({"algorithm": "xgboost"})


def test_hyperparameter_of_another_algorithm_is_refused() -> None:
    with pytest.raises(ValueError, match="learning_rate do not apply to logistic_regression"):
        resolve_hyperparameters({"learning_rate": 0.3})


@pytest.mark.parametrize("algorithm", ["logistic_regression", "hist_gradient_boosting"])
def test_compiled_scorer_matches_the_pipeline(churn: pd.DataFrame, algorithm: str) -> None:
    params = {"algorithm": algorithm, "max_iter": 10 if algorithm == "hist_gradient_boosting" else 200}
    pipeline = build_pipeline(params, DEFAULT_SCHEMA.numeric_names, DEFAULT_SCHEMA.categorical_names)
    pipeline.fit(churn[FEATURES], churn["churned"])
    scorer = compile_scorer(pipeline)
    assert scorer is not None
    sample = churn[FEATURES].iloc[:300].copy()
    sample.loc[sample.index[:3], "contract"] = "never-seen"
    np.testing.assert_allclose(scorer.predict_proba(sample), pipeline.predict_proba(sample), rtol=1e-12)


def test_other_estimators_are_not_compiled() -> None:
    assert compile_scorer(object()) is None
