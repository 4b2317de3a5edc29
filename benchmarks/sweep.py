"""One option of the default, swept over data sets and seeds: is another value better everywhere?

Each configuration (``NAME=FLAGS``, flags added to ``mltc train``) is run with each seed on each
data set through ``benchmarks/peers.py`` (the same split files, the same scoring code), and the
summary gives, per data set, the mean and standard deviation over the seeds of micro-F1,
macro-F1, tail macro-F1, predicted labels per text and wall seconds, then each configuration's
mean difference to the first one over all data sets. Seeds change the cross-validation folds,
the bootstrap and the solver's random order; the split is each data set's fixed one.

    python benchmarks/sweep.py reuters21578 goemotions --config "C1=--C 1" --config "C2=--C 2" \
        --seeds 1 2 3 --out benchmarks/results/sweeps/C.md
"""
from __future__ import annotations

import argparse
import json
import shlex
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from peers import parse_config, short_name  # noqa: E402

METRICS = (("micro-F1", lambda m: m["total"]["micro_f1"]), ("macro-F1", lambda m: m["total"]["macro_f1"]),
           ("tail macro-F1", lambda m: m["groups"]["tail"]["macro_f1"] if m["groups"]["tail"]["num_labels"] else 0.0),
           ("labels/text", lambda m: m["labels_per_text"]))


def run(datasets: list[str], configs: list[tuple[str, list[str]]], seeds: list[int], results: Path,
        extra: list[str]) -> dict[str, dict[str, list[dict]]]:
    """``{data set: {config: [row per seed]}}`` from one peers.py run per data set."""
    got: dict[str, dict[str, list[dict]]] = {}
    for name in datasets:
        rows = [f"{c}@{s}={shlex.join([*flags, '--seed', str(s)])}" for c, flags in configs for s in seeds]
        only = [f"mltc:{r.split('=', 1)[0]}" for r in rows]
        cmd = [sys.executable, str(HERE / "peers.py"), name, "--peers", "--results", str(results), "--only", *only,
               *[a for r in rows for a in ("--mltc-config", r)], *extra]
        print("$", shlex.join(cmd), flush=True)
        subprocess.run(cmd, check=True)
        result = json.loads(max(results.glob("*.json"), key=lambda p: p.stat().st_mtime).read_text())
        per: dict[str, list[dict]] = {c: [] for c, _ in configs}
        for row in result["contenders"]:
            config = row["name"].removeprefix("mltc:").rsplit("@", 1)[0]
            if row.get("status") != "ok":
                raise SystemExit(f"{name}: {row['name']} {row.get('status')}")
            per[config].append(row)
        got[result["dataset"]] = per
    return got


def value(row: dict, metric) -> float:
    return float(metric(row["metrics"]))


def summary(got: dict[str, dict[str, list[dict]]], configs: list[tuple[str, list[str]]], seeds: list[int],
            command: str) -> str:
    names = [c for c, _ in configs]
    shown = ", ".join(f"`{c}` = `{shlex.join(f) or '(default)'}`" for c, f in configs)
    lines = [f"# Sweep: {shown}", "",
             f"Seeds {', '.join(map(str, seeds))}; test scores, mean ± standard deviation over the seeds; seconds: "
             f"median wall time of one `mltc train` command. Made by:", "", f"    {command}", "",
             "| data set | config | micro-F1 | macro-F1 | tail macro-F1 | labels/text | seconds |",
             "|---|---|---:|---:|---:|---:|---:|"]
    diffs: dict[str, dict[str, list[float]]] = {c: {m: [] for m, _ in METRICS} for c in names}
    for ds, per in got.items():
        base = {m: statistics.mean(value(r, f) for r in per[names[0]]) for m, f in METRICS}
        for i, c in enumerate(names):
            cells = []
            for m, f in METRICS:
                xs = [value(r, f) for r in per[c]]
                mu = statistics.mean(xs)
                sd = statistics.stdev(xs) if len(xs) > 1 else 0.0
                cells.append(f"{mu:.2f} ± {sd:.2f}" if m != "labels/text" else f"{mu:.2f}")
                diffs[c][m].append(mu - base[m])
            secs = statistics.median(r["wall_seconds"] for r in per[c])
            lines.append(f"| {ds if i == 0 else ''} | {c} | {' | '.join(cells)} | {secs:.1f} |")
    lines += ["", f"Mean difference to `{names[0]}` over the {len(got)} data sets (points), "
              "and on how many sets it is ≥ 0:", "",
              "| config | " + " | ".join(m for m, _ in METRICS[:3]) + " |", "|---|" + "---:|" * 3]
    for c in names[1:]:
        cells = [f"{statistics.mean(diffs[c][m]):+.2f} ({sum(d >= 0 for d in diffs[c][m])}/{len(diffs[c][m])})"
                 for m, _ in METRICS[:3]]
        lines.append(f"| {c} | {' | '.join(cells)} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("datasets", nargs="+", help="Data sets as peers.py names them.")
    ap.add_argument("--config", action="append", type=parse_config, required=True, metavar="NAME=FLAGS",
                    help="A configuration (repeatable; the first is the baseline of the differences).")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--out", type=Path, required=True, help="Markdown summary (a .json beside it holds the rows).")
    ap.add_argument("--peers-arg", action="append", default=[], help="Extra argument for peers.py (repeatable).")
    ap.add_argument("--render", type=Path, help="Only write --out again from this sweep's .json (no runs).")
    args = ap.parse_args()
    if any("@" in c or ":" in c for c, _ in args.config):
        ap.error("configuration names may not contain '@' or ':'")
    if args.render:
        got = json.loads(args.render.read_text())
    else:
        with tempfile.TemporaryDirectory(prefix="mltc-sweep-") as tmp:
            got = run(args.datasets, args.config, args.seeds, Path(tmp), args.peers_arg)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    shown = [f"files:{short_name(d)}=..." if d.startswith("files:") else d for d in args.datasets]  # no temporary paths
    command = "python benchmarks/sweep.py " + shlex.join(
        [*shown, *[a for c, f in args.config for a in ("--config", f"{c}={shlex.join(f)}")],
         "--seeds", *map(str, args.seeds), "--out", str(args.out), *[a for p in args.peers_arg for a in ("--peers-arg", p)]])
    args.out.write_text(summary(got, args.config, args.seeds, command))
    if not args.render:
        args.out.with_suffix(".json").write_text(json.dumps(
            {ds: {c: [{**{k: r.get(k) for k in ("name", "command", "wall_seconds", "peak_rss_mb", "metrics")},
                       "decision": (r.get("mltc") or {}).get("decision")} for r in rows]
                  for c, rows in per.items()} for ds, per in got.items()}, indent=1) + "\n")
    print(args.out.read_text())


if __name__ == "__main__":
    main()
