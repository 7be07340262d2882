"""The hyperparameters the training script accepts: names, types, defaults, ranges; pure Python.

Runs in the training container (``ml.features`` resolves the fitted model's settings with it)
and is read by the control plane before any step starts, so ``--set C=abc``, ``--set nosuch=1``
or a typo under ``training.hyperparameters`` in ``config/pipeline.yaml`` is a config error in a
second, not a failed training job after preprocessing. It imports only the standard library,
so the control plane can read it without scikit-learn. To train another model, describe its
hyperparameters here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_ALGORITHM = "logistic_regression"


@dataclass(frozen=True)
class Hyperparameter:
    kind: type  # int or float
    default: Any
    minimum: float  # inclusive unless `exclusive`
    exclusive: bool = False
    optional: bool = False  # None ("none", "null", "") means the estimator's own unbounded setting

    def parse(self, name: str, value: Any) -> Any:
        """The value as the estimator takes it; ValueError naming the hyperparameter otherwise."""
        if value is None or (isinstance(value, str) and value.strip().lower() in {"", "none", "null"}):
            if self.optional:
                return None
            raise ValueError(f"{name} needs a value")
        number = self._number(name, value)
        if number < self.minimum or (self.exclusive and number == self.minimum):
            bound = ">" if self.exclusive else "≥"
            raise ValueError(f"{name} must be {bound} {self.minimum:g}, got {value!r}")
        return number

    def _number(self, name: str, value: Any) -> Any:
        word = "an integer" if self.kind is int else "a number"
        if isinstance(value, bool):
            raise ValueError(f"{name} must be {word}, got {value!r}")
        try:
            number = self.kind(value.strip() if isinstance(value, str) else value)
        except (TypeError, ValueError, OverflowError):
            raise ValueError(f"{name} must be {word}, got {value!r}") from None
        if self.kind is int and isinstance(value, float) and not value.is_integer():
            raise ValueError(f"{name} must be {word}, got {value!r}")
        if isinstance(number, float) and not math.isfinite(number):
            raise ValueError(f"{name} must be a finite number, got {value!r}")
        return number


# Per algorithm, every hyperparameter it accepts; anything else is refused, so a typo fails
# before training instead of being silently ignored.
HYPERPARAMETERS: dict[str, dict[str, Hyperparameter]] = {
    "logistic_regression": {
        "C": Hyperparameter(float, 1.0, 0, exclusive=True),
        "max_iter": Hyperparameter(int, 200, 1),
        "random_state": Hyperparameter(int, 0, 0),
    },
    "hist_gradient_boosting": {
        "learning_rate": Hyperparameter(float, 0.1, 0, exclusive=True),
        "max_iter": Hyperparameter(int, 100, 1),
        "max_depth": Hyperparameter(int, None, 1, optional=True),
        "random_state": Hyperparameter(int, 0, 0),
    },
}
DEFAULTS: dict[str, dict[str, Any]] = {
    algorithm: {name: spec.default for name, spec in specs.items()} for algorithm, specs in HYPERPARAMETERS.items()
}


def resolve(given: Mapping[str, Any]) -> dict[str, Any]:
    """Every hyperparameter of the chosen algorithm, parsed and checked, defaults filled in.

    Values may be typed (YAML) or strings (``--set``, SageMaker's ``SM_HPS``). Raises
    ValueError naming the first unknown name, unknown algorithm or bad value.
    """
    values = {key: value for key, value in given.items() if value is not None}
    algorithm = str(values.pop("algorithm", DEFAULT_ALGORITHM)).strip()
    if algorithm not in HYPERPARAMETERS:
        raise ValueError(f"unknown algorithm {algorithm!r}; expected one of {', '.join(HYPERPARAMETERS)}")
    specs = HYPERPARAMETERS[algorithm]
    unknown = sorted(set(values) - set(specs))
    if unknown:
        raise ValueError(
            f"hyperparameters {', '.join(unknown)} do not apply to {algorithm} (it accepts {', '.join(specs)})"
        )
    return {"algorithm": algorithm, **DEFAULTS[algorithm], **{k: specs[k].parse(k, v) for k, v in values.items()}}
