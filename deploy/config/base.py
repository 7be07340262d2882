"""Building blocks shared by the config schemas: strict models and SageMaker's name rules (control plane)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

# SageMaker resource names: alphanumerics and hyphens, at most 63 characters.
NAME_PATTERN = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"
INSTANCE_TYPE_PATTERN = r"^ml\.[a-z0-9]+\.[a-z0-9]+$"
SHA256_PATTERN = r"^[0-9a-f]{64}$"

SageMakerName = Annotated[str, Field(pattern=NAME_PATTERN, max_length=63)]
InstanceType = Annotated[str, Field(pattern=INSTANCE_TYPE_PATTERN)]
Seconds3600 = Annotated[int, Field(ge=0, le=3600)]
# CloudWatch's ComparisonOperator for static thresholds.
Comparison = Literal[
    "GreaterThanOrEqualToThreshold", "GreaterThanThreshold", "LessThanThreshold", "LessThanOrEqualToThreshold"
]


class Strict(BaseModel):
    """Unknown keys are errors: a typo must not silently fall back to a default.

    `.nan` and `.inf` are refused wherever a number is expected: a NaN bound compares false with
    everything, so it would silently switch a check off. The loader validates strictly
    (`deploy.config.loader.validate`), so `true` is not a number and `"5"` not an integer.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


class RuleError(ValueError):
    """A rule across fields that knows which key is wrong, so the config error names that key.

    `key` is a dotted path from the model that raised it; the loader puts it after that model's place.
    """

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
