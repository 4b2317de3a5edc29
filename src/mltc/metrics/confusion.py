"""The most frequently confused label pairs."""
from __future__ import annotations

from typing import Sequence

import numpy as np


def confused_pairs(Y_true: np.ndarray, Y_pred: np.ndarray, labels: Sequence[str], top: int = 10) -> list[dict]:
    """Pairs (predicted, gold) counted when ``predicted`` is a false positive on a text
    gold-labelled with ``gold``: ``C[i, j] = #texts with pred i, not gold i, gold j``.

    Returns the ``top`` pairs by count, with the count as a share of the texts of ``gold``.
    """
    T = np.asarray(Y_true).astype(np.float64)
    P = np.asarray(Y_pred).astype(np.float64)
    fp = P * (1.0 - T)
    C = fp.T @ T  # (C_pred, C_gold)
    np.fill_diagonal(C, 0)
    gold_n = T.sum(0)
    flat = np.argsort(-C, axis=None, kind="stable")[:top]
    out = []
    for f in flat:
        i, j = np.unravel_index(f, C.shape)
        if C[i, j] <= 0:
            break
        out.append({"predicted": labels[i], "gold": labels[j], "count": int(C[i, j]),
                    "share_of_gold": float(C[i, j] / gold_n[j]) if gold_n[j] else 0.0})
    return out
