"""Unpacked models of a local endpoint: verify a model.tar.gz against its pin, then unpack it safely (control plane).

The archive's sha256 is checked before a single member is read, so an artifact that is not
the pinned one never reaches the server. Members are refused if they are absolute, climb out
with `..`, or are anything but plain files and folders. Each model unpacks once, into a folder
named by its digest, via a temporary folder renamed into place so a half-unpacked model is
never served.
"""

from __future__ import annotations

import shutil
import tarfile
import tempfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from deploy.artifacts import file_sha256
from deploy.errors import DeployError


def _check_member(member: tarfile.TarInfo, archive: Path) -> None:
    path = PurePosixPath(member.name)
    if path.is_absolute() or ".." in path.parts or member.name.startswith("\\"):
        raise DeployError(f"{archive}: refusing member {member.name!r}, it points outside the model folder")
    if not (member.isfile() or member.isdir()):
        raise DeployError(f"{archive}: refusing member {member.name!r}, only plain files and folders are allowed")


def _extract(archive: Path, target: Path) -> None:
    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = tar.getmembers()
            for member in members:
                _check_member(member, archive)
            # Checked above; the stdlib "data" filter adds its own checks where present.
            extra = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            tar.extractall(target, members=members, **extra)  # noqa: S202
    except (tarfile.TarError, OSError, EOFError) as error:
        raise DeployError(f"cannot unpack {archive}: {error}") from error


def unpack_verified(archive: Path, sha256: str, models_dir: Path, label: str) -> Path:
    """The folder holding `archive`'s files, after checking its digest; `label` names it in errors."""
    if not archive.is_file():
        raise DeployError(f"{label}: model archive {archive} does not exist")
    actual = file_sha256(archive)
    if actual != sha256:
        raise DeployError(f"{label}: {archive} has sha256 {actual}, but {sha256} is pinned; refusing to load it")
    target = models_dir / sha256[:24]
    if target.is_dir():
        return target
    models_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".unpack-", dir=models_dir))
    try:
        _extract(archive, scratch)
        scratch.rename(target)
    except OSError as error:
        if not target.is_dir():  # another caller may have won the rename with the same bytes
            raise DeployError(f"{label}: cannot place the model in {target}: {error}") from error
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target


def prune(models_dir: Path, keep: Iterable[str]) -> None:
    """Delete unpacked models no variant uses any more."""
    wanted = {Path(p).resolve() for p in keep}
    for folder in models_dir.glob("*"):
        if folder.is_dir() and folder.resolve() not in wanted and not folder.name.startswith("."):
            shutil.rmtree(folder, ignore_errors=True)
