"""Packing and fingerprinting model artifacts (control plane).

`model.tar.gz` is packed the way SageMaker packs a training job's model directory, but
reproducibly (sorted names, zeroed times and owners), so the same model bytes give the
same sha256 and a pin in git means exactly one artifact.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from pathlib import Path

CHUNK = 1 << 20


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _normalise(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def pack_model_dir(model_dir: Path, target: Path) -> str:
    """Pack the files of `model_dir` into `target` (model.tar.gz); returns its sha256."""
    files = sorted(p for p in Path(model_dir).rglob("*") if p.is_file())
    if not files:
        raise FileNotFoundError(f"{model_dir} holds no model files")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path in files:
            tar.add(path, arcname=path.relative_to(model_dir).as_posix(), filter=_normalise)
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
        gz.write(buffer.getvalue())
    return file_sha256(target)
