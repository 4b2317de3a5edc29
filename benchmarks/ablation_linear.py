"""Why the default CPU model is what it is: optimiser, n-grams and threshold grid on Reuters.

    python benchmarks/ablation_linear.py       # writes benchmarks/results/ablation_linear.{json,md}

Each row trains ``tfidf-linear`` with one change from the defaults (SGD, unigram TF-IDF,
global threshold on the wide 0.01..0.99 grid) and reports test micro/macro-F1, with the
validation micro-F1 that early stopping saw.
"""
from __future__ import annotations

import os
import time
import warnings
from pathlib import Path

from mltc.data import load_dataset
from mltc.io import atomic_write_text, write_json
from mltc.training import TrainConfig, train

ROOT = Path(__file__).resolve().parent
ROWS = [
    ("default: SGD lr 4, unigrams, wide grid", {}),
    ("AdamW lr 0.1 (per-feature steps)", {"optimizer": "adamw", "lr": 0.1}),
    ("AdamW lr 0.02", {"optimizer": "adamw", "lr": 0.02}),
    ("AdamW lr 0.1 + weight decay 0.01", {"optimizer": "adamw", "lr": 0.1, "weight_decay": 0.01}),
    ("SGD, word 1-2 grams", {"featurizer_options": {"ngram_range": [1, 2]}}),
    ("SGD lr 1.5", {"lr": 1.5}),
    ("paper grid 0.40..0.60", {"decision_options": {"grid": "paper"}}),
    ("per-label thresholds, >= 1 label", {"decision": "per-label", "decision_options": {"min_labels": 1}}),
]


def main() -> None:
    warnings.simplefilter("ignore")
    data = load_dataset("reuters21578", os.environ.get("MLTC_DATA_DIR", str(ROOT.parent.parent / "shared" / "datasets")))
    rows = []
    for loss in ("bce", "ntr-fl"):
        for name, change in ROWS:
            t0 = time.time()
            clf = train(data.train, data.validation, TrainConfig(loss=loss, **change), labels=data.labels)
            rep = clf.evaluate(data.test)
            rows.append({"loss": loss, "setting": name, "val_micro_f1": clf.metrics["validation"]["micro_f1"],
                         "test_micro_f1": rep["total"]["micro_f1"], "test_macro_f1": rep["total"]["macro_f1"],
                         "tail_macro_f1": rep["groups"]["tail"]["macro_f1"], "best_epoch": clf.metrics["best_epoch"],
                         "seconds": round(time.time() - t0, 1)})
            print(rows[-1], flush=True)
    write_json(ROOT / "results" / "ablation_linear.json", {"command": "python benchmarks/ablation_linear.py", "rows": rows})
    md = ["# tfidf-linear on Reuters: one change at a time (seed 42)", "", "Command: `python benchmarks/ablation_linear.py`", "",
          "| loss | setting | val Mi-F1 | test Mi-F1 | test Ma-F1 | tail Ma-F1 | best epoch | s |", "|---|---|---|---|---|---|---|---|"]
    md += [f"| {r['loss']} | {r['setting']} | {r['val_micro_f1']:.2f} | {r['test_micro_f1']:.2f} | {r['test_macro_f1']:.2f} | "
           f"{r['tail_macro_f1']:.2f} | {r['best_epoch']} | {r['seconds']} |" for r in rows]
    atomic_write_text(ROOT / "results" / "ablation_linear.md", "\n".join(md) + "\n")


if __name__ == "__main__":
    main()
