#!/usr/bin/env bash
# Create .venv and install mltc with everything it needs, from scratch.
# torch is pinned to the 2.13.0 CPU build first (an unpinned torch pulls gigabytes of CUDA).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q "torch==2.13.0"
.venv/bin/python -m pip install -q -c constraints.txt -e ".[test]"
.venv/bin/python -m pip check
