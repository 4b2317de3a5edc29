"""Paper-style tables (Markdown, CSV, JSON) from evaluation reports."""
from __future__ import annotations

import csv
import io
from typing import Any, Sequence

from ..losses import DISPLAY_NAMES
from .published import TABLE2, TABLE3

GROUPS = ("total", "head", "medium", "tail")


def display_name(row: str) -> str:
    if row.startswith("svm"):
        return row.upper().replace("SVM-", "SVM ").replace("-", " ")
    return DISPLAY_NAMES.get(row, row)


def _fmt(v: float | None) -> str:
    return "–" if v is None else f"{v:.2f}"


def table2_rows(results: Sequence[dict[str, Any]], published: bool = True) -> list[dict[str, Any]]:
    """One dict per row: ours, then the paper's numbers for the same row where they exist."""
    rows = []
    for r in results:
        ev = r["test"]
        row = {"row": display_name(r["name"]), "source": "mltc", "seconds": r.get("seconds")}
        for g in GROUPS:
            part = ev["total"] if g == "total" else ev.get("groups", {}).get(g, {})
            row[f"{g}_micro_f1"], row[f"{g}_macro_f1"] = part.get("micro_f1"), part.get("macro_f1")
        rows.append(row)
        key = "svm" if r["name"].startswith("svm") else r["name"]
        if published and key in TABLE2 and (key != "svm" or r["name"] == "svm"):
            paper: dict[str, Any] = {"row": display_name(key) + " (paper)", "source": "paper", "seconds": None}
            for g in GROUPS:
                mi, ma = TABLE2[key].get(g, (None, None))
                paper[f"{g}_micro_f1"], paper[f"{g}_macro_f1"] = mi, ma
            rows.append(paper)
    return rows


def table3_rows(results: Sequence[dict[str, Any]], published: bool = True) -> list[dict[str, Any]]:
    rows = []
    for r in results:
        groups = r["test"]["by_num_labels"]
        row: dict[str, Any] = {"row": display_name(r["name"]), "source": "mltc"}
        for g, v in groups.items():
            row[f"{g}_micro_f1"], row[f"{g}_macro_f1"], row[f"{g}_texts"] = v["micro_f1"], v["macro_f1"], v["num_texts"]
        rows.append(row)
        if published and r["name"] in TABLE3:
            paper: dict[str, Any] = {"row": display_name(r["name"]) + " (paper)", "source": "paper"}
            for g, (mi, ma) in TABLE3[r["name"]].items():
                paper[f"{g}_micro_f1"], paper[f"{g}_macro_f1"] = mi, ma
            rows.append(paper)
    return rows


def markdown_table2(rows: Sequence[dict[str, Any]]) -> str:
    head = ("| Row | Total Mi-F1 | Total Ma-F1 | Head Mi-F1 | Head Ma-F1 | Medium Mi-F1 | Medium Ma-F1 | Tail Mi-F1 "
            "| Tail Ma-F1 | Time (s) |")
    lines = [head, "|" + "---|" * 10]
    for r in rows:
        cells = [r["row"]] + [_fmt(r.get(f"{g}_{m}_f1")) for g in GROUPS for m in ("micro", "macro")]
        cells.append("" if r.get("seconds") is None else f"{r['seconds']:.1f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown_table3(rows: Sequence[dict[str, Any]]) -> str:
    groups: list[str] = []
    for r in rows:
        for k in r:
            if k.endswith("_micro_f1") and k[: -len("_micro_f1")] not in groups:
                groups.append(k[: -len("_micro_f1")])
    head = "| Row | " + " | ".join(f"{g} label(s) Mi-F1 | {g} label(s) Ma-F1" for g in groups) + " |"
    lines = [head, "|" + "---|" * (1 + 2 * len(groups))]
    for r in rows:
        cells = [r["row"]] + [_fmt(r.get(f"{g}_{m}_f1")) for g in groups for m in ("micro", "macro")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def to_csv(rows: Sequence[dict[str, Any]]) -> str:
    keys: list[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=keys, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if r.get(k) is None else (round(r[k], 4) if isinstance(r.get(k), float) else r[k])) for k in keys})
    return buf.getvalue()


def format_evaluation(report: dict[str, Any], per_label: int = 0) -> str:
    """Plain-text rendering of one :func:`mltc.metrics.evaluate` report."""
    lines = [f"texts: {report['num_texts']}   labels: {report['num_labels']}"]
    lines.append(f"{'part':<22}{'Mi-P':>8}{'Mi-R':>8}{'Mi-F1':>8}{'Ma-P':>8}{'Ma-R':>8}{'Ma-F1':>8}")

    def line(name, m):
        keys = ("micro_p", "micro_r", "micro_f1", "macro_p", "macro_r", "macro_f1")
        return f"{name:<22}" + "".join(f"{m[k]:>8.2f}" for k in keys)

    lines.append(line("total", report["total"]))
    for g, m in report.get("groups", {}).items():
        lines.append(line(f"{g} ({m['num_labels']} labels)", m))
    for g, m in report.get("by_num_labels", {}).items():
        lines.append(line(f"{g} gold ({m['num_texts']} texts)", m))
    if report.get("ranking"):
        lines.append("ranking (texts with a gold label seen in training): "
                     + "  ".join(f"{k} {v:.2f}" for k, v in report["ranking"].items()))
        if report.get("ranking_all_texts") and report["ranking_all_texts"] != report["ranking"]:
            lines.append("ranking (all texts): " + "  ".join(f"{k} {v:.2f}" for k, v in report["ranking_all_texts"].items()))
    if report.get("unseen_labels"):
        n = sum(report["unseen_labels"].values())
        names = sorted(report["unseen_labels"])
        more = f", ... {len(names) - 10} more" if len(names) > 10 else ""
        lines.append(f"labels unseen in training: {len(names)} ({n} occurrences on "
                     f"{report['texts_with_unseen_labels']} texts), not predictable: {', '.join(names[:10])}{more}")
        if report.get("total_with_unseen"):
            lines.append(f"micro-F1 counting them as misses: {report['total_with_unseen']['micro_f1']:.2f} "
                         f"(the table above leaves them out)")
    if report.get("confused_pairs"):
        lines.append("most confused (predicted <- gold): " + ", ".join(
            f"{p['predicted']}<-{p['gold']} {p['count']}" for p in report["confused_pairs"][:5]))
    if per_label:
        lines.append(f"{'label':<20}{'train n':>8}{'support':>8}{'P':>8}{'R':>8}{'F1':>8}")
        for p in report["per_label"][:per_label]:
            lines.append(f"{p['label'][:19]:<20}{p['train_freq'] or 0:>8}{p['support']:>8}{p['precision']:>8.2f}"
                         f"{p['recall']:>8.2f}{p['f1']:>8.2f}")
    return "\n".join(lines)
