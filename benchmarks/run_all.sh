#!/usr/bin/env bash
# Regenerate every committed benchmark result (about 25 minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
export MLTC_DATA_DIR="${MLTC_DATA_DIR:-$(cd .. && pwd)/shared/datasets}"
PY=.venv/bin/python
$PY benchmarks/bench_losses.py
MALLOC_MMAP_THRESHOLD_=268435456 MALLOC_TRIM_THRESHOLD_=536870912 $PY benchmarks/bench_losses.py --out losses-malloc-tuned
$PY benchmarks/ablation_linear.py
$PY benchmarks/compare.py --data reuters21578 --name reuters --seeds 42,43,44 --report
$PY benchmarks/compare.py --data reuters21578 --name reuters-per-label --decision per-label --min-labels 1 --seeds 42,43,44 --report
$PY benchmarks/compare.py --data goemotions --name goemotions --seeds 42
for d in divorce labor loan; do
  $PY benchmarks/compare.py --data cail2019-$d --name cail2019-$d --seeds 42
done
$PY benchmarks/bench_serving.py
$PY benchmarks/bench_minilm.py
$PY benchmarks/compare.py --data goemotions --name goemotions-per-label --decision per-label --seeds 42
for d in divorce labor loan; do
  $PY benchmarks/compare.py --data cail2019-$d --name cail2019-$d-per-label --decision per-label --seeds 42
done
$PY benchmarks/readme_tables.py
