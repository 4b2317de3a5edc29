"""Ranking metrics over scores: precision@k and nDCG@k (extreme multi-label convention).

Texts with no gold label are left out of both averages (nothing can be ranked right).
Ties in scores are broken by label index (stable sort), so results are deterministic.
"""
from __future__ import annotations

import numpy as np


def _top_k(scores: np.ndarray, k: int) -> np.ndarray:
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    k = min(k, scores.shape[1])
    return np.argsort(-scores, axis=1, kind="stable")[:, :k]


def _hits(Y_true: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    Y_true, scores = np.asarray(Y_true).astype(bool), np.asarray(scores, dtype=np.float64)
    if Y_true.shape != scores.shape:
        raise ValueError(f"Y_true {Y_true.shape} and scores {scores.shape} differ in shape")
    keep = Y_true.any(1)
    top = _top_k(scores[keep], k)
    return np.take_along_axis(Y_true[keep], top, axis=1), Y_true[keep].sum(1)


def precision_at_k(Y_true: np.ndarray, scores: np.ndarray, k: int = 1) -> float:
    """Mean over texts of (gold labels among the k best scored) / k."""
    hits, _ = _hits(Y_true, scores, k)
    return float(hits.sum(1).mean() / k) if len(hits) else 0.0


def ndcg_at_k(Y_true: np.ndarray, scores: np.ndarray, k: int = 1) -> float:
    """Mean normalised discounted cumulative gain at k with binary relevance."""
    hits, n_gold = _hits(Y_true, scores, k)
    if not len(hits):
        return 0.0
    discount = 1.0 / np.log2(np.arange(2, hits.shape[1] + 2))
    dcg = (hits * discount).sum(1)
    ideal = np.cumsum(discount)[np.minimum(n_gold, hits.shape[1]) - 1]
    return float((dcg / ideal).mean())
