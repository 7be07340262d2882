"""The local registry: versions, status changes, the content-addressed artifact store."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest

from deploy.errors import RegistryError
from deploy.local.registry import SqliteRegistry

EVALUATION = {"binary_classification_metrics": {"auc": {"value": 0.81, "standard_deviation": 0.01}}}


@pytest.fixture
def registry(tmp_path: Path) -> SqliteRegistry:
    return SqliteRegistry(tmp_path / "registry.db", tmp_path / "artifacts")


def artifact(tmp_path: Path, content: bytes = b"model bytes") -> Path:
    path = tmp_path / f"model-{hashlib.md5(content).hexdigest()[:6]}.tar.gz"  # noqa: S324 - a file name
    path.write_bytes(content)
    return path


def register(registry: SqliteRegistry, path: Path, group: str = "g"):
    uri, digest = registry.store_artifact(path)
    return registry.register(group, artifact_uri=uri, sha256=digest, evaluation=EVALUATION, lineage={"k": "v"})


def test_versions_count_up_per_group(registry: SqliteRegistry, tmp_path: Path) -> None:
    first = register(registry, artifact(tmp_path))
    second = register(registry, artifact(tmp_path, b"other"))
    other_group = register(registry, artifact(tmp_path), group="h")
    assert (first.version, second.version, other_group.version) == (1, 2, 1)
    assert first.status == "PendingManualApproval"
    assert first.metric("auc") == 0.81
    assert first.arn == "local://g/1"
    assert [v.version for v in registry.list("g")] == [1, 2]
    assert registry.latest("g") == second


def test_store_is_content_addressed(registry: SqliteRegistry, tmp_path: Path) -> None:
    path = artifact(tmp_path, b"abc")
    uri, digest = registry.store_artifact(path)
    assert digest == hashlib.sha256(b"abc").hexdigest()
    assert uri.endswith(f"/sha256/{digest}/model.tar.gz")
    assert registry.store_artifact(path) == (uri, digest)
    mv = registry.register("g", artifact_uri=uri, sha256=digest, evaluation={}, lineage={})
    assert registry.artifact_sha256(mv) == digest


def test_missing_version_is_a_clear_error(registry: SqliteRegistry) -> None:
    with pytest.raises(RegistryError, match="model 'g' version 7 is not in the registry"):
        registry.get("g", 7)
    with pytest.raises(RegistryError, match="has no versions yet"):
        registry.resolve("g", None)


def test_status_changes_keep_reason_and_merge_metadata(registry: SqliteRegistry, tmp_path: Path) -> None:
    register(registry, artifact(tmp_path))
    registry.update_status("g", 1, "Rejected", reason="auc below 0.75", metadata={"a": "1"})
    mv = registry.update_status("g", 1, "Approved", reason="deployed", metadata={"b": "2"})
    assert (mv.status, mv.status_reason, mv.metadata) == ("Approved", "deployed", {"a": "1", "b": "2"})
    with pytest.raises(RegistryError, match="unknown status 'Done'"):
        registry.update_status("g", 1, "Done")  # type: ignore[arg-type]


def test_concurrent_registrations_get_distinct_versions(registry: SqliteRegistry, tmp_path: Path) -> None:
    path = artifact(tmp_path)
    uri, digest = registry.store_artifact(path)
    threads = [
        threading.Thread(
            target=registry.register,
            args=("g",),
            kwargs={"artifact_uri": uri, "sha256": digest, "evaluation": {}, "lineage": {}},
        )
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [v.version for v in registry.list("g")] == list(range(1, 9))


def test_tampered_artifact_is_detected(registry: SqliteRegistry, tmp_path: Path) -> None:
    mv = register(registry, artifact(tmp_path, b"good"))
    Path(mv.artifact_uri.removeprefix("file://")).write_bytes(b"evil")
    assert registry.artifact_sha256(mv) != mv.sha256


def test_baselines_are_stored_with_the_version(registry: SqliteRegistry, tmp_path: Path) -> None:
    folder = tmp_path / "baseline"
    folder.mkdir()
    (folder / "statistics.json").write_text('{"version": 0.0, "features": []}')
    (folder / "constraints.json").write_text('{"version": 0.0, "features": [], "monitoring_config": {}}')
    uris = registry.store_baseline(folder)
    assert set(uris) == {"statistics", "constraints"} and "/sha256/" in uris["statistics"]
    (folder / "statistics.json").write_text("changed after registration")
    uri, digest = registry.store_artifact(artifact(tmp_path))
    mv = registry.register("g", artifact_uri=uri, sha256=digest, evaluation={}, lineage={}, baselines=uris)
    again = registry.get("g", mv.version)
    assert again.baselines == uris
    assert registry.read_baseline(again, "statistics") == {"version": 0.0, "features": []}
    plain = register(registry, artifact(tmp_path, b"no baseline"))
    with pytest.raises(RegistryError, match="g v2 has no constraints baseline"):
        registry.read_baseline(plain, "constraints")


def test_a_registry_from_before_baselines_gains_the_column(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "old.db"
    with sqlite3.connect(db) as conn:
        conn.execute(
            "CREATE TABLE model_versions (grp TEXT NOT NULL, version INTEGER NOT NULL, status TEXT NOT NULL,"
            " status_reason TEXT NOT NULL DEFAULT '', artifact_uri TEXT NOT NULL, sha256 TEXT NOT NULL,"
            " evaluation TEXT NOT NULL, lineage TEXT NOT NULL, metadata TEXT NOT NULL DEFAULT '{}',"
            " description TEXT NOT NULL DEFAULT '', created_at TEXT NOT NULL, PRIMARY KEY (grp, version))"
        )
        conn.execute(
            "INSERT INTO model_versions (grp, version, status, artifact_uri, sha256, evaluation, lineage, created_at)"
            " VALUES ('g', 1, 'Approved', 'file:///m', 'abc', '{}', '{}', '2025-01-01T00:00:00+00:00')"
        )
    old = SqliteRegistry(db, tmp_path / "artifacts")
    assert old.get("g", 1).baselines == {}
    assert register(old, artifact(tmp_path)).version == 2
