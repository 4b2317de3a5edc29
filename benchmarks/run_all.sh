#!/usr/bin/env bash
# Regenerate every committed benchmark result (about two hours on 2 cores; the full-size synthetic
# corpus, 100k texts x 10k labels, is left out: add `synthetic` to the peers line to run it).
set -euo pipefail
cd "$(dirname "$0")/.."
export MLTC_DATA_DIR="${MLTC_DATA_DIR:-$(cd .. && pwd)/shared/datasets}"
PY=.venv/bin/python
# the default against its peers, every data set, whole commands in one run (needs: pip install -e .[bench]); each
# command three times in rounds, the median wall time reported (LibMultiLabel thresholding and the bce row once)
# (Reuters with three more seeds of the default: the README reports their mean)
$PY benchmarks/peers.py reuters21578 --timeout 900 --repeat 3 --once lml-thresholding mltc:bce --mltc-config "bce=--loss bce" --mltc-config "global=--decision global" \
    --mltc-config "seed1=--seed 1" --mltc-config "seed2=--seed 2" --mltc-config "seed3=--seed 3"
$PY benchmarks/peers.py reuters21578-all goemotions cail2019-divorce cail2019-labor cail2019-loan \
    synthetic-small synthetic-phrases synthetic-dense --timeout 900 --repeat 3 --once lml-thresholding mltc:bce --mltc-config "bce=--loss bce" --mltc-config "global=--decision global"
# four sets nobody tuned on, read as a new user would give them (CSV and TSV with '|' labels; fastText lines; JSON Lines)
UNSEEN=$(mktemp -d)
$PY benchmarks/make_unseen_sets.py "$UNSEEN"
# the eight benchmark sets and the four untuned ones, as every script below names them
BENCH_SETS=(reuters21578 reuters21578-all goemotions cail2019-divorce cail2019-labor cail2019-loan synthetic-small
    synthetic-phrases)
UNSEEN_SETS=(
    "files:cail2019-all=$UNSEEN/cail2019-all.train.csv,$UNSEEN/cail2019-all.validation.csv,$UNSEEN/cail2019-all.test.csv"
    "files:reuters-places=$UNSEEN/reuters-places.train.txt,$UNSEEN/reuters-places.validation.txt,$UNSEEN/reuters-places.test.txt"
    "files:reuters-people-orgs=$UNSEEN/reuters-people-orgs.train.tsv,$UNSEEN/reuters-people-orgs.validation.tsv,$UNSEEN/reuters-people-orgs.test.tsv"
    "files:reuters-titles=$UNSEEN/reuters-titles.train.jsonl,$UNSEEN/reuters-titles.validation.jsonl,$UNSEEN/reuters-titles.test.jsonl")
# the sets the sweeps below ran on, and the one added after them (many labels per text)
LATER_SETS=(synthetic-dense)
# how steady the default's decision is: every decision rule over three seeds (fits cached in a fresh folder: a
# cache from older code would score the rules on its fits)
STUDY_CACHE=$(mktemp -d)
$PY benchmarks/decision_study.py "${BENCH_SETS[@]}" "${LATER_SETS[@]}" "${UNSEEN_SETS[@]}" \
    --seeds 1 2 3 --cache "$STUDY_CACHE" --out benchmarks/results/decision_study
# the standard errors by which a later tier of candidates must win (two, the default; one; three), seeds 1-6
$PY benchmarks/decision_study.py "${BENCH_SETS[@]}" "${LATER_SETS[@]}" "${UNSEEN_SETS[@]}" \
    --seeds 1 2 3 4 5 6 --cache "$STUDY_CACHE" --out benchmarks/results/decision_study_se --rules auto "auto (one SE)" "auto 3se" cv cv+shift global
$PY benchmarks/peers.py "${UNSEEN_SETS[@]}" \
    --timeout 900 --repeat 3
# options of the default swept over data sets and seeds (the LIBLINEAR C; how texts are dealt into the folds)
$PY benchmarks/sweep.py "${BENCH_SETS[@]}" --config "C1=--C 1" --config "C0.5=--C 0.5" --config "C2=--C 2" --config "C4=--C 4" \
    --seeds 1 2 3 --out benchmarks/results/sweeps/C.md
$PY benchmarks/sweep.py "${BENCH_SETS[@]}" "${UNSEEN_SETS[@]}" \
    --config "random=--cv-split random" --config "stratified=--cv-split stratified" --seeds 1 2 3 4 5 6 \
    --out benchmarks/results/sweeps/cv-split.md
# the paper's Table 2/3 grid on Reuters (deterministic fit: one seed), timed as the whole compare
$PY benchmarks/compare.py --data reuters21578 --name reuters --seeds 42 --report
$PY benchmarks/bench_losses.py
$PY benchmarks/bench_lbfgs.py
MALLOC_MMAP_THRESHOLD_=268435456 MALLOC_TRIM_THRESHOLD_=536870912 $PY benchmarks/bench_losses.py --out losses-malloc-tuned
$PY benchmarks/bench_serving.py
$PY benchmarks/robustness_inputs.py
$PY benchmarks/robustness_model_folder.py
$PY benchmarks/bench_svm_backends.py --scale small --labels 24
$PY benchmarks/bench_svm_backends.py --scale full --labels 24 --out benchmarks/results/svm_backends_full.md
# the full-size synthetic corpus (100k texts, 10k labels) takes about 1.7 hours on 2 cores, so it is run on its own:
#   $PY benchmarks/peers.py synthetic --only mltc svm --timeout 6000
# (or re-run one row and keep the others, marked with their run: --only mltc --keep-rows)
$PY benchmarks/readme_tables.py
# not rerun here (10+ minutes of CPU fine-tuning): $PY benchmarks/bench_minilm.py
