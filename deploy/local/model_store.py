"""Unpacked models of a local endpoint: verify a model.tar.gz against its pin, then unpack it safely (control plane).

The archive's sha256 is checked before a single member is read, so an artifact that is not
the pinned one never reaches the server. Members are refused if they are absolute, climb out
with `..`, or are anything but plain files and folders. Each model unpacks once, into a folder
named by its digest, via a temporary folder renamed into place so a half-unpacked model is
never served. A folder already there is compared with the archive, file by file, before it is
used again: one that lost or gained files, or whose bytes changed, is unpacked again.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
import time
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


def _digest(stream: object) -> str:
    digest = hashlib.sha256()
    for block in iter(lambda: stream.read(1 << 20), b""):  # type: ignore[attr-defined]
        digest.update(block)
    return digest.hexdigest()


def differences(archive: Path, folder: Path) -> str | None:
    """None if `folder` holds exactly `archive`'s files with the same bytes, else the first difference."""
    if not folder.is_dir():
        return "the folder is missing"
    expected: set[str] = set()
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar.getmembers():
            _check_member(member, archive)
            if not member.isfile():
                continue
            name = str(PurePosixPath(member.name))
            expected.add(name)
            path = folder / name
            if not path.is_file():
                return f"{name} is missing"
            with open(path, "rb") as ours, tar.extractfile(member) as theirs:  # type: ignore[union-attr]
                if _digest(ours) != _digest(theirs):
                    return f"{name} differs from the archive"
    extra = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    unexpected = [name for name in extra if name not in expected]
    return f"{unexpected[0]} is not in the archive" if unexpected else None


def _place(archive: Path, target: Path, label: str) -> None:
    models_dir = target.parent
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


def ensure_unpacked(archive: Path, sha256: str, models_dir: Path, label: str) -> tuple[Path, str | None]:
    """The verified folder of `archive`, and what had to be repaired (None if it was intact)."""
    if not archive.is_file():
        raise DeployError(f"{label}: model archive {archive} does not exist")
    actual = file_sha256(archive)
    if actual != sha256:
        raise DeployError(f"{label}: {archive} has sha256 {actual}, but {sha256} is pinned; refusing to load it")
    target = models_dir / sha256[:24]
    try:
        problem = differences(archive, target)
    except (tarfile.TarError, OSError, EOFError) as error:
        raise DeployError(f"cannot read {archive}: {error}") from error
    if problem is None:
        return target, None
    if target.exists():
        stale = target.with_name(f".stale-{target.name}-{os.getpid()}-{time.monotonic_ns()}")
        target.rename(stale)  # out of the way at once, so nothing loads the changed files
        shutil.rmtree(stale, ignore_errors=True)
    _place(archive, target, label)
    return target, f"{label}: unpacked {archive.name} again into {target} ({problem})"


def unpack_verified(archive: Path, sha256: str, models_dir: Path, label: str) -> Path:
    """The folder holding `archive`'s files, after checking its digest; `label` names it in errors."""
    return ensure_unpacked(archive, sha256, models_dir, label)[0]


def prune(models_dir: Path, keep: Iterable[str]) -> None:
    """Delete unpacked models no variant uses any more."""
    wanted = {Path(p).resolve() for p in keep}
    for folder in models_dir.glob("*"):
        if folder.is_dir() and folder.resolve() not in wanted and not folder.name.startswith("."):
            shutil.rmtree(folder, ignore_errors=True)
