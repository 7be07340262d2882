"""Global feature importance by permutation on the test split; runs in the evaluation container.

Model-agnostic: each raw input column is shuffled in turn and the drop in the score (AUC) is
measured, ``repeats`` times with a fixed seed; the mean drop is the importance, the standard
deviation over the repeats its spread. A column the model does not use scores about 0; one
whose shuffling helps scores below 0. Test splits larger than ``MAX_ROWS`` are subsampled
(seeded), so the step stays seconds long on a million-row split.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.inspection import permutation_importance as sklearn_permutation_importance

REPEATS = 5
SEED = 0
MAX_ROWS = 20_000


def permutation_importance(
    estimator: Any,
    frame: pd.DataFrame,
    y: np.ndarray,
    features: Sequence[str],
    *,
    repeats: int = REPEATS,
    seed: int = SEED,
    max_rows: int = MAX_ROWS,
) -> dict[str, Any] | None:
    """Importance of every feature as {"mean", "std", "rank"}; None when AUC is undefined (one class)."""
    y = np.asarray(y)
    if len(np.unique(y)) < 2:
        return None
    rows = np.arange(len(frame))
    if len(rows) > max_rows:
        rows = np.sort(np.random.default_rng(seed).choice(rows, max_rows, replace=False))
    x = frame.iloc[rows][list(features)].reset_index(drop=True)
    result = sklearn_permutation_importance(
        estimator, x, y[rows], scoring="roc_auc", n_repeats=repeats, random_state=seed
    )
    order = np.argsort(-result.importances_mean, kind="stable")
    ranks = {features[i]: rank for rank, i in enumerate(order, start=1)}
    return {
        "method": "permutation",
        "metric": "auc",
        "repeats": repeats,
        "rows": len(rows),
        "features": {
            name: {
                "mean": round(float(result.importances_mean[i]), 6),
                "std": round(float(result.importances_std[i]), 6),
                "rank": ranks[name],
            }
            for i, name in enumerate(features)
        },
    }
