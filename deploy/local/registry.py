"""The local model registry: SQLite rows with the fields of a SageMaker model package.

Runs on the control plane. Artifacts are copied into a content-addressed store under
`.mlops/artifacts/sha256/<digest>/model.tar.gz`, so a registered version can never change
under its pin; the baseline files (`statistics.json`, `constraints.json`) are stored the same way.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from deploy.artifacts import file_sha256
from deploy.errors import RegistryError
from deploy.registry import BASELINE_FILES, ModelVersion, Registry, Status, check_status

SCHEMA = """
CREATE TABLE IF NOT EXISTS model_versions (
    grp TEXT NOT NULL,
    version INTEGER NOT NULL,
    status TEXT NOT NULL,
    status_reason TEXT NOT NULL DEFAULT '',
    artifact_uri TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    evaluation TEXT NOT NULL,
    lineage TEXT NOT NULL,
    metadata TEXT NOT NULL DEFAULT '{}',
    baselines TEXT NOT NULL DEFAULT '{}',
    description TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    PRIMARY KEY (grp, version)
)
"""


class SqliteRegistry(Registry):
    def __init__(self, db_path: Path, artifact_store: Path) -> None:
        self.db_path = Path(db_path)
        self.artifact_store = Path(artifact_store)

    @contextmanager
    def _session(self) -> Iterator[sqlite3.Connection]:
        """One connection; any SQLite or file trouble (read-only, corrupt, locked) is one RegistryError line."""
        try:
            self.db_path.parent.mkdir(parents=True, exist_ok=True)
            with closing(sqlite3.connect(self.db_path, timeout=30, isolation_level=None)) as conn:
                conn.row_factory = sqlite3.Row
                conn.execute(SCHEMA)
                columns = {row[1] for row in conn.execute("PRAGMA table_info(model_versions)")}
                if "baselines" not in columns:
                    # A registry written before versions carried baselines: add the column, empty.
                    conn.execute("ALTER TABLE model_versions ADD COLUMN baselines TEXT NOT NULL DEFAULT '{}'")
                yield conn
        except sqlite3.Error as exc:
            raise RegistryError(f"local registry {self.db_path}: {exc}{_hint(exc)}") from None
        except OSError as exc:
            raise RegistryError(f"local registry {self.db_path}: {exc.strerror or exc}") from None

    def store_artifact(self, source: Path) -> tuple[str, str]:
        """Copy a model.tar.gz into the content-addressed store; returns (uri, sha256)."""
        return self._store(Path(source), "model.tar.gz")

    def store_baseline(self, folder: Path) -> dict[str, str]:
        return {name: self._store(Path(folder) / f"{name}.json", f"{name}.json")[0] for name in BASELINE_FILES}

    def read_baseline(self, model: ModelVersion, name: str) -> dict[str, Any]:
        uri = model.baselines.get(name)
        if not uri:
            raise RegistryError(f"{model.label} has no {name} baseline: it was trained before baselines existed")
        path = Path(urlparse(uri).path)
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise RegistryError(f"{model.label}: baseline {path}: {error}") from None

    def _store(self, source: Path, name: str) -> tuple[str, str]:
        if not source.is_file():
            raise RegistryError(f"{source}: no such file")
        digest = file_sha256(source)
        target = self.artifact_store / "sha256" / digest / name
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(".partial")
            shutil.copyfile(source, tmp)
            tmp.replace(target)
        return target.resolve().as_uri(), digest

    def artifact_sha256(self, model: ModelVersion) -> str:
        path = Path(urlparse(model.artifact_uri).path)
        if not path.is_file():
            raise RegistryError(f"{model.label}: artifact {path} is missing from the store")
        return file_sha256(path)

    def register(
        self,
        group: str,
        *,
        artifact_uri: str,
        sha256: str,
        evaluation: dict[str, Any],
        lineage: dict[str, Any],
        description: str = "",
        baselines: dict[str, str] | None = None,
    ) -> ModelVersion:
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._session() as conn:
            # BEGIN IMMEDIATE serialises concurrent registrations so versions never collide.
            conn.execute("BEGIN IMMEDIATE")
            row = conn.execute("SELECT MAX(version) FROM model_versions WHERE grp = ?", (group,)).fetchone()
            version = (row[0] or 0) + 1
            conn.execute(
                "INSERT INTO model_versions (grp, version, status, artifact_uri, sha256, evaluation, lineage,"
                " baselines, description, created_at) VALUES (?, ?, 'PendingManualApproval', ?, ?, ?, ?, ?, ?, ?)",
                (
                    group,
                    version,
                    artifact_uri,
                    sha256,
                    json.dumps(evaluation),
                    json.dumps(lineage),
                    json.dumps(baselines or {}),
                    description,
                    now,
                ),
            )
            conn.execute("COMMIT")
        return self.get(group, version)

    def list(self, group: str) -> list[ModelVersion]:
        with self._session() as conn:
            rows = conn.execute("SELECT * FROM model_versions WHERE grp = ? ORDER BY version", (group,)).fetchall()
        return [_to_version(r) for r in rows]

    def get(self, group: str, version: int) -> ModelVersion:
        with self._session() as conn:
            row = conn.execute(
                "SELECT * FROM model_versions WHERE grp = ? AND version = ?", (group, version)
            ).fetchone()
        if row is None:
            raise RegistryError(f"model '{group}' version {version} is not in the registry ({self.db_path})")
        return _to_version(row)

    def update_status(
        self, group: str, version: int, status: Status, *, reason: str = "", metadata: dict[str, str] | None = None
    ) -> ModelVersion:
        check_status(status)
        current = self.get(group, version)
        merged = {**current.metadata, **(metadata or {})}
        with self._session() as conn:
            conn.execute(
                "UPDATE model_versions SET status = ?, status_reason = ?, metadata = ? WHERE grp = ? AND version = ?",
                (status, reason, json.dumps(merged), group, version),
            )
        return self.get(group, version)


def _hint(exc: sqlite3.Error) -> str:
    text = str(exc).lower()
    if "readonly" in text or "read-only" in text:
        return " (the file or its folder is not writable: check permissions, or set MLOPS_ROOT to a writable checkout)"
    if "not a database" in text or "malformed" in text:
        return " (the file is damaged: move it away to start a fresh local registry)"
    if "locked" in text:
        return " (another mlops command holds it: try again when it finishes)"
    return ""


def _to_version(row: sqlite3.Row) -> ModelVersion:
    return ModelVersion(
        group=row["grp"],
        version=row["version"],
        status=row["status"],
        status_reason=row["status_reason"],
        artifact_uri=row["artifact_uri"],
        sha256=row["sha256"],
        evaluation=json.loads(row["evaluation"]),
        lineage=json.loads(row["lineage"]),
        metadata=json.loads(row["metadata"]),
        baselines=json.loads(row["baselines"]),
        created_at=row["created_at"],
        arn=f"local://{row['grp']}/{row['version']}",
    )
