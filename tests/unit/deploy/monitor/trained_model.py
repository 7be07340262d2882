"""Test support: a small model with its baseline, as the pipeline would register it."""

from __future__ import annotations

import json
from pathlib import Path

from ml.artifact import pack_archive
from ml.baseline import baseline
from ml.dataset import make_churn, write_table
from ml.preprocess import preprocess
from ml.schema import DEFAULT_SCHEMA
from ml.train import train


def train_with_baseline(root: Path) -> Path:
    """`root` with archive/model.tar.gz, model/ (unpacked) and base/ (statistics.json, constraints.json)."""
    write_table(make_churn(4000, 7), root / "raw" / "churn.csv")
    (root / "schema.json").write_text(json.dumps(DEFAULT_SCHEMA.to_dict()))
    preprocess(root / "raw", root / "schema.json", root / "split", 0.15, 0.15, 0)
    features = (DEFAULT_SCHEMA.numeric_names, DEFAULT_SCHEMA.categorical_names, DEFAULT_SCHEMA.label)
    train(root / "split" / "train", root / "model", {"algorithm": "logistic_regression"}, *features)
    pack_archive(root / "model", root / "archive" / "model.tar.gz")
    baseline(root / "split" / "train", root / "split" / "test", root / "archive", root / "schema.json", root / "base")
    return root
