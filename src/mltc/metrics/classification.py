"""Precision, recall and F1 for multi-label predictions (numpy, no scikit-learn needed).

Conventions follow scikit-learn with ``zero_division=0``: a label with no predicted
positive has precision 0, with no true positive recall 0, and with neither F1 0 (so it
pulls the macro average down, as in Huang et al., 2021).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np


def _as_bool(Y: np.ndarray, name: str) -> np.ndarray:
    Y = np.asarray(Y)
    if Y.ndim != 2:
        raise ValueError(f"{name} must be a 2-D (texts x labels) matrix, got shape {Y.shape}")
    return Y.astype(bool, copy=False)


def confusion_counts(Y_true: np.ndarray, Y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-label true positives, false positives and false negatives."""
    T, P = _as_bool(Y_true, "Y_true"), _as_bool(Y_pred, "Y_pred")
    if T.shape != P.shape:
        raise ValueError(f"Y_true {T.shape} and Y_pred {P.shape} differ in shape")
    tp = (T & P).sum(0).astype(np.int64)
    fp = (~T & P).sum(0).astype(np.int64)
    fn = (T & ~P).sum(0).astype(np.int64)
    return tp, fp, fn


def _safe_div(num: np.ndarray, den: np.ndarray, zero_division: float) -> np.ndarray:
    num, den = np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)
    out = np.full(np.broadcast(num, den).shape, float(zero_division))
    np.divide(num, den, out=out, where=den > 0)
    return out


def prf_from_counts(tp, fp, fn, average: str | None = "micro", zero_division: float = 0.0) -> dict:
    """Precision/recall/F1 from counts; ``average`` in {'micro', 'macro', None}."""
    tp, fp, fn = (np.asarray(x, dtype=np.float64) for x in (tp, fp, fn))
    if average == "micro":
        tp, fp, fn = tp.sum(), fp.sum(), fn.sum()
    p = _safe_div(tp, tp + fp, zero_division)
    r = _safe_div(tp, tp + fn, zero_division)
    f = _safe_div(2 * tp, 2 * tp + fp + fn, zero_division)
    if average == "macro":
        if tp.size == 0:
            return {"precision": 0.0, "recall": 0.0, "f1": 0.0}
        p, r, f = p.mean(), r.mean(), f.mean()
    elif average not in ("micro", None):
        raise ValueError(f"average must be 'micro', 'macro' or None, got {average!r}")
    if average is None:
        return {"precision": p, "recall": r, "f1": f}
    return {"precision": float(p), "recall": float(r), "f1": float(f)}


def precision_recall_f1(
    Y_true: np.ndarray,
    Y_pred: np.ndarray,
    average: str | None = "micro",
    labels: Sequence[int] | None = None,
    zero_division: float = 0.0,
) -> dict:
    """Micro, macro or per-label P/R/F1, optionally over a subset of label columns."""
    tp, fp, fn = confusion_counts(Y_true, Y_pred)
    if labels is not None:
        idx = np.asarray(labels, dtype=np.int64)
        tp, fp, fn = tp[idx], fp[idx], fn[idx]
    return prf_from_counts(tp, fp, fn, average, zero_division)


def micro_macro(Y_true: np.ndarray, Y_pred: np.ndarray, labels: Sequence[int] | np.ndarray | None = None) -> dict:
    """``{'micro_p', 'micro_r', 'micro_f1', 'macro_p', 'macro_r', 'macro_f1'}`` in percent."""
    tp, fp, fn = confusion_counts(Y_true, Y_pred)
    if labels is not None:
        idx = np.asarray(labels, dtype=np.int64)
        tp, fp, fn = tp[idx], fp[idx], fn[idx]
    out = {}
    for avg in ("micro", "macro"):
        m = prf_from_counts(tp, fp, fn, avg)
        out[f"{avg}_p"], out[f"{avg}_r"], out[f"{avg}_f1"] = (100 * m[k] for k in ("precision", "recall", "f1"))
    return out
