#!/usr/bin/env bash
# A plain install works: .venv-core gets torch and `pip install .` with NO extras (no Accelerate,
# transformers, FastAPI or ONNX); `mltc train` and `mltc predict` must then run on a tiny file.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${PYTHON:-python3}
VENV="$ROOT/.venv-core"
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip install -q --no-compile)  # no .pyc pass over torch: the check stays fast
"${PIP[@]}" "torch==2.13.0"
"${PIP[@]}" -c constraints.txt .
for extra in accelerate transformers fastapi uvicorn onnx; do
  if "$VENV/bin/python" -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('$extra') is None)"; then
    echo "check_core_install: $extra is installed in .venv-core, so this check proves nothing" >&2
    exit 1
  fi
done
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cd "$TMP"  # run the installed package, not the source tree
cat > train.jsonl <<'JSONL'
{"text": "wheat prices rose as grain exports grew", "labels": ["grain", "wheat"]}
{"text": "corn and wheat harvest grain report", "labels": ["grain", "wheat"]}
{"text": "oil prices fell crude output up", "labels": ["crude"]}
{"text": "crude oil tanker attacked in gulf", "labels": ["crude"]}
{"text": "company reports quarterly earnings profit", "labels": ["earn"]}
{"text": "net profit and earnings per share rose", "labels": ["earn"]}
JSONL
cat > val.jsonl <<'JSONL'
{"text": "wheat grain exports", "labels": ["grain", "wheat"]}
{"text": "crude oil prices", "labels": ["crude"]}
{"text": "earnings per share profit", "labels": ["earn"]}
JSONL
"$VENV/bin/mltc" train --train train.jsonl --validation val.jsonl --out run
printf 'wheat grain\ncrude oil\n' | "$VENV/bin/mltc" predict run/model - --top-k 1 > predictions.jsonl
[ "$(wc -l < predictions.jsonl)" -eq 2 ] || { echo "check_core_install: expected 2 predictions" >&2; exit 1; }
echo "check_core_install: plain install trains and predicts"
