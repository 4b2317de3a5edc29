"""The paper's full evaluation breakdown, and a batch accumulator of named metrics."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..data.labels import label_groups
from ..data.stats import label_count_groups
from .classification import confusion_counts, micro_macro, prf_from_counts
from .confusion import confused_pairs
from .ranking import ndcg_at_k, precision_at_k


def evaluate(
    Y_true: np.ndarray,
    Y_pred: np.ndarray,
    scores: np.ndarray | None = None,
    *,
    class_freq: np.ndarray | None = None,
    label_names: Sequence[str] | None = None,
    head: int = 35,
    tail: int = 8,
    count_bounds: Sequence[int] = (1,),
    ks: Sequence[int] = (1, 3, 5),
    top_confused: int = 10,
) -> dict:
    """Everything Table 2/3 of Huang et al. (2021) report, plus ranking and per label.

    Returns a dict with ``total`` (micro/macro P/R/F1 in percent), ``groups`` (head,
    medium, tail label columns over all texts, by training frequency ``class_freq``),
    ``by_num_labels`` (texts split by their number of gold labels), ``ranking`` (P@k,
    nDCG@k, from ``scores``), ``per_label`` and ``confused_pairs``.
    """
    Y_true, Y_pred = np.asarray(Y_true), np.asarray(Y_pred)
    n_labels = Y_true.shape[1]
    names = list(label_names) if label_names is not None else [str(i) for i in range(n_labels)]
    out: dict = {"num_texts": int(Y_true.shape[0]), "num_labels": n_labels, "total": micro_macro(Y_true, Y_pred)}
    if class_freq is not None:
        groups = label_groups(np.asarray(class_freq), head, tail)
        out["groups"] = {g: dict(micro_macro(Y_true, Y_pred, idx), num_labels=int(len(idx))) for g, idx in groups.items()}
    rows = label_count_groups(Y_true, count_bounds)
    out["by_num_labels"] = {g: dict(micro_macro(Y_true[idx], Y_pred[idx]), num_texts=int(len(idx)))
                            for g, idx in rows.items()}
    if scores is not None:
        out["ranking"] = {}
        for k in ks:
            out["ranking"][f"P@{k}"] = 100 * precision_at_k(Y_true, scores, k)
            out["ranking"][f"nDCG@{k}"] = 100 * ndcg_at_k(Y_true, scores, k)
    tp, fp, fn = confusion_counts(Y_true, Y_pred)
    per = prf_from_counts(tp, fp, fn, average=None)
    out["per_label"] = [
        {"label": names[j], "train_freq": int(class_freq[j]) if class_freq is not None else None,
         "support": int(tp[j] + fn[j]), "predicted": int(tp[j] + fp[j]),
         "precision": 100 * float(per["precision"][j]), "recall": 100 * float(per["recall"][j]),
         "f1": 100 * float(per["f1"][j])}
        for j in range(n_labels)
    ]
    out["confused_pairs"] = confused_pairs(Y_true, Y_pred, names, top_confused)
    return out


METRIC_NAMES = ("micro_p", "micro_r", "micro_f1", "macro_p", "macro_r", "macro_f1")


class MetricAccumulator:
    """Named metrics accumulated over batches (counts, not stored predictions).

    >>> acc = MetricAccumulator(num_labels, ["micro_f1", "macro_f1", "P@1", "nDCG@3"])
    >>> for y, pred, s in batches: acc.update(y, pred, s)
    >>> acc.compute()
    """

    def __init__(self, num_labels: int, metrics: Sequence[str] = ("micro_f1", "macro_f1")) -> None:
        self.num_labels, self.metrics = num_labels, list(metrics)
        for m in self.metrics:
            if m not in METRIC_NAMES and not (m.startswith(("P@", "nDCG@")) and m.split("@")[1].isdigit()):
                raise ValueError(f"unknown metric {m!r}; known: {', '.join(METRIC_NAMES)}, P@k, nDCG@k")
        self.reset()

    def reset(self) -> None:
        self.tp = np.zeros(self.num_labels, np.int64)
        self.fp = np.zeros(self.num_labels, np.int64)
        self.fn = np.zeros(self.num_labels, np.int64)
        self.rank_sums: dict[str, float] = {}
        self.rank_n = 0

    def update(self, Y_true: np.ndarray, Y_pred: np.ndarray, scores: np.ndarray | None = None) -> None:
        tp, fp, fn = confusion_counts(Y_true, Y_pred)
        self.tp += tp
        self.fp += fp
        self.fn += fn
        ranked = [m for m in self.metrics if "@" in m]
        if ranked:
            if scores is None:
                raise ValueError(f"{', '.join(ranked)} need scores")
            n = int(np.asarray(Y_true).astype(bool).any(1).sum())
            for m in ranked:
                fn_ = precision_at_k if m.startswith("P@") else ndcg_at_k
                self.rank_sums[m] = self.rank_sums.get(m, 0.0) + fn_(Y_true, scores, int(m.split("@")[1])) * n
            self.rank_n += n

    def compute(self) -> dict[str, float]:
        out = {}
        for avg in ("micro", "macro"):
            prf = prf_from_counts(self.tp, self.fp, self.fn, avg)
            out[f"{avg}_p"], out[f"{avg}_r"], out[f"{avg}_f1"] = (100 * prf[k] for k in ("precision", "recall", "f1"))
        for m in self.metrics:
            if "@" in m:
                out[m] = 100 * self.rank_sums.get(m, 0.0) / self.rank_n if self.rank_n else 0.0
        return {m: out[m] for m in self.metrics}
