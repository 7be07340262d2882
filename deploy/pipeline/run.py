"""`mlops pipeline run`: resolve data, run the steps on a backend, register the result.

Written once against the backend interfaces (control plane); nothing here knows which
backend runs the jobs or holds the registry.
"""

from __future__ import annotations

from typing import Any

from deploy.backends import Backend
from deploy.config.schema import PipelineConfig
from deploy.errors import ConfigError
from deploy.lineage import git_commit, run_url
from deploy.pipeline.runner import PipelineProgress
from deploy.pipeline.steps import hyperparameters
from deploy.registry import ModelVersion


def parse_overrides(pairs: list[str]) -> dict[str, str]:
    """`name=value` pairs (also comma-separated in one string, as workflow inputs send them)."""
    overrides: dict[str, str] = {}
    for pair in (p.strip() for chunk in pairs for p in chunk.split(",")):
        if not pair:
            continue
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"--set {pair!r}: expected name=value, e.g. learning_rate=0.05")
        overrides[name.strip()] = value.strip()
    return overrides


def check_overrides(cfg: PipelineConfig, overrides: dict[str, str]) -> None:
    """Judge `--set` values by the training script's own rules before any step starts.

    The rules are `ml/hyperparameters.py` (pure Python, no scikit-learn): a value the training
    job would refuse after preprocessing ran is a config error now.
    """
    if not overrides:
        return
    from ml.hyperparameters import resolve

    try:
        resolve({**cfg.training.hyperparameters, **overrides})
    except ValueError as exc:
        given = " ".join(f"{k}={v}" for k, v in overrides.items())
        raise ConfigError(f"--set {given}: {exc}") from None


def run_pipeline(
    backend: Backend,
    cfg: PipelineConfig,
    overrides: dict[str, str],
    progress: PipelineProgress,
) -> ModelVersion:
    """Run preprocess → train → evaluate → baseline and register the model as a new version."""
    check_overrides(cfg, overrides)
    data = backend.resolve_data(cfg.data)
    result = backend.pipeline_runner().run(cfg, data, overrides, progress)
    registry = backend.registry()
    artifact_uri, sha256 = result.artifact_uri, result.sha256
    if artifact_uri is None:
        assert result.artifact_path is not None
        artifact_uri, sha256 = registry.store_artifact(result.artifact_path)
    baselines = result.baseline_uris
    if not baselines and result.baseline_path is not None:
        baselines = registry.store_baseline(result.baseline_path)
    lineage: dict[str, Any] = {
        "git_commit": git_commit(backend.workspace.root),
        "run_url": run_url(),
        "data_source": data.source,
        "data_digest": result.data_digest or data.digest,
        "hyperparameters": hyperparameters(cfg, overrides),
        "step_seconds": result.timings,
        "jobs": result.jobs,
        "backend": backend.name,
        **result.extra_lineage,
    }
    return registry.register(
        cfg.registry.model_package_group,
        artifact_uri=artifact_uri,
        sha256=sha256,
        evaluation=result.evaluation,
        lineage=lineage,
        description=f"trained from {data.source} at {lineage['git_commit'][:12]}",
        baselines=baselines,
    )
