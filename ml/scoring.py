"""Fast scoring of a fitted feature pipeline for small requests; runs in the serving container.

scikit-learn's ColumnTransformer spends about 5 ms per call on input validation and pandas
indexing, which dominates a one-row request. ``compile_scorer`` reads the fitted imputers,
scaler and encoder of a pipeline built by ``ml.features`` into plain numpy arrays and
dictionaries, then checks on probe rows that it reproduces the pipeline's transform exactly.
If the pipeline has another shape, or the check fails, it returns None and serving keeps
using the pipeline itself, so the shortcut can change speed but never answers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline


@dataclass(frozen=True)
class Coded:
    """A categorical column as codes into its distinct values (what a dictionary encoding gives)."""

    codes: np.ndarray
    values: Sequence[Any]

    def __len__(self) -> int:
        return len(self.codes)


Columns = Mapping[str, Sequence[Any] | Coded] | pd.DataFrame


class CompiledScorer:
    """numpy-only replica of a fitted ``preprocess`` step feeding the fitted classifier."""

    def __init__(self, preprocess: ColumnTransformer, classifier: Any) -> None:
        (_, numeric_steps, numeric), (_, categorical_steps, categorical) = preprocess.transformers_[:2]
        self.numeric = list(numeric)
        self.categorical = list(categorical)
        self.fill = numeric_steps.named_steps["impute"].statistics_.astype(float)
        scaler = numeric_steps.named_steps["scale"]
        self.mean = scaler.mean_.astype(float)
        self.scale = scaler.scale_.astype(float)
        self.missing = categorical_steps.named_steps["impute"].fill_value
        encoder = categorical_steps.named_steps["encode"]
        self.offsets: list[dict[str, int]] = []
        start = len(self.numeric)
        for categories in encoder.categories_:
            self.offsets.append({str(value): start + i for i, value in enumerate(categories)})
            start += len(categories)
        self.width = start
        self.classifier = classifier

    def transform(self, columns: Columns) -> np.ndarray:
        rows = len(columns[self.numeric[0]] if self.numeric else columns[self.categorical[0]])
        out = np.zeros((rows, self.width))
        for j, name in enumerate(self.numeric):
            values = np.asarray(columns[name], dtype=float)
            out[:, j] = np.where(np.isnan(values), self.fill[j], values)
        if self.numeric:
            out[:, : len(self.numeric)] = (out[:, : len(self.numeric)] - self.mean) / self.scale
        for name, offsets in zip(self.categorical, self.offsets, strict=True):
            column = columns[name]
            # Unknown categories stay all-zero, like OneHotEncoder(handle_unknown="ignore").
            if isinstance(column, Coded):  # a batch's column: each distinct value looked up once
                found = np.fromiter((offsets.get(self._category(v), -1) for v in column.values), dtype=np.intp)
                positions = found[column.codes]
                known = np.flatnonzero(positions >= 0)
                out[known, positions[known]] = 1.0
                continue
            for i, value in enumerate(column):  # a request's few rows: cheaper than any array set-up
                position = offsets.get(self._category(value))
                if position is not None:
                    out[i, position] = 1.0
        return out

    def _category(self, value: Any) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return self.missing
        return str(value)

    def predict_proba(self, columns: Columns) -> np.ndarray:
        return self.classifier.predict_proba(self.transform(columns))


def _probe(numeric: Sequence[str], categorical: Sequence[str], offsets: list[dict[str, int]]) -> pd.DataFrame:
    """Rows that touch every branch: all missing, every known category, an unknown one."""
    width = max([len(o) for o in offsets] + [1]) + 1
    data: dict[str, np.ndarray] = {}
    for k, name in enumerate(numeric):
        data[name] = np.array([np.nan] + [float(k * 7 + i * 3) - 5.5 for i in range(width)])
    for name, known in zip(categorical, offsets, strict=True):
        values = [*known, "__never_seen__"]
        column = [np.nan] + [values[i % len(values)] for i in range(width)]
        data[name] = np.array(column, dtype=object)
    return pd.DataFrame(data)


def _has_expected_shape(pipeline: Any) -> bool:
    if not isinstance(pipeline, Pipeline) or set(pipeline.named_steps) != {"preprocess", "classifier"}:
        return False
    preprocess = pipeline.named_steps["preprocess"]
    names = [name for name, _, _ in getattr(preprocess, "transformers_", [])]
    return isinstance(preprocess, ColumnTransformer) and names[:2] == ["numeric", "categorical"]


def compile_scorer(pipeline: Any) -> CompiledScorer | None:
    """A fast scorer equivalent to ``pipeline``, or None when that cannot be guaranteed."""
    if not _has_expected_shape(pipeline):
        return None
    try:
        scorer = CompiledScorer(pipeline.named_steps["preprocess"], pipeline.named_steps["classifier"])
        probe = _probe(scorer.numeric, scorer.categorical, scorer.offsets)
        expected = pipeline.named_steps["preprocess"].transform(probe)
    except (AttributeError, KeyError, TypeError, ValueError):
        return None
    # Both forms a categorical column arrives in (a request's list, a batch's codes) must match.
    coded = {name: Coded(*_factorize(probe[name])) if name in scorer.categorical else probe[name] for name in probe}
    for actual in (scorer.transform(probe), scorer.transform(coded)):
        if actual.shape != expected.shape or not np.allclose(actual, expected, rtol=1e-12, atol=1e-12):
            return None
    return scorer


def _factorize(values: pd.Series) -> tuple[np.ndarray, list[Any]]:
    codes, distinct = pd.factorize(values, use_na_sentinel=False)
    return codes, list(distinct)
