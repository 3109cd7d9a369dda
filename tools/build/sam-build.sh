#!/usr/bin/env bash
# `pipenv run build`: `sam build` of the layer and every zip function, with no Docker (the root
# Makefile installs the wheels of Lambda's platform). The container-image functions need Docker to
# build and are left out here. Also puts what Lambda's runtime provides (boto3) beside the build, for
# the artifact test's import check.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [[ ! -x .venv-build/bin/sam ]]; then
  python3 -m venv .venv-build
  .venv-build/bin/pip install --quiet --disable-pip-version-check -r tools/build/requirements.txt
fi
export PATH="$PWD/.venv-build/bin:$PATH" SAM_CLI_TELEMETRY=0

# pdqhash ships only a source distribution: the Makefile compiles it with the runtime's Python.
RUNTIME_PYTHON=$(python3 tools/build/runtime_python.py)
export RUNTIME_PYTHON

images=$(python3 -c 'from pathlib import Path; from aperture_local.template import Template
print(" ".join(f"--exclude {f.logical_id}" for f in Template(Path("template.yaml")).functions() if f.image))')
# shellcheck disable=SC2086
sam build --parallel $images

boto3=$(python3 -c 'import json; print(json.load(open("Pipfile.lock"))["default"]["boto3"]["version"])')
python3 -m pip install --quiet --disable-pip-version-check --no-compile --only-binary=:all: \
  --platform manylinux2014_x86_64 --implementation cp --python-version 3.12 \
  --no-warn-conflicts --target .aws-sam/lambda-runtime "boto3$boto3"
echo "built: .aws-sam/build (layer and zip functions), .aws-sam/lambda-runtime (boto3 as Lambda provides it)"
