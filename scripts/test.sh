#!/usr/bin/env bash
# The test command: sets up .venv with the dev tools, runs ruff, then the pytest suite: unit, end
# to end, and the contract tests against the scikit-learn 1.9-0 image's toolkits (run in
# .venv-contract, Python 3.12). The other checks run inside the suite, in parallel with the rest,
# each as its own test: deptry (tests/unit/packaging/test_dependencies.py), `mlops config
# validate` and `mlops config schema --check` (tests/unit/deploy/test_cli_inputs.py,
# test_config_schema.py), zizmor and check-jsonschema (tests/unit/workflows/test_workflow_tools.py)
# and cfn-lint (tests/unit/bootstrap/test_bootstrap_tools.py).
# Arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap-venv.sh
ensure_venv dev
export PATH="$PWD/.venv/bin:$PATH"
# The suite starts hundreds of Python processes (workers, jobs, servers, CLI runs) importing the
# same modules: let them cache compiled bytecode, and pytest its rewritten test modules, in the
# git-ignored __pycache__ folders even where the shell turned that off.
unset PYTHONDONTWRITEBYTECODE

echo "== ruff"
ruff check .
ruff format --check ml deploy
echo "== contract venv (the scikit-learn 1.9-0 image's packages and toolkits, Python 3.12)"
contract_python=$(scripts/contract-venv.sh)
export MLOPS_CONTRACT_VENV="$(cd "$(dirname "$contract_python")/.." && pwd)"
# One run for unit, contract and end-to-end tests. Most end-to-end time is spent waiting on
# servers, jobs and bakes, so there are two workers per core; tests that share an expensive
# fixture (the IAM recordings, the local loop, the contract pipeline) share an xdist group, and
# the longest groups are handed out first (tests/conftest.py).
workers=${MLOPS_TEST_WORKERS:-$(($(nproc) * 2))}
echo "== pytest ($workers workers)"
python -m pytest -n "$workers" --dist loadgroup --no-loadscope-reorder "$@"
