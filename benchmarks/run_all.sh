#!/usr/bin/env bash
# Regenerate every committed benchmark result (about 25 minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
export MLTC_DATA_DIR="${MLTC_DATA_DIR:-$(cd .. && pwd)/shared/datasets}"
PY=.venv/bin/python
$PY benchmarks/bench_losses.py
$PY benchmarks/ablation_linear.py
$PY benchmarks/compare.py --data reuters21578 --name reuters --seeds 42,43,44
$PY benchmarks/compare.py --data reuters21578 --name reuters-per-label --decision per-label --min-labels 1 --seeds 42,43,44
$PY benchmarks/compare.py --data goemotions --name goemotions --seeds 42
for d in divorce labor loan; do
  $PY benchmarks/compare.py --data cail2019-$d --name cail2019-$d --seeds 42
done
.venv/bin/python benchmarks/bench_serving.py
