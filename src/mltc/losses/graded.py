"""Losses of fine-grained (graded) outputs: K aspects x L levels, one softmax per aspect.

The network's K*L logits are read as ``(K, L)``: aspect ``k``'s level ``l`` is column ``k*L + l``.
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
    counts = np.stack([np.bincount(levels[:, k], minlength=num_levels)[:num_levels] for k in range(levels.shape[1])])
    p = (counts + 0.5) / (len(levels) + 0.5 * num_levels)
    return torch.from_numpy(np.log(p)).clamp(-10, 10).float().reshape(-1)
