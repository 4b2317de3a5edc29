"""Helpers shared by the loss functions: the compute dtype and the reduction."""
from __future__ import annotations

import torch


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """At least float32 (float64 stays float64), so that half-precision logits give finite losses."""
    return torch.promote_types(dtype, torch.float32)


def reduce_loss(loss: torch.Tensor, reduction: str) -> torch.Tensor:
    """``'mean'``, ``'sum'`` or ``'none'`` (the entries as they are)."""
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
