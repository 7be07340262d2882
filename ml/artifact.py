"""The model artifact: files in the model folder and the ``model.tar.gz`` around them; runs in the container.

Training writes ``model.joblib`` (the fitted pipeline) and ``model_info.json`` (features,
label, algorithm, hyperparameters, versions) into ``SM_MODEL_DIR``; SageMaker packs that folder
as ``model.tar.gz``. Evaluation and the fault drills unpack it here, refusing any member that
could write outside the target folder.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from pathlib import Path, PurePosixPath
from typing import Any

import joblib

from ml.contract import write_json

MODEL_FILE = "model.joblib"
INFO_FILE = "model_info.json"
ARCHIVE_FILE = "model.tar.gz"


class ArtifactError(Exception):
    """The model artifact is missing, malformed or unsafe to unpack."""


def save_model(estimator: Any, info: dict[str, Any], model_dir: Path) -> None:
    model_dir.mkdir(parents=True, exist_ok=True)
    joblib.dump(estimator, model_dir / MODEL_FILE)
    write_json(model_dir / INFO_FILE, info)


def load_model(model_dir: Path) -> tuple[Any, dict[str, Any]]:
    """The estimator and its info from an unpacked model folder."""
    model_dir = Path(model_dir)
    missing = [name for name in (MODEL_FILE, INFO_FILE) if not (model_dir / name).is_file()]
    if missing:
        raise ArtifactError(f"model folder {model_dir} lacks {', '.join(missing)}")
    info = json.loads((model_dir / INFO_FILE).read_text(encoding="utf-8"))
    # The artifact comes from our own training job, pinned by sha256 in the registry.
    return joblib.load(model_dir / MODEL_FILE), info


def _check_member(member: tarfile.TarInfo) -> None:
    path = PurePosixPath(member.name)
    if path.is_absolute() or ".." in path.parts or member.name.startswith("\\"):
        raise ArtifactError(f"refusing archive member {member.name!r}: it points outside the model folder")
    if not (member.isfile() or member.isdir()):
        raise ArtifactError(f"refusing archive member {member.name!r}: only plain files and folders allowed")


def extract_archive(archive: Path, target: Path) -> Path:
    """Unpack ``archive`` into ``target`` after checking every member; returns ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = tar.getmembers()
            for member in members:
                _check_member(member)
            # Members are checked above; the "data" filter adds the stdlib's own checks where present.
            extra = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            tar.extractall(target, members=members, **extra)  # noqa: S202
    except (tarfile.TarError, OSError, EOFError) as error:
        raise ArtifactError(f"cannot unpack {archive}: {error}") from error
    return target


def find_archive(model_dir: Path) -> Path:
    """``model.tar.gz`` given directly or inside ``model_dir``."""
    model_dir = Path(model_dir)
    if model_dir.is_file():
        return model_dir
    archive = model_dir / ARCHIVE_FILE
    if not archive.is_file():
        raise ArtifactError(f"no {ARCHIVE_FILE} in {model_dir}")
    return archive


def pack_archive(source_dir: Path, archive: Path) -> None:
    """Pack a model folder reproducibly: sorted names, zero timestamps and owners."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path in sorted(p for p in source_dir.rglob("*") if p.is_file()):
            info = tar.gettarinfo(str(path), arcname=path.relative_to(source_dir).as_posix())
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            with path.open("rb") as handle:
                tar.addfile(info, handle)
    with archive.open("wb") as raw, gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as zipped:
        zipped.write(buffer.getvalue())
