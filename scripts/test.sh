#!/usr/bin/env bash
# The test command: sets up .venv with the dev tools, then lint, config checks, workflow and
# template checks, and the whole pytest suite (unit, end to end). Arguments go to pytest.
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
echo "== pytest"
python -m pytest -n auto "$@"
