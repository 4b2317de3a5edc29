"""Pure functions of the balanced loss family.

Huang et al., "Balancing Methods for Multi-label Text Classification with Long-Tailed
Class Distribution", EMNLP 2021 (building on Wu et al., "Distribution-Balanced Loss for
Multi-Label Classification in Long-Tailed Datasets", ECCV 2020; Cui et al., "Class-Balanced
Loss Based on Effective Number of Samples", CVPR 2019; Lin et al., "Focal Loss for Dense
Object Detection", ICCV 2017) and Su, "Multi-label softmax + cross-entropy" (ZLPR, 2020).

Every function takes tensors and returns tensors, never modifies its inputs, works on any
device, and computes in at least float32 (float64 stays float64) so that float16 and
bfloat16 logits as large as +-1e4 give finite values.

The per-label weights and biases live in :mod:`.weights`, the fused (one autograd node)
variants in :mod:`.fused`; both are re-exported here.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ._common import compute_dtype, reduce_loss
from .fused import balanced_loss_fused, is_hard_targets, zlpr_loss_fused
from .weights import (class_balanced_weights, estimate_db_mu, negative_tolerant_bias, rebalanced_weights,
                      sanitize_class_freq)

__all__ = [
    "binary_cross_entropy",
    "focal_factor",
    "class_balanced_weights",
    "rebalanced_weights",
    "negative_tolerant_bias",
    "negative_tolerant_logits",
    "balanced_loss",
    "zlpr_loss",
    "estimate_db_mu",
    "sanitize_class_freq",
    "is_hard_targets",
    "balanced_loss_fused",
    "zlpr_loss_fused",
]


def binary_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Element-wise ``l(z, y) = y*log(1+e^-z) + (1-y)*log(1+e^z)``, computed stably.

    Returns a tensor of the logits' shape in at least float32.
    """
    dtype = compute_dtype(logits.dtype)
    z = logits.to(dtype)
    y = targets.to(dtype)
    return F.binary_cross_entropy_with_logits(z, y, reduction="none")


def focal_factor(
    logits: torch.Tensor, targets: torch.Tensor, gamma: float = 2.0, alpha: float = 0.5
) -> torch.Tensor:
    """Focal modulation ``alpha_t * (1 - p_t)^gamma`` with ``p_t = exp(-l(z, y))``.

    ``alpha`` weighs positives and ``1 - alpha`` negatives (0.5 gives both 0.5, as in the
    balanced-loss paper). The gradient flows through ``p_t``.
    """
    ce = binary_cross_entropy(logits, targets)
    p_t = torch.exp(-ce)
    y = targets.to(ce.dtype)
    alpha_t = alpha * y + (1.0 - alpha) * (1.0 - y)
    if gamma == 0:
        return alpha_t * torch.ones_like(ce)
    return alpha_t * (1.0 - p_t).clamp(min=0.0).pow(gamma)


def negative_tolerant_logits(
    logits: torch.Tensor, targets: torch.Tensor, bias: torch.Tensor, lam: float = 2.0
) -> torch.Tensor:
    """Shift logits by the NTR bias and scale negatives: ``z'' = lam*(z+b)`` where ``y=0``."""
    dtype = compute_dtype(logits.dtype)
    z = logits.to(dtype) + bias.to(device=logits.device, dtype=dtype)
    y = targets.to(dtype)
    return z * (y + lam * (1.0 - y))


def balanced_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    *,
    weight: torch.Tensor | None = None,
    ntr_bias: torch.Tensor | None = None,
    ntr_lambda: float = 2.0,
    ntr_scale_weight: bool = True,
    focal: bool = False,
    gamma: float = 2.0,
    alpha: float = 0.5,
    loss_weight: float = 1.0,
    reduction: str = "mean",
) -> torch.Tensor:
    """The balanced loss family of Huang et al. (2021): BCE plus optional parts.

    Parameters
    ----------
    logits, targets : Tensor of shape (B, C)
        Raw scores and {0, 1} (or soft) targets.
    weight : Tensor, optional
        Re-weighting: shape (C,) (class-balanced) or (B, C) (rebalanced); ``None`` for 1.
    ntr_bias : Tensor of shape (C,), optional
        Negative-tolerant regularisation: the bias is added to the logits inside the loss,
        negatives are scaled by ``ntr_lambda`` and, if ``ntr_scale_weight``, their weight
        divided by ``ntr_lambda`` (the paper's formula; the published code omits the
        division when there is no re-weighting).
    focal : bool
        Multiply by ``alpha_t * (1 - p_t)^gamma``.
    loss_weight : float
        Final multiplier.
    reduction : {'mean', 'sum', 'none'}
        ``'mean'`` averages over all B*C entries.

    Returns
    -------
    Tensor in ``promote_types(logits.dtype, float32)``.
    """
    if logits.shape != targets.shape:
        raise ValueError(f"logits {tuple(logits.shape)} and targets {tuple(targets.shape)} differ in shape")
    dtype = compute_dtype(logits.dtype)
    y = targets.to(device=logits.device, dtype=dtype)
    if ntr_bias is not None:
        z = negative_tolerant_logits(logits, y, ntr_bias, ntr_lambda)
    else:
        z = logits.to(dtype)
    loss = binary_cross_entropy(z, y)
    if focal:
        loss = loss * focal_factor(z, y, gamma=gamma, alpha=alpha)
    w = None
    if weight is not None:
        w = weight.to(device=logits.device, dtype=dtype)
        if w.ndim == 1:
            w = w.unsqueeze(0)
    if ntr_bias is not None and ntr_scale_weight:
        neg_scale = y + (1.0 - y) / ntr_lambda
        w = neg_scale if w is None else w * neg_scale
    if w is not None:
        loss = loss * w
    return reduce_loss(loss * loss_weight, reduction)


def zlpr_loss(
    logits: torch.Tensor, targets: torch.Tensor, reduction: str = "mean"
) -> torch.Tensor:
    """Multi-label softmax cross-entropy (ZLPR; Su, 2020), decided at threshold 0.

    Per text: ``log(1 + sum_{neg} e^{z_i}) + log(1 + sum_{pos} e^{-z_j})``. Soft targets
    ``t`` in [0, 1] generalise it to ``log(1 + sum (1-t_i) e^{z_i}) + log(1 + sum t_j
    e^{-z_j})``, which equals the hard form for {0, 1} targets. Masking uses ``-inf``
    inside ``logsumexp`` so that half precision never overflows. ``'mean'`` averages
    over texts.
    """
    if logits.shape != targets.shape:
        raise ValueError(f"logits {tuple(logits.shape)} and targets {tuple(targets.shape)} differ in shape")
    dtype = compute_dtype(logits.dtype)
    z = logits.to(dtype)
    t = targets.to(device=logits.device, dtype=dtype)
    if torch.any((t < 0) | (t > 1)):
        raise ValueError("ZLPR targets must lie in [0, 1]")
    log_pos = torch.log(t)  # -inf where t == 0
    log_neg = torch.log1p(-t)  # -inf where t == 1
    zeros = torch.zeros_like(z[..., :1])
    neg_term = torch.logsumexp(torch.cat([zeros, z + log_neg], dim=-1), dim=-1)
    pos_term = torch.logsumexp(torch.cat([zeros, -z + log_pos], dim=-1), dim=-1)
    return reduce_loss(neg_term + pos_term, reduction)
