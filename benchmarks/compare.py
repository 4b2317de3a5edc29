"""Run `mltc compare` over several seeds and write per-seed tables plus a mean/std summary.

    python benchmarks/compare.py --data reuters21578 --name reuters --seeds 42,43,44
    python benchmarks/compare.py --data reuters21578 --name reuters-per-label --decision per-label --min-labels 1

Writes benchmarks/results/<name>/seed-<s>/{table2,table3}.{md,csv}, results.json,
benchmarks/results/<name>/summary.{md,json} and, with --report, the first seed's HTML report in
benchmarks/results/<name>/report/. Data sets are read from --data-dir or
$MLTC_DATA_DIR (default ../shared/datasets).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from mltc.compare import DEFAULT_ROWS, run_compare
from mltc.data import load_dataset
from mltc.io import atomic_write_text, write_json
from mltc.report.builders import compare_report
from mltc.report.published import TABLE2
from mltc.report.tables import display_name
from mltc.training import TrainConfig

ROOT = Path(__file__).resolve().parent
COLS = [(g, m) for g in ("total", "head", "medium", "tail") for m in ("micro_f1", "macro_f1")]


def part(test: dict, g: str) -> dict:
    return test["total"] if g == "total" else test["groups"][g]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--data-dir", default=os.environ.get("MLTC_DATA_DIR", str(ROOT.parent.parent / "shared" / "datasets")))
    ap.add_argument("--name", required=True)
    ap.add_argument("--seeds", default="42,43,44")
    ap.add_argument("--rows", default=",".join(DEFAULT_ROWS))
    ap.add_argument("--model", default="tfidf-linear")
    ap.add_argument("--decision", default="global")
    ap.add_argument("--min-labels", type=int, default=0)
    ap.add_argument("--grid", default=None,
                    help="paper, wide or svm (default: paper for the loss rows, margins -1.0..1.0 for the SVM rows)")
    ap.add_argument("--report", action="store_true", help="also write the first seed's HTML report (figures embedded)")
    ap.add_argument("--report-only", action="store_true", help="rebuild the HTML report from the first seed's results.json")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    data = load_dataset(args.data, args.data_dir)
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = [r.strip() for r in args.rows.split(",")]
    options: dict = {"min_labels": args.min_labels} if args.min_labels else {}
    if args.grid:
        options["global_grid" if args.decision == "per-label" else "grid"] = args.grid
    out = ROOT / "results" / args.name
    if args.report_only:
        summary = json.loads((out / f"seed-{seeds[0]}" / "results.json").read_text())
        print(compare_report(summary, data, out / "report"))
        return
    per_seed = []
    started = time.time()
    for seed in seeds:
        base = TrainConfig(model=args.model, decision=args.decision, decision_options=dict(options), seed=seed)
        summary = run_compare(data, rows, base, out / f"seed-{seed}")
        if args.report and not per_seed:  # the HTML report (figures embedded) of the first seed
            compare_report(summary, data, out / "report")
        per_seed.append(summary)
        print(f"seed {seed}: {summary['total_seconds']:.0f}s", flush=True)
    agg = []
    for i, row in enumerate(rows):
        tests = [s["rows"][i]["test"] for s in per_seed]
        entry = {"row": row, "display": display_name(row),
                 "seconds_mean": float(np.mean([s["rows"][i]["seconds"] for s in per_seed]))}
        for g, m in COLS:
            vals = [part(t, g)[m] for t in tests]
            entry[f"{g}_{m}_mean"], entry[f"{g}_{m}_std"] = float(np.mean(vals)), float(np.std(vals))
        for label_group in tests[0]["by_num_labels"]:
            for m in ("micro_f1", "macro_f1"):
                vals = [t["by_num_labels"][label_group][m] for t in tests]
                entry[f"n{label_group}_{m}_mean"] = float(np.mean(vals))
        agg.append(entry)
    meta = {"data": args.data, "model": args.model, "decision": args.decision, "decision_options": options,
            "seeds": seeds, "rows": rows, "torch": torch.__version__, "threads": torch.get_num_threads(),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores",
            "wall_seconds": round(time.time() - started, 1),
            "command": "python benchmarks/compare.py " + " ".join(
                f"--{k.replace('_', '-')}" + ("" if v is True else f" {v}") for k, v in vars(args).items()
                if v not in (None, 0, False) and k != "data_dir")}
    write_json(out / "summary.json", {"meta": meta, "rows": agg})
    md = [f"# {args.data}: {args.model}, decision {args.decision} {options or ''}, seeds {args.seeds}", "",
          f"Command: `{meta['command']}`  ", f"Machine: {meta['machine']}, torch {torch.__version__}; "
          f"wall time {meta['wall_seconds']:.0f}s for {len(seeds)} seed(s) "
          f"({meta['wall_seconds'] / len(seeds):.0f}s per grid).", "",
          "Mean ± std over seeds, test split; '(paper)' rows are Huang et al. (2021): BERT-base, except their SVM row.", "",
          "| Row | Total Mi-F1 | Total Ma-F1 | Head Mi-F1 | Head Ma-F1 | Medium Mi-F1 | Medium Ma-F1 | Tail Mi-F1 | Tail Ma-F1 "
          "| Time (s) |",
          "|" + "---|" * 10]
    for e in agg:
        cells = [e["display"]] + [f"{e[f'{g}_{m}_mean']:.2f} ± {e[f'{g}_{m}_std']:.2f}" for g, m in COLS]
        md.append("| " + " | ".join(cells) + f" | {e['seconds_mean']:.1f} |")
        key = "svm" if e["row"] == "svm" else e["row"]
        if args.data == "reuters21578" and key in TABLE2:
            paper = TABLE2[key]
            cells = [display_name(key) + " (paper)"] + [
                "–" if g not in paper else f"{paper[g][0 if m == 'micro_f1' else 1]:.2f}" for g, m in COLS]
            md.append("| " + " | ".join(cells) + " | |")
    best_macro = max(agg, key=lambda e: e["total_macro_f1_mean"])
    best_micro = max(agg, key=lambda e: e["total_micro_f1_mean"])
    md += ["", f"Best total macro-F1: {best_macro['display']} ({best_macro['total_macro_f1_mean']:.2f}); "
               f"best total micro-F1: {best_micro['display']} ({best_micro['total_micro_f1_mean']:.2f})."]
    atomic_write_text(out / "summary.md", "\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
