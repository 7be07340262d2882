"""Loading and validating the desired state in `config/` (control plane)."""

from deploy.config.loader import (
    ConfigSet,
    environment_names,
    load_environment,
    load_pipeline,
    validate_all,
)
from deploy.config.schema import EnvironmentConfig, PipelineConfig

__all__ = [
    "ConfigSet",
    "EnvironmentConfig",
    "PipelineConfig",
    "environment_names",
    "load_environment",
    "load_pipeline",
    "validate_all",
]
