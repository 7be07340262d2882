#!/usr/bin/env bash
# The test command: sets up .venv with the dev tools, then lint, config checks, workflow and
# template checks, the contract tests against the scikit-learn 1.9-0 image's toolkits (in
# .venv-contract, Python 3.12), and the rest of the pytest suite (unit, end to end).
# Arguments go to the last pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap-venv.sh
ensure_venv dev
export PATH="$PWD/.venv/bin:$PATH"

echo "== ruff"
ruff check .
ruff format --check ml deploy
echo "== dependencies (every import of ml/ and deploy/ is a declared runtime dependency)"
deptry .
echo "== config"
mlops config validate
mlops config schema --check
echo "== workflows and bootstrap template"
zizmor --offline --quiet .github
check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
check-jsonschema --builtin-schema vendor.dependabot .github/dependabot.yml
check-jsonschema --builtin-schema vendor.github-actions .github/actions/setup/action.yml
cfn-lint deploy/bootstrap/bootstrap.yaml
echo "== contract tests (the scikit-learn 1.9-0 image's packages and toolkits, Python 3.12)"
contract_python=$(scripts/contract-venv.sh)
MLOPS_CONTRACT_VENV="$(cd "$(dirname "$contract_python")/.." && pwd)" python -m pytest -p no:xdist tests/contract
echo "== pytest"
python -m pytest -n auto --dist loadgroup --ignore=tests/contract "$@"
