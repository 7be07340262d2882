"""Feature preprocessing and model construction shared by training and serving; runs in the container.

One ColumnTransformer (impute and scale numeric columns, impute and one-hot encode categorical
ones) feeds one of two classifiers. ``logistic_regression`` is the default: on the synthetic
churn data it matches gradient boosting's AUC, fits 1M rows in seconds and scores one row
fastest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from ml import hyperparameters

MISSING_CATEGORY = "missing"
# The accepted hyperparameters, their defaults and ranges live in ml/hyperparameters.py (pure
# Python), so the control plane checks them before any job starts.
resolve_hyperparameters = hyperparameters.resolve


def build_preprocessor(numeric: Sequence[str], categorical: Sequence[str]) -> ColumnTransformer:
    """Impute and scale numeric columns; impute and one-hot encode categorical ones."""
    numeric_steps = Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())])
    categorical_steps = Pipeline(
        [
            ("impute", SimpleImputer(strategy="constant", fill_value=MISSING_CATEGORY)),
            # Dense output: the blocks are small and gradient boosting refuses sparse input.
            ("encode", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
        ]
    )
    return ColumnTransformer(
        [("numeric", numeric_steps, list(numeric)), ("categorical", categorical_steps, list(categorical))],
        remainder="drop",
    )


def _classifier(params: Mapping[str, Any]) -> LogisticRegression | HistGradientBoostingClassifier:
    if params["algorithm"] == "logistic_regression":
        return LogisticRegression(C=params["C"], max_iter=params["max_iter"], random_state=params["random_state"])
    return HistGradientBoostingClassifier(
        learning_rate=params["learning_rate"],
        max_iter=params["max_iter"],
        max_depth=params["max_depth"],
        random_state=params["random_state"],
    )


def build_pipeline(hyperparameters: Mapping[str, Any], numeric: Sequence[str], categorical: Sequence[str]) -> Pipeline:
    """An unfitted ``preprocess`` + ``classifier`` pipeline for the given hyperparameters."""
    params = resolve_hyperparameters(hyperparameters)
    return Pipeline([("preprocess", build_preprocessor(numeric, categorical)), ("classifier", _classifier(params))])
