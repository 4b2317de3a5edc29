"""Copy benchmark tables from benchmarks/results/*.md into README.md between markers.

    python benchmarks/readme_tables.py

A block ``<!-- table:NAME -->`` ... ``<!-- /table:NAME -->`` in the README receives the
Markdown table of ``benchmarks/results/NAME`` (a file, or a folder's summary.md), so the
README quotes committed results only.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


PEER_ROWS = ("mltc", "svm", "lml-thresholding")
PEER_ORDER = ("reuters21578", "reuters21578-all", "goemotions", "cail2019-divorce", "cail2019-labor",
              "cail2019-loan", "synthetic-small", "synthetic", "synthetic-phrases", "synthetic-dense")


def peers_table() -> str:
    """One compact table over every data set of benchmarks/results/peers/*.json: mltc's default beside
    the LinearSVC and LibMultiLabel rows (micro-F1, macro-F1, tail macro-F1, P@1, labels per text,
    whole-command seconds and the ratio to the svm command of the same run)."""
    folder = ROOT / "benchmarks" / "results" / "peers"
    runs = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in folder.glob("*.json")}
    lines = ["| data set (labels) | contender | micro-F1 | macro-F1 | tail macro-F1 | P@1 | labels/text (gold) | seconds "
             "| × svm |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name in sorted(runs, key=lambda n: PEER_ORDER.index(n) if n in PEER_ORDER else 99):
        run = runs[name]
        rows = {c["name"]: c for c in run["contenders"]}
        svm_s = rows.get("svm", {}).get("wall_seconds")
        # † a time measured in another run of the script than the mltc row's (peers.py --keep-rows keeps rows
        # of earlier runs, each with the start of its run), on a ratio: than the svm row's, so it spans two runs
        run_of = {k: v.get("kept_from_run") for k, v in rows.items()}
        seeds = [c for k, c in rows.items() if (k == "mltc" or k.startswith("mltc:seed")) and c.get("status") == "ok"]
        for row in PEER_ROWS:
            if row == "svm" and len(seeds) > 1:
                lines.append(seeds_row(seeds, svm_s))
            c = rows.get(row)
            if c is None:
                continue
            label = f"{name} ({run['gold']['train_labels']})" if row == PEER_ROWS[0] else ""
            if c.get("status") != "ok" or "metrics" not in c:
                lines.append(f"| {label} | {row} | {c.get('status')} | | | | | {c.get('wall_seconds', 0):.0f} | |")
                continue
            m = c["metrics"]
            tail = m["groups"].get("tail", {}).get("macro_f1") if m.get("groups") else None
            ratio = (f"{c['wall_seconds'] / svm_s:.2f}{'†' if run_of[row] != run_of.get('svm') else ''}"
                     if svm_s else "")
            other_run = "†" if run_of[row] != run_of.get("mltc") else ""
            lines.append(f"| {label} | {'**mltc**' if row == 'mltc' else row} | {m['total']['micro_f1']:.2f} | "
                         f"{m['total']['macro_f1']:.2f} | {'' if tail is None else f'{tail:.2f}'} | "
                         f"{m['ranking']['P@1']:.2f} | {m['labels_per_text']:.2f} ({run['gold']['gold_labels_per_text']:.2f}) | "
                         f"{c['wall_seconds']:.1f}{other_run} | {ratio} |")
    return "\n".join(lines)


def seeds_row(runs: list[dict], svm_s: float | None) -> str:
    """mltc's default over several seeds (the ``mltc`` row and ``mltc:seedN`` variants): mean ± std."""
    import numpy as np

    def col(get) -> str:
        v = np.array([get(c["metrics"]) for c in runs], dtype=float)
        return f"{v.mean():.2f} ± {v.std(ddof=1):.2f}"

    secs = np.mean([c["wall_seconds"] for c in runs])
    return (f"|  | mltc, mean of {len(runs)} seeds | {col(lambda m: m['total']['micro_f1'])} | "
            f"{col(lambda m: m['total']['macro_f1'])} | {col(lambda m: m['groups']['tail']['macro_f1'])} | "
            f"{col(lambda m: m['ranking']['P@1'])} | {np.mean([c['metrics']['labels_per_text'] for c in runs]):.2f} | "
            f"{secs:.1f} | {f'{secs / svm_s:.2f}' if svm_s else ''} |")


def table_of(name: str) -> str:
    if name == "peers":
        return peers_table()
    path = ROOT / "benchmarks" / "results" / name
    if path.is_dir():
        path = path / "summary.md"
    lines = path.read_text(encoding="utf-8").splitlines()
    rows = [l for l in lines if l.startswith("|")]
    return "\n".join(rows)


def main() -> None:
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")

    def fill(m: re.Match) -> str:
        return f"<!-- table:{m.group(1)} -->\n{table_of(m.group(1))}\n<!-- /table:{m.group(1)} -->"

    new = re.sub(r"<!-- table:(\S+) -->.*?<!-- /table:\1 -->", fill, text, flags=re.S)
    readme.write_text(new, encoding="utf-8")
    print("README tables updated" if new != text else "README tables already current")


if __name__ == "__main__":
    main()
