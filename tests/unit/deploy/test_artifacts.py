"""model.tar.gz packing is reproducible: same files, same sha256."""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

from deploy.artifacts import pack_model_dir


def test_packing_is_reproducible(tmp_path: Path) -> None:
    model = tmp_path / "model"
    (model / "sub").mkdir(parents=True)
    (model / "model.joblib").write_bytes(b"weights")
    (model / "sub" / "info.json").write_text("{}")
    first = pack_model_dir(model, tmp_path / "a.tar.gz")
    os.utime(model / "model.joblib", (1, 1))
    second = pack_model_dir(model, tmp_path / "b.tar.gz")
    assert first == second
    with tarfile.open(tmp_path / "a.tar.gz") as tar:
        assert tar.getnames() == ["model.joblib", "sub/info.json"]
        assert {m.mtime for m in tar.getmembers()} == {0}


def test_changed_bytes_change_the_digest(tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "model.joblib").write_bytes(b"weights")
    first = pack_model_dir(model, tmp_path / "a.tar.gz")
    (model / "model.joblib").write_bytes(b"weights2")
    assert pack_model_dir(model, tmp_path / "b.tar.gz") != first
