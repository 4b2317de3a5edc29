"""Losses of fine-grained (graded) outputs: K aspects x L levels.

The network's K*L logits are read as ``(K, L)``: aspect ``k``'s level ``l`` is column ``k*L + l``.
Two ways to train them:

- :class:`GradedCrossEntropy`, one softmax per aspect (the default, ``ce``);
- :class:`OneHotLevelsLoss`, any multi-label loss of :data:`~mltc.losses.LOSSES` (the balanced
  family of Huang et al., EMNLP 2021, or ZLPR) on the flattened one-hot (aspect, level)
  indicators: (n, K*L) targets with exactly one positive per aspect, the class frequencies
  being the training texts per (aspect, level) cell (:func:`cell_frequencies`), so that the
  CB / DB / NTR weights see the long tail of rare levels.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


class GradedCrossEntropy(nn.Module):
    """Cross-entropy over the L levels of each aspect, summed over aspects, averaged over texts.

    ``forward(logits, levels)`` takes logits (B, K*L) and levels (B, K) of integers in 0..L-1.
    """

    def __init__(self, num_aspects: int, num_levels: int) -> None:
        super().__init__()
        self.num_aspects, self.num_levels = int(num_aspects), int(num_levels)

    def forward(self, logits: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
        z = logits.float().reshape(-1, self.num_levels)
        return F.cross_entropy(z, levels.reshape(-1).long(), reduction="sum") / max(1, logits.shape[0])


def one_hot_levels(levels: torch.Tensor, num_levels: int) -> torch.Tensor:
    """Levels (B, K) as float one-hot (aspect, level) indicators (B, K*L): column ``k*L + l`` is 1
    where aspect ``k`` takes level ``l``, so each row has exactly K positives, one per aspect."""
    levels = torch.as_tensor(levels).long()
    return F.one_hot(levels.reshape(len(levels), -1), num_levels).reshape(len(levels), -1).float()


def level_counts(levels: np.ndarray, num_levels: int) -> np.ndarray:
    """Training texts at each level of each aspect: levels (N, K) -> counts (K, L)."""
    levels = np.asarray(levels, dtype=np.int64)
    return np.stack([np.bincount(levels[:, k], minlength=num_levels)[:num_levels] for k in range(levels.shape[1])])


def cell_frequencies(levels: np.ndarray, num_levels: int) -> np.ndarray:
    """The class frequencies of the flattened (aspect, level) cells, (K*L,) in column order.

    Entry ``k*L + l`` is the number of training texts whose aspect ``k`` takes level ``l``: the
    ``n_i`` of the CB, DB and NTR weights (Huang et al., 2021, section 3) for that cell. The
    frequencies of one aspect's levels sum to the number of texts.

    Examples
    --------
    >>> cell_frequencies([[0, 2], [0, 1], [1, 1]], 3).tolist()
    [2, 1, 0, 0, 2, 1]
    """
    return level_counts(levels, num_levels).reshape(-1)


class OneHotLevelsLoss(nn.Module):
    """A multi-label loss (``loss(logits, targets)`` over K*L columns) trained on graded levels.

    ``forward(logits, levels)`` takes logits (B, K*L) and levels (B, K), and returns
    ``loss(logits, one_hot_levels(levels, L))``: the multi-label loss sees each (aspect, level)
    cell as a label with exactly one positive per aspect.

    Parameters
    ----------
    loss : nn.Module
        The multi-label loss, built on the cells' frequencies (:func:`cell_frequencies`).
    num_levels : int
        L, the levels of each aspect.
    """

    def __init__(self, loss: nn.Module, num_levels: int) -> None:
        super().__init__()
        self.loss, self.num_levels = loss, int(num_levels)

    def forward(self, logits: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
        return self.loss(logits, one_hot_levels(levels, self.num_levels).to(logits.device))


def categorical_rdrop_kl(logits1: torch.Tensor, logits2: torch.Tensor, num_levels: int) -> torch.Tensor:
    """R-Drop for graded outputs: the symmetric KL between the two passes' level distributions,
    ``1/2 (KL(p1||p2) + KL(p2||p1))`` summed over levels and aspects, averaged over texts
    (the scale of :class:`GradedCrossEntropy`). Computed from log-softmaxes, finite for any logits."""
    dtype = torch.promote_types(logits1.dtype, torch.float32)
    lp1 = F.log_softmax(logits1.to(dtype).reshape(-1, num_levels), -1)
    lp2 = F.log_softmax(logits2.to(dtype).reshape(-1, num_levels), -1)
    sym = 0.5 * ((lp1.exp() - lp2.exp()) * (lp1 - lp2)).sum()
    return sym / max(1, logits1.shape[0])


def level_prior_logits(levels: np.ndarray, num_levels: int) -> torch.Tensor:
    """Log level frequencies per aspect, flattened (K*L,), clamped to [-10, 10]: an output bias
    whose softmax starts at each aspect's training distribution (add-one-half smoothed)."""
    levels = np.asarray(levels, dtype=np.int64)
    p = (level_counts(levels, num_levels) + 0.5) / (len(levels) + 0.5 * num_levels)
    return torch.from_numpy(np.log(p)).clamp(-10, 10).float().reshape(-1)
