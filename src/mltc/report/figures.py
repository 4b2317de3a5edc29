"""Figures from real run data (matplotlib, non-interactive Agg backend).

Each function returns a :class:`matplotlib.figure.Figure`; :mod:`mltc.report.html` saves
them as PNG and SVG and embeds them in a self-contained page.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

GROUP_COLORS = {"head": "#4C72B0", "medium": "#DD8452", "tail": "#C44E52"}
MARKERS = "os^vD<>pPX*h"


def long_tail(class_freq: Sequence[int] | np.ndarray, labels: Sequence[str], head: int = 35, tail: int = 8) -> Figure:
    """Training frequency per label, sorted, log scale, head/medium/tail bands marked."""
    freq = np.asarray(class_freq)
    order = np.argsort(-freq, kind="stable")
    f = freq[order]
    fig, ax = plt.subplots(figsize=(9, 4))
    x = np.arange(len(f))
    groups = np.where(f >= head, "head", np.where(f <= tail, "tail", "medium"))
    for g, color in GROUP_COLORS.items():
        m = groups == g
        if m.any():
            ax.bar(x[m], np.maximum(f[m], 0.8), color=color, width=1.0,
                   label=f"{g} ({int(m.sum())} labels, {int(f[m].sum())} instances)")
            ax.axvspan(x[m].min() - 0.5, x[m].max() + 0.5, color=color, alpha=0.07)
    ax.set_yscale("log")
    ax.axhline(head, color="grey", lw=0.8, ls="--")
    ax.axhline(tail, color="grey", lw=0.8, ls=":")
    ax.set_xlabel("labels, by training frequency")
    ax.set_ylabel("training texts (log)")
    if len(f) <= 40:
        ax.set_xticks(x, [labels[i] for i in order], rotation=90, fontsize=7)
    ax.legend(frameon=False, fontsize=8)
    ax.set_title("Label frequency: the long tail")
    fig.tight_layout()
    return fig


def cooccurrence_heatmap(P: np.ndarray, labels: Sequence[str]) -> Figure:
    """Conditional co-occurrence p(row label | column label) of the given labels."""
    n = len(labels)
    fig, ax = plt.subplots(figsize=(1.0 + 0.42 * n, 0.8 + 0.38 * n))
    im = ax.imshow(P, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(n), labels, rotation=90, fontsize=8)
    ax.set_yticks(range(n), labels, fontsize=8)
    for i in range(n):
        for j in range(n):
            if i != j and P[i, j] >= 0.05:
                ax.text(j, i, f"{P[i, j]:.2f}", ha="center", va="center", fontsize=6,
                        color="white" if P[i, j] > 0.6 else "black")
    ax.set_xlabel("given label j")
    ax.set_ylabel("label i")
    ax.set_title("Co-occurrence p(i | j), most frequent labels")
    fig.colorbar(im, ax=ax, fraction=0.04)
    fig.tight_layout()
    return fig


def group_f1(rows: Sequence[Mapping[str, Any]], published: Mapping[str, Mapping[str, tuple]] | None = None) -> Figure:
    """Micro- and macro-F1 per label group for each row, published numbers as hollow markers.

    ``rows``: ``{"name", "display", "scores": {group: (micro, macro)}}``.
    """
    groups = ["total", "head", "medium", "tail"]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4), sharey=True)
    n = len(rows)
    width = 0.8 / max(n, 1)
    cmap = plt.get_cmap("tab10")
    for k, (ax, metric) in enumerate(zip(axes, ("micro-F1", "macro-F1"))):
        for i, r in enumerate(rows):
            xs = np.arange(len(groups)) + (i - (n - 1) / 2) * width
            vals = [r["scores"].get(g, (np.nan, np.nan))[k] for g in groups]
            ax.bar(xs, vals, width=width, color=cmap(i % 10), label=r["display"] if k == 0 else None)
            pub = (published or {}).get("svm" if r["name"] == "svm" else r["name"])
            if pub:
                pv = [pub.get(g, (np.nan, np.nan))[k] for g in groups]
                ax.scatter(xs, pv, facecolors="none", edgecolors="black", s=22, zorder=3,
                           label="published (paper)" if (k == 0 and i == 0) else None)
        ax.set_xticks(range(len(groups)), groups)
        ax.set_title(metric)
        ax.set_ylim(0, 100)
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel("F1 (%)")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(6, len(labels)), frameon=False, fontsize=8)
    fig.suptitle("F1 by label group (bars: this run; circles: published)")
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return fig


def label_f1_vs_frequency(per_label: Mapping[str, Sequence[Mapping[str, Any]]], head: int = 35, tail: int = 8) -> Figure:
    """Per-label test F1 against training frequency, one point per label, a marker per row."""
    fig, ax = plt.subplots(figsize=(9, 4.5))
    cmap = plt.get_cmap("tab10")
    for i, (name, rows) in enumerate(per_label.items()):
        freq = np.array([max(r.get("train_freq") or 0, 0) for r in rows], dtype=float)
        f1 = np.array([r["f1"] for r in rows])
        jitter = 1 + (i - len(per_label) / 2) * 0.015
        ax.scatter(np.maximum(freq, 0.7) * jitter, f1, s=16, alpha=0.75, marker=MARKERS[i % len(MARKERS)],
                   color=cmap(i % 10), label=name)
    ax.set_xscale("log")
    ax.axvline(head, color="grey", lw=0.8, ls="--")
    ax.axvline(tail + 0.5, color="grey", lw=0.8, ls=":")
    ax.set_xlabel("training frequency (log; 0 drawn at 0.7)")
    ax.set_ylabel("test F1 (%)")
    ax.set_ylim(-3, 103)
    ax.set_title("Per-label F1 against training frequency")
    ax.legend(frameon=False, fontsize=8, ncol=2)
    fig.tight_layout()
    return fig


def threshold_curves(curves: Mapping[str, Mapping[str, Any]]) -> Figure:
    """Validation micro-F1 against the global threshold, the chosen threshold marked.

    ``curves``: name -> ``{"grid": [...], "micro_f1": [...], "threshold": t}``.
    """
    fig, ax = plt.subplots(figsize=(8, 4))
    cmap = plt.get_cmap("tab10")
    for i, (name, c) in enumerate(curves.items()):
        grid, f1 = np.asarray(c["grid"]), np.asarray(c["micro_f1"])
        ax.plot(grid, f1, color=cmap(i % 10), lw=1.4, label=name)
        t = c.get("threshold")
        if t is not None:
            j = int(np.argmin(np.abs(grid - t)))
            ax.plot([grid[j]], [f1[j]], marker="o", ms=7, mfc="none", mec=cmap(i % 10), mew=2)
            ax.axvline(grid[j], color=cmap(i % 10), lw=0.6, ls=":")
    ax.set_xlabel("threshold")
    ax.set_ylabel("validation micro-F1 (%)")
    ax.set_title("Validation F1 against the threshold (circle: chosen)")
    ax.legend(frameon=False, fontsize=8, ncol=2)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def confused_pairs_chart(pairs: Sequence[Mapping[str, Any]], title: str = "Most confused label pairs") -> Figure:
    """Horizontal bars: false positives of one label on texts gold-labelled with another."""
    pairs = list(pairs)[:15][::-1]
    fig, ax = plt.subplots(figsize=(8, 0.6 + 0.32 * max(len(pairs), 1)))
    names = [f"{p['predicted']} ← {p['gold']}" for p in pairs]
    ax.barh(range(len(pairs)), [p["count"] for p in pairs], color="#8172B3")
    ax.set_yticks(range(len(pairs)), names, fontsize=8)
    ax.set_xlabel("texts (predicted label wrongly added to a text of the gold label)")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def aspect_confusion(matrices: Mapping[str, np.ndarray], levels: Sequence[str]) -> Figure:
    """One confusion matrix (gold rows x predicted columns) per aspect of a fine-grained model."""
    n = len(matrices)
    cols = min(n, 3)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 3.2 * rows), squeeze=False)
    for ax, (name, M) in zip(axes.flat, matrices.items()):
        M = np.asarray(M)
        ax.imshow(M, cmap="Greens")
        for i in range(M.shape[0]):
            for j in range(M.shape[1]):
                ax.text(j, i, int(M[i, j]), ha="center", va="center", fontsize=7)
        ax.set_xticks(range(len(levels)), levels, fontsize=7)
        ax.set_yticks(range(len(levels)), levels, fontsize=7)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("predicted", fontsize=7)
        ax.set_ylabel("gold", fontsize=7)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.suptitle("Confusion matrix per aspect")
    fig.tight_layout()
    return fig
