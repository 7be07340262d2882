#!/usr/bin/env bash
# Create .venv (if missing) and install the project with the given extras, skipping the
# install when pyproject.toml has not changed since the last one that worked. An install only
# counts as done (and writes its stamp) once `mlops --version` runs in the venv, so a broken
# install is retried on the next run instead of being skipped. Sourced by demo.sh and test.sh.
set -euo pipefail
ensure_venv() {
  local extras="$1" python="${PYTHON:-python3}"
  if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "error: Python 3.11 or newer is needed (found: $("$python" --version 2>&1)); set PYTHON=/path/to/python3.11" >&2
    exit 2
  fi
  [ -x .venv/bin/python ] || "$python" -m venv .venv
  local stamp
  stamp=".venv/.installed-$(cat pyproject.toml | sha256sum | cut -c1-16)-${extras//[^a-z]/_}"
  if [ ! -f "$stamp" ]; then
    echo "installing the project into .venv (extras: ${extras:-none}); log: .venv/install.log" >&2
    local began=$SECONDS
    rm -f .venv/.installed-*
    if ! { .venv/bin/python -m pip install --disable-pip-version-check --upgrade pip &&
      .venv/bin/python -m pip install --disable-pip-version-check -e ".${extras:+[$extras]}" &&
      .venv/bin/mlops --version; } >.venv/install.log 2>&1; then
      tail -n 30 .venv/install.log >&2
      echo "error: installing the project failed (full log: .venv/install.log)" >&2
      exit 1
    fi
    touch "$stamp"
    echo "installed in $((SECONDS - began)) s" >&2
  fi
}
