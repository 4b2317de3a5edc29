"""Build the reports of ``mltc stats``, ``mltc evaluate`` and ``mltc compare``."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..data.examples import DatasetSplits
from ..data.labels import LabelSpace
from ..data.stats import cooccurrence
from . import figures
from .html import Report, write_report
from .published import TABLE2
from .tables import display_name, table2_rows, table3_rows


def _label_figures(report: Report, space: LabelSpace, train_labels, head: int, tail: int, top: int = 15) -> None:
    report.add("Label frequency (training split)", "long_tail",
               figures.long_tail(space.class_freq_, space.labels, head, tail),
               f"Head: n >= {head}; tail: n <= {tail}; medium between. Log scale.")
    Y = space.encode(train_labels).Y
    order = np.argsort(-space.class_freq_, kind="stable")[:top]
    P = cooccurrence(Y)[np.ix_(order, order)]
    report.add("Label co-occurrence", "cooccurrence", figures.cooccurrence_heatmap(P, [space.labels[i] for i in order]),
               "p(i | j): share of training texts with label j that also carry label i (as the paper's Figure 2).")


def _curve(decision: Mapping[str, Any]) -> dict | None:
    curve = decision.get("curve")
    if not curve:
        return None
    t = decision.get("threshold", decision.get("global_threshold"))
    return {"grid": curve["grid"], "micro_f1": curve["micro_f1"], "threshold": t}


def stats_report(data: DatasetSplits, st: dict, folder: str | Path, head: int = 35, tail: int = 8) -> Path:
    space = LabelSpace(data.labels).fit(e.labels for e in data.train)
    rep = Report(f"Label statistics: {data.name}",
                 f"{st['num_labels']} labels; " + "; ".join(f"{k}: {v['texts']} texts, cardinality {v['cardinality']:.3f}"
                                                             for k, v in st["splits"].items()))
    _label_figures(rep, space, [e.labels for e in data.train], head, tail)
    rep.add("Groups", table=[{"group": g, "labels": v["num_labels"]} for g, v in st["groups"].items()])
    return write_report(rep, folder)


def evaluation_report(clf, report: dict, folder: str | Path, title: str = "") -> Path:
    space = clf.label_space
    rep = Report(title or f"Evaluation: {clf.model_name}, loss {clf.config.get('loss', '-')}",
                 f"{report['num_texts']} texts, {report['num_labels']} labels; decision {clf.decision!r}")
    rep.add("Label frequency (training split)", "long_tail", figures.long_tail(space.class_freq_, space.labels))
    name = display_name(str(clf.config.get("loss", clf.model_name)))
    scores = {"total": (report["total"]["micro_f1"], report["total"]["macro_f1"])}
    scores.update({g: (v["micro_f1"], v["macro_f1"]) for g, v in report.get("groups", {}).items()})
    rep.add("F1 by label group", "group_f1", figures.group_f1([{"name": "", "display": name, "scores": scores}]))
    rep.add("Per-label F1 against training frequency", "label_f1_vs_frequency",
            figures.label_f1_vs_frequency({name: report["per_label"]}))
    curve = _curve(report.get("decision", {}))
    if curve:
        rep.add("Validation F1 against the threshold", "threshold_curve", figures.threshold_curves({name: curve}))
    else:
        kind = report.get("decision", {}).get("kind")
        rep.add("Validation F1 against the threshold", caption=f"The decision ({kind}) has no threshold curve.")
    if report.get("confused_pairs"):
        rep.add("Most confused label pairs", "confused_pairs", figures.confused_pairs_chart(report["confused_pairs"]))
    rep.add("Per label", table=[{k: p[k] for k in ("label", "train_freq", "support", "precision", "recall", "f1")}
                                for p in report["per_label"]])
    return write_report(rep, folder)


def compare_report(summary: dict, data: DatasetSplits, folder: str | Path) -> Path:
    rows = summary["rows"]
    space = LabelSpace(data.labels).fit(e.labels for e in data.train)
    rep = Report(f"Loss comparison on {data.name} ({summary['model']}, seed {summary['seed']})",
                 f"{len(rows)} rows trained in {summary['total_seconds']:.0f}s; test split scores; "
                 "published numbers are Huang et al. (2021), BERT-base.")
    _label_figures(rep, space, [e.labels for e in data.train], 35, 8)
    published = TABLE2 if data.name == "reuters21578" else None
    grp = []
    for r in rows:
        t = r["test"]
        sc = {"total": (t["total"]["micro_f1"], t["total"]["macro_f1"])}
        sc.update({g: (v["micro_f1"], v["macro_f1"]) for g, v in t.get("groups", {}).items()})
        grp.append({"name": r["name"], "display": display_name(r["name"]), "scores": sc})
    rep.add("F1 by label group, each loss beside the published numbers", "group_f1", figures.group_f1(grp, published))
    rep.add("Per-label F1 against training frequency", "label_f1_vs_frequency",
            figures.label_f1_vs_frequency({display_name(r["name"]): r["test"]["per_label"] for r in rows}))
    curves = {display_name(r["name"]): c for r in rows if (c := _curve(r["decision"]))}
    if curves:
        rep.add("Validation F1 against the threshold", "threshold_curves", figures.threshold_curves(curves))
    best = max(rows, key=lambda r: r["test"]["total"]["macro_f1"])
    if best["test"].get("confused_pairs"):
        rep.add(f"Most confused label pairs ({display_name(best['name'])}, the best macro-F1 row)", "confused_pairs",
                figures.confused_pairs_chart(best["test"]["confused_pairs"]))
    rep.add("Table 2: micro/macro-F1 by label group", table=summary.get("table2") or table2_rows(rows, published is not None))
    rep.add("Table 3: by number of gold labels", table=summary.get("table3") or table3_rows(rows, published is not None))
    return write_report(rep, folder)


def graded_report(clf, report: dict, folder: str | Path) -> Path:
    """Fine-grained model (its task holds the aspects and levels): per-aspect scores and one
    confusion matrix per aspect."""
    aspects, levels = clf.task.aspects, clf.task.levels
    rep = Report(f"Fine-grained evaluation: {clf.model_name}",
                 f"{report['num_texts']} texts; {len(aspects)} aspects x {len(levels)} levels")
    rep.add("Confusion matrix per aspect", "aspect_confusion",
            figures.aspect_confusion({a: np.array(v["confusion"]) for a, v in report["aspects"].items()}, levels))
    rep.add("Per aspect", table=[{"aspect": a, "accuracy": v["accuracy"], "macro_f1": v["macro_f1"], "rmse": v["rmse"]}
                                 for a, v in report["aspects"].items()])
    return write_report(rep, folder)
