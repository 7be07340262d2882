#!/usr/bin/env bash
# Builds .venv-contract: Python 3.12 with the scikit-learn 1.9-0 image's packages
# (tests/contract/requirements-sklearn-1.9-0.txt) and the image's patch to them, where the
# contract tests run the container side (training toolkit, processing entry point, serving
# handler chain). Rebuilt only when that file or this script changes: a stamp of their sha256
# sits in the venv. Prints the venv's python.
# Python: $CONTRACT_PYTHON, else python3.12 on PATH, else pyenv's newest 3.12.
set -euo pipefail
self=$(realpath "$0")
cd "$(dirname "$self")/.."
requirements=tests/contract/requirements-sklearn-1.9-0.txt
venv=${CONTRACT_VENV:-.venv-contract}
stamp="$venv/.requirements.sha256"
want=$(cat "$requirements" "$self" | sha256sum | cut -d' ' -f1)
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x "$venv/bin/python" ]]; then
  echo "$venv/bin/python"
  exit 0
fi
is_312() { "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null; }
python=${CONTRACT_PYTHON:-python3.12}
if ! is_312 "$python" && [[ -z "${CONTRACT_PYTHON:-}" ]] && command -v pyenv >/dev/null; then
  version=$(pyenv versions --bare | grep -E '^3\.12(\.[0-9]+)?$' | sort -V | tail -1 || true)
  [[ -n "$version" ]] && python="$(pyenv root)/versions/$version/bin/python3.12"
fi
if ! is_312 "$python"; then
  echo "contract-venv: need Python 3.12 (the image's); set CONTRACT_PYTHON to one" >&2
  exit 2
fi
rm -rf "$venv"
"$python" -m venv "$venv" >&2
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -r "$requirements" >&2
# sagemaker-containers and sagemaker-training both ship a `train` command; training jobs are the
# latter's, so it is installed last.
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --force-reinstall \
  "$(grep -i '^sagemaker-training==' "$requirements")" >&2
# The image patches sagemaker-containers for Python 3.10+ (collections.Mapping moved to
# collections.abc); without it the serving stack cannot be imported.
site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
sed -i 's/collections\.Mapping/collections.abc.Mapping/g' "$site/sagemaker_containers/_mapping.py"
# No `pip check`: the image overrides sagemaker-containers' Flask 1.1.1 pin with Flask 3.1.3, as here.
"$venv/bin/python" -c "import sagemaker_training, sagemaker_containers.beta.framework, sagemaker_inference, sklearn" >&2
echo "$want" > "$stamp"
echo "$venv/bin/python"
