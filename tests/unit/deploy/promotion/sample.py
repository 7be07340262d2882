"""Sample models, gates and repositories shared by the promotion tests."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from deploy.config.schema import GateConfig
from deploy.local.registry import SqliteRegistry
from deploy.registry import ModelVersion

GROUP = "churn-classifier"
SPLIT = {"test_rows": 3000, "test_sha256": "5" * 64, "test_file": "test.csv"}

# The gate the tests rely on, written into the copied pipeline.yaml so edits to the real one do not matter.
GATE: dict[str, Any] = {
    "metrics": {
        "auc": {"threshold": 0.75, "min_improvement": 0.0},
        "f1": {"threshold": 0.5, "min_improvement": -0.01},
        "accuracy": {"threshold": 0.7, "min_improvement": -0.01},
    },
    "on_split_mismatch": "compare",
}


def evaluation(auc: float, f1: float, accuracy: float, split: dict | None = SPLIT) -> dict[str, Any]:
    """A SageMaker model-quality evaluation.json."""
    metrics = {"auc": auc, "f1": f1, "accuracy": accuracy}
    report: dict[str, Any] = {
        "binary_classification_metrics": {k: {"value": v, "standard_deviation": 0.01} for k, v in metrics.items()}
    }
    if split is not None:
        report["dataset"] = dict(split)
    return report


def importance(means: dict[str, float], spread: float = 0.002) -> dict[str, Any]:
    """The `feature_importance` block of an evaluation.json, ranked by mean."""
    order = sorted(means, key=lambda name: -means[name])
    return {
        "method": "permutation",
        "metric": "auc",
        "repeats": 5,
        "rows": 3000,
        "features": {n: {"mean": means[n], "std": spread, "rank": order.index(n) + 1} for n in means},
    }


def model(version: int, ev: dict[str, Any], **lineage: Any) -> ModelVersion:
    """A ModelVersion built by hand (for the pure gate and report tests)."""
    return ModelVersion(
        group=GROUP,
        version=version,
        status="PendingManualApproval",
        artifact_uri=f"s3://bucket/models/v{version}/model.tar.gz",
        sha256=f"{version:x}" * 64,
        evaluation=ev,
        lineage=lineage,
        created_at=f"2025-01-0{version}T12:00:00+00:00",
        arn=f"arn:aws:sagemaker:eu-west-1:123456789012:model-package/{GROUP}/{version}",
    )


def gate(**overrides: Any) -> GateConfig:
    return GateConfig.model_validate({**GATE, **overrides})


def local_registry(root: Path) -> SqliteRegistry:
    """The registry the local backend opens for MLOPS_ROOT=root."""
    return SqliteRegistry(root / ".mlops" / "registry.db", root / ".mlops" / "artifacts")


def register(registry: SqliteRegistry, tmp: Path, ev: dict[str, Any], tag: str) -> ModelVersion:
    source = tmp / f"model-{tag}.tar.gz"
    source.write_bytes(f"model bytes {tag}".encode())
    uri, digest = registry.store_artifact(source)
    lineage = {
        "git_commit": "c" * 40,
        "data_digest": "d" * 64,
        "data_source": "builtin://churn",
        "hyperparameters": {"learning_rate": 0.1},
        "run_url": None,
        "backend": "local",
    }
    return registry.register(GROUP, artifact_uri=uri, sha256=digest, evaluation=ev, lineage=lineage)


def set_gate(root: Path, gate_block: dict[str, Any] | None = None) -> None:
    """Give the copied pipeline.yaml a known gate and model package group."""
    path = root / "config" / "pipeline.yaml"
    yaml = YAML(typ="rt")
    doc = yaml.load(path.read_text(encoding="utf-8"))
    doc["gate"] = gate_block or GATE
    doc.setdefault("registry", {})["model_package_group"] = GROUP
    with path.open("w", encoding="utf-8") as handle:
        yaml.dump(doc, handle)


def add_comments(root: Path) -> None:
    """Decorate every environment's model block with comments (the rewrite must keep them)."""
    for path in sorted((root / "config").glob("*.yaml")):
        if path.name == "pipeline.yaml":
            continue
        text = path.read_text(encoding="utf-8")
        text, count = re.subn(
            r"^model:\n(\s+)version:\n",
            "model:   # written by `mlops promote`, reviewed in its pull request\n"
            r"\1# the registry version; deploy checks sha256 against the artifact\n"
            r"\1version:        # empty until the first promotion\n",
            text,
            flags=re.M,
        )
        assert count == 1, f"{path}: unexpected model block"
        path.write_text(text, encoding="utf-8")


def env_files(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((root / "config").glob("*.yaml")) if p.name != "pipeline.yaml"}


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True)
    return done.stdout.strip()
