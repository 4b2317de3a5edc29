"""The block L-BFGS of the logistic family (``--loss bce``) on the linear model: time, evaluations, peak RSS.

    python benchmarks/bench_lbfgs.py          # writes benchmarks/results/lbfgs.json and .md

One fit on all training texts under one global threshold (``--decision global`` on the paper's grid,
0.40..0.60: no cross-validation folds), on Reuters and on the short-phrase corpus (47k character n-grams x 1,292 labels, where the
dense features x labels work of the solver, not the passes over the data, is most of the time).
Each variant runs in its own process, so environment settings read at start-up apply and the peak
RSS is that fit's: the default; two curvature pairs fewer (``memory`` 5); PyTorch's transparent huge
pages (``THP_MEM_ALLOC_ENABLE=1``); glibc without ``mmap`` for large blocks (freed blocks reused).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "results"

VARIANTS = {
    "default": ({}, {}),
    "memory 5": ({"memory": 5}, {}),
    "THP_MEM_ALLOC_ENABLE=1": ({}, {"THP_MEM_ALLOC_ENABLE": "1"}),
    "glibc: no mmap": ({}, {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": "4000000000"}),
}

CHILD = r"""
import json, resource, sys, time
from mltc.data import load_files
from mltc.training import TrainConfig
from mltc.training.linear import LinearFitter
train, validation, options = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
data = load_files(train, validation)
started = time.perf_counter()
config = TrainConfig(loss="bce", decision="global", decision_options={"grid": "paper"}, solver_options=options)
clf = LinearFitter(config, progress=False).fit(data.train, data.validation)
seconds = time.perf_counter() - started
solver, val = clf.metrics["solver"], clf.metrics["validation"]
print(json.dumps({"seconds": round(seconds, 2), "evaluations": solver["objective_evaluations"],
                  "max_iterations": solver["max_iterations"], "features": solver["features"],
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                  "val_micro_f1": round(val["micro_f1"], 2), "val_macro_f1": round(val["macro_f1"], 2)}))
"""


def splits(name: str, folder: Path) -> tuple[str, str]:
    """The training and validation files of ``name`` as ``peers.py`` writes them."""
    sys.path.insert(0, str(HERE))
    import peers
    (folder / name).mkdir(parents=True)
    _, paths, _ = peers.prepare_splits(name, folder / name, "small")
    return str(paths["train"]), str(paths["validation"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("datasets", nargs="*", default=["reuters21578", "synthetic-phrases"])
    ap.add_argument("--repeat", type=int, default=3, help="rounds over the variants; the median time is reported")
    ap.add_argument("--out", default="lbfgs")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.datasets:
            train, validation = splits(name, Path(tmp))
            runs: dict[str, list[dict]] = {v: [] for v in VARIANTS}
            for _ in range(args.repeat):  # rounds, so that drift in the machine's load hits every variant alike
                for variant, (options, env) in VARIANTS.items():
                    proc = subprocess.run([sys.executable, "-c", CHILD, train, validation, json.dumps(options)],
                                          env={**os.environ, **env}, capture_output=True, text=True, check=True)
                    run = json.loads(proc.stdout.strip().splitlines()[-1])
                    print(name, variant, run, flush=True)
                    runs[variant].append(run)
            for variant, done in runs.items():
                times = sorted(r["seconds"] for r in done)
                row = {**done[0], "seconds": times[len(times) // 2], "all_seconds": [r["seconds"] for r in done],
                       "peak_rss_mb": max(r["peak_rss_mb"] for r in done)}
                rows.append({"dataset": name, "variant": variant, **row})
    for row in rows:
        base = next(r for r in rows if r["dataset"] == row["dataset"] and r["variant"] == "default")
        row["time_ratio"] = round(row["seconds"] / base["seconds"], 2)
        row["rss_ratio"] = round(row["peak_rss_mb"] / base["peak_rss_mb"], 2)
    from mltc.io import atomic_write_text, write_json
    OUT.mkdir(parents=True, exist_ok=True)
    write_json(OUT / f"{args.out}.json", {"rows": rows, "machine": platform.machine(), "cpus": os.cpu_count()})
    md = ["# The logistic family's block L-BFGS (one fit, `--loss bce --decision global`)", "",
          f"Command: `python benchmarks/bench_lbfgs.py`; {platform.machine()}, {os.cpu_count()} cores; each run in "
          f"its own process, {args.repeat} rounds over the variants, the median time and the largest peak RSS "
          "(single runs move by about 25% on this shared machine).", "",
          "| data set | variant | seconds | × default | evaluations | peak RSS MB | × default | validation micro / macro-F1 |",
          "|---|---|---:|---:|---:|---:|---:|---|"]
    md += [f"| {r['dataset']} ({r['features']} features) | {r['variant']} | {r['seconds']} | {r['time_ratio']:.2f} | "
           f"{r['evaluations']} | {r['peak_rss_mb']} | {r['rss_ratio']:.2f} | {r['val_micro_f1']} / {r['val_macro_f1']} |"
           for r in rows]
    atomic_write_text(OUT / f"{args.out}.md", "\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
