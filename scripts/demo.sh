#!/usr/bin/env bash
# The main job: sets up .venv and runs the whole local GitOps loop (`mlops demo`):
# train → register → promotion PR → merge → deploy staging → smoke → canary to prod → a
# broken model rolled back. Needs no AWS account. Arguments go to `mlops demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap-venv.sh
ensure_venv ""
exec .venv/bin/mlops demo "$@"
