"""Put a promotion on its own git branch as one commit of the pin files (control plane).

`mlops promote --branch` points `promote/<group>` at exactly one commit on top of HEAD that
changes only the environment files, with the PR title as its message. There is one promotion
branch per model group, updated in place: a newer candidate replaces the older one's commit,
so its pull request is updated instead of a second one piling up and conflicting. The commit is
built with git plumbing (`hash-object`, a private index, `write-tree`, `commit-tree`,
`update-ref`), so the checkout is never switched: the current branch, index and working tree
stay exactly as they were, and nothing but the pin files can end up in the commit. Merge the
branch (`git merge promote/...`) or push it and open the pull request.

Refused, with a message saying why: not a git repository, no commit yet, staged changes in
the index (the user is in the middle of something), or uncommitted edits to an environment
file (they would silently ride along).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from deploy.errors import ConfigError

FALLBACK_IDENTITY = {
    "GIT_AUTHOR_NAME": "mlops promote",
    "GIT_AUTHOR_EMAIL": "mlops@localhost",
    "GIT_COMMITTER_NAME": "mlops promote",
    "GIT_COMMITTER_EMAIL": "mlops@localhost",
}
NO_REF = "0" * 40


def branch_name(group: str) -> str:
    """One promotion branch per model group: each new candidate updates it in place."""
    return f"promote/{group}"


def _git(root: Path, *args: str, data: bytes | None = None, env: dict[str, str] | None = None) -> str:
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=root,
            input=data,
            capture_output=True,
            check=False,
            env={**os.environ, **(env or {})},
        )
    except OSError as exc:
        raise ConfigError(f"git is not available: {exc}") from None
    if done.returncode != 0:
        reason = done.stderr.decode(errors="replace").strip().splitlines()
        raise ConfigError(f"git {args[0]} failed in {root}: {reason[-1] if reason else done.returncode}")
    return done.stdout.decode().strip()


def toplevel(root: Path) -> Path:
    try:
        return Path(_git(root, "rev-parse", "--show-toplevel")).resolve()
    except ConfigError:
        raise ConfigError(f"{root}: not a git repository; --branch needs one (or drop --branch)") from None


def check_ready(root: Path, files: list[Path], branch: str) -> Path:
    """Refuse before anything is written; returns the repository's top level."""
    top = toplevel(root)
    try:
        _git(top, "rev-parse", "--verify", "HEAD")
    except ConfigError:
        raise ConfigError(f"{top}: the repository has no commit yet; commit config/ first") from None
    staged = _git(top, "diff", "--cached", "--name-only")
    if staged:
        names = ", ".join(staged.splitlines())
        raise ConfigError(f"{top}: staged changes ({names}); commit or unstage them before --branch")
    rels = [_relative(top, f) for f in files]
    dirty = _git(top, "diff", "--name-only", "HEAD", "--", *rels) if rels else ""
    if dirty:
        names = ", ".join(dirty.splitlines())
        raise ConfigError(f"uncommitted edits to {names}; commit or discard them so the promotion holds only the pin")
    return top


def commit_on_branch(root: Path, branch: str, contents: dict[Path, str], message: str) -> str:
    """One commit on top of HEAD with `contents` (path → new text), as `branch`; returns its sha.

    An existing `branch` is moved to the new commit (compare-and-swap on its old value), so a
    superseded candidate's commit is replaced rather than stacked on.
    """
    top = toplevel(root)
    with tempfile.TemporaryDirectory(prefix="mlops-index-") as scratch:
        env = {"GIT_INDEX_FILE": str(Path(scratch) / "index")}
        _git(top, "read-tree", "HEAD", env=env)
        for path, text in contents.items():
            rel = _relative(top, path)
            blob = _git(top, "hash-object", "-w", "--stdin", "--path", rel, data=text.encode("utf-8"))
            _git(top, "update-index", "--add", "--cacheinfo", f"{_mode(top, rel)},{blob},{rel}", env=env)
        tree = _git(top, "write-tree", env=env)
    commit = _git(top, "commit-tree", tree, "-p", "HEAD", "-m", message, env=_identity(top))
    _git(top, "update-ref", "-m", f"mlops promote: {message}", f"refs/heads/{branch}", commit, _current(top, branch))
    return commit


def _current(top: Path, branch: str) -> str:
    listed = _git(top, "for-each-ref", "--format=%(objectname)", f"refs/heads/{branch}")
    return listed or NO_REF


def _relative(top: Path, path: Path) -> str:
    return Path(path).resolve().relative_to(top).as_posix()


def _mode(top: Path, rel: str) -> str:
    listed = _git(top, "ls-tree", "HEAD", "--", rel)
    return listed.split()[0] if listed else "100644"


def _identity(top: Path) -> dict[str, str]:
    """The configured author, or a neutral one on machines (fresh runners) that have none."""
    try:
        _git(top, "var", "GIT_COMMITTER_IDENT")
        _git(top, "var", "GIT_AUTHOR_IDENT")
    except ConfigError:
        return FALLBACK_IDENTITY
    return {}
