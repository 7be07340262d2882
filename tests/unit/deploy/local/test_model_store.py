"""Models reach a local endpoint only if their digest matches the pin and every member stays inside."""

from __future__ import annotations

import io
import shutil
import tarfile
from pathlib import Path

import pytest

from deploy.artifacts import file_sha256, pack_model_dir
from deploy.errors import DeployError
from deploy.local.model_store import ensure_unpacked, prune, unpack_verified


def archive(tmp_path: Path) -> Path:
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "model.joblib").write_bytes(b"bytes")
    pack_model_dir(tmp_path / "model", tmp_path / "model.tar.gz")
    return tmp_path / "model.tar.gz"


def test_unpacks_once_into_a_folder_named_by_digest(tmp_path: Path) -> None:
    path = archive(tmp_path)
    folder = unpack_verified(path, file_sha256(path), tmp_path / "models", "blue")
    assert (folder / "model.joblib").read_bytes() == b"bytes"
    assert unpack_verified(path, file_sha256(path), tmp_path / "models", "blue") == folder
    prune(tmp_path / "models", keep=[])
    assert not folder.exists()


def test_sha256_mismatch_is_refused_before_unpacking(tmp_path: Path) -> None:
    path = archive(tmp_path)
    with pytest.raises(DeployError, match=r"blue: .* has sha256 .* but 0{64} is pinned"):
        unpack_verified(path, "0" * 64, tmp_path / "models", "blue")
    assert not (tmp_path / "models").exists()


@pytest.mark.parametrize("member", ["../escape", "/etc/evil", "a/../../escape"])
def test_members_outside_the_folder_are_refused(tmp_path: Path, member: str) -> None:
    path = tmp_path / "evil.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo(member)
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(DeployError, match="outside the model folder"):
        unpack_verified(path, file_sha256(path), tmp_path / "models", "green")
    assert not list((tmp_path / "models").glob("*"))


def test_links_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "link.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo("model.joblib")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(info)
    with pytest.raises(DeployError, match="only plain files"):
        unpack_verified(path, file_sha256(path), tmp_path / "models", "green")


@pytest.mark.parametrize(
    ("tamper", "problem"),
    [
        (lambda folder: shutil.rmtree(folder), "the folder is missing"),
        (lambda folder: (folder / "model.joblib").write_bytes(b"other"), "model.joblib differs from the archive"),
        (lambda folder: (folder / "model.joblib").unlink(), "model.joblib is missing"),
        (lambda folder: (folder / "extra.py").write_text("x"), "extra.py is not in the archive"),
    ],
    ids=["missing", "changed", "file removed", "file added"],
)
def test_a_changed_folder_is_unpacked_again(tmp_path: Path, tamper, problem: str) -> None:
    path = archive(tmp_path)
    folder = unpack_verified(path, file_sha256(path), tmp_path / "models", "blue")
    assert ensure_unpacked(path, file_sha256(path), tmp_path / "models", "blue") == (folder, None)
    tamper(folder)
    again, repaired = ensure_unpacked(path, file_sha256(path), tmp_path / "models", "blue")
    assert again == folder and repaired is not None and problem in repaired
    assert sorted(p.name for p in folder.iterdir()) == ["model.joblib"]
    assert (folder / "model.joblib").read_bytes() == b"bytes"
    assert [p.name for p in (tmp_path / "models").iterdir()] == [folder.name]  # no stale copy left behind
