"""Forward + backward time of every loss preset against BCE at PubMed's label count.

    python benchmarks/bench_losses.py            # writes benchmarks/results/losses.json and .md

Target (issue 2): every preset within 1.5x BCE at 32 texts x 18,211 labels.
"""
from __future__ import annotations

import argparse
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from mltc.io import atomic_write_text, write_json
from mltc.losses import DISPLAY_NAMES, LOSS_NAMES, make_loss

OUT = Path(__file__).resolve().parent / "results"


def time_loss(loss, logits, targets, repeats: int) -> float:
    times = []
    for _ in range(repeats + 3):
        z = logits.detach().clone().requires_grad_(True)
        t0 = time.perf_counter()
        loss(z, targets).backward()
        times.append(time.perf_counter() - t0)
    return float(np.median(times[3:]))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--labels", type=int, default=18211)
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    g = torch.Generator().manual_seed(0)
    freq = torch.randint(1, 5000, (args.labels,), generator=g).float()
    n = 224_897
    logits = (torch.randn(args.batch, args.labels, generator=g) * 3).to(args.device)
    targets = (torch.rand(args.batch, args.labels, generator=g) < 0.001).float().to(args.device)
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        losses = {name: make_loss(name, freq, n, preset="pubmed").to(args.device) for name in LOSS_NAMES}
    base = time_loss(losses["bce"], logits, targets, args.repeats)
    for name, loss in losses.items():
        t = time_loss(loss, logits, targets, args.repeats)
        rows.append({"loss": DISPLAY_NAMES[name], "ms": round(1000 * t, 3), "ratio_to_bce": round(t / base, 3)})
        print(f"{DISPLAY_NAMES[name]:<8} {1000 * t:8.3f} ms  {t / base:5.2f}x BCE", flush=True)
    worst = max(r["ratio_to_bce"] for r in rows)
    print(f"worst ratio {worst:.2f}x (target <= 1.5x): {'met' if worst <= 1.5 else 'MISSED'}")
    meta = {"command": "python benchmarks/bench_losses.py", "batch": args.batch, "labels": args.labels,
            "repeats": args.repeats, "device": args.device, "torch": torch.__version__, "threads": torch.get_num_threads(),
            "machine": platform.machine(), "python": sys.version.split()[0], "worst_ratio": worst, "target": 1.5}
    OUT.mkdir(parents=True, exist_ok=True)
    write_json(OUT / "losses.json", {"meta": meta, "rows": rows})
    md = [f"# Loss speed: forward + backward, {args.batch} x {args.labels} ({args.device}, torch {torch.__version__})", "",
          f"Command: `{meta['command']}`. Median of {args.repeats} runs.", "", "| loss | ms | x BCE |", "|---|---|---|"]
    md += [f"| {r['loss']} | {r['ms']:.2f} | {r['ratio_to_bce']:.2f} |" for r in rows]
    md += ["", f"Worst ratio {worst:.2f}x; target 1.5x: {'met' if worst <= 1.5 else 'missed'}."]
    atomic_write_text(OUT / "losses.md", "\n".join(md) + "\n")


if __name__ == "__main__":
    main()
