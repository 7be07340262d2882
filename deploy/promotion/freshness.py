"""Is this run's desired state still the one on main? (control plane, runs before a deploy).

A deploy job re-run from an old workflow run, or one that waited hours behind an approval,
holds the checkout of its own commit. If `config/<env>.yaml` has changed on main since, that
run would put older state over newer state. `mlops deploy --require-current origin/main`
compares the bytes of the file about to be deployed with the file at that ref (git blob ids)
and refuses to go on when they differ, saying which commit is newer.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from deploy.errors import ConfigError, StaleConfig


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise ConfigError(f"git is not available: {exc}") from None


def blob_at(root: Path, ref: str, rel: str) -> str | None:
    """The blob id of `rel` at `ref`, or None when the file is not there (deleted on main)."""
    if _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").returncode != 0:
        raise ConfigError(
            f"--require-current {ref}: no such commit in {root}; fetch it first "
            "(actions/checkout with fetch-depth: 0, or git fetch origin main)"
        )
    done = _git(root, "rev-parse", "--verify", "--quiet", f"{ref}:{rel}")
    return done.stdout.strip() if done.returncode == 0 else None


def require_current(root: Path, env_file: Path, ref: str) -> str:
    """Raise `StaleConfig` unless `env_file` has the same bytes as at `ref`; returns a one-line note."""
    rel = env_file.resolve().relative_to(root.resolve()).as_posix()
    local = _git(root, "hash-object", "--", rel)
    if local.returncode != 0:
        raise ConfigError(f"{rel}: cannot hash the file: {local.stderr.strip()}")
    current = blob_at(root, ref, rel)
    if current == local.stdout.strip():
        return f"{rel} is the same as on {ref}"
    newest = _git(root, "log", "-1", "--format=%h %s", ref, "--", rel).stdout.strip() or "deleted"
    raise StaleConfig(
        f"{rel} in this run differs from {ref} (newer change there: {newest}); not deploying older desired "
        f"state over newer — the run for {ref} deploys it"
    )
