"""Scores of fine-grained (graded) predictions: per aspect, accuracy, macro-F1 over levels, RMSE."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .classification import prf_from_counts


def graded_metrics(gold: np.ndarray, pred: np.ndarray, aspects: Sequence[str], num_levels: int) -> dict[str, Any]:
    """Per-aspect accuracy, macro-F1 over levels (zero_division 0), RMSE and confusion; means over aspects.

    Parameters
    ----------
    gold, pred : (texts, aspects) integer arrays of levels
    aspects : the aspect names, in column order
    num_levels : L (levels are 0..L-1)
    """
    K = len(aspects)
    gold, pred = (np.asarray(a, dtype=np.int64).reshape(-1, K) for a in (gold, pred))
    per = {}
    for k, name in enumerate(aspects):
        g, p = gold[:, k], pred[:, k]
        M = np.zeros((num_levels, num_levels), dtype=np.int64)
        np.add.at(M, (g, p), 1)
        tp = np.diag(M)
        f1 = prf_from_counts(tp, M.sum(0) - tp, M.sum(1) - tp, "macro")["f1"]
        per[name] = {"accuracy": 100 * float((g == p).mean()) if len(g) else 0.0, "macro_f1": 100 * f1,
                     "rmse": float(np.sqrt(np.mean((g - p) ** 2))) if len(g) else 0.0, "confusion": M.tolist()}
    mean = {m: float(np.mean([v[m] for v in per.values()])) for m in ("accuracy", "macro_f1", "rmse")}
    return {"num_texts": int(len(gold)), "aspects": per, "mean": mean,
            "rmse_all": float(np.sqrt(np.mean((gold - pred) ** 2))) if gold.size else 0.0}
