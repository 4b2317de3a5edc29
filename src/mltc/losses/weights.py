"""Per-label weights and biases of the balanced loss family, from training label frequencies.

Class-balanced weights (Cui et al., CVPR 2019), distribution-balanced re-weighting and its
constant ``mu`` (Wu et al., ECCV 2020), the negative-tolerant bias (Huang et al., EMNLP 2021).
Zero-frequency labels and labels present in every text are clamped with one warning so that
every value stays finite.
"""
from __future__ import annotations

import warnings

import torch

from ._common import compute_dtype


def sanitize_class_freq(
    class_freq: torch.Tensor, train_num: int | None = None, *, what: str = "loss"
) -> torch.Tensor:
    """Clamp label frequencies into ``[1, train_num - 1]`` (as float), warning when needed.

    A label never seen in training (``n_j = 0``) makes ``1/n_j`` infinite, and a label on
    every training text (``n_j = N``) makes the NTR bias infinite. Both are clamped to the
    nearest finite value so that the loss stays finite.
    """
    freq = torch.as_tensor(class_freq).to(torch.float64)
    if freq.ndim != 1:
        raise ValueError(f"class_freq must be one-dimensional, got shape {tuple(freq.shape)}")
    if torch.any(freq < 0):
        raise ValueError("class_freq must be non-negative")
    lo, hi = 1.0, float("inf")
    if train_num is not None:
        if train_num < 1:
            raise ValueError(f"train_num must be at least 1, got {train_num}")
        if torch.any(freq > train_num):
            raise ValueError("a class frequency exceeds train_num")
        hi = max(float(train_num) - 1.0, 1.0)
    n_zero = int((freq < lo).sum())
    n_all = int((freq > hi).sum()) if train_num is not None else 0
    if n_zero:
        warnings.warn(
            f"{what}: {n_zero} label(s) have zero training frequency; their frequency is "
            "clamped to 1 to keep the loss finite",
            RuntimeWarning,
            stacklevel=3,
        )
    if n_all:
        warnings.warn(
            f"{what}: {n_all} label(s) occur in every training text; their frequency is "
            f"clamped to N-1 = {hi:g} to keep the negative-tolerant bias finite",
            RuntimeWarning,
            stacklevel=3,
        )
    return freq.clamp(min=lo, max=hi)


def class_balanced_weights(class_freq: torch.Tensor, beta: float = 0.9) -> torch.Tensor:
    """Class-balanced weights ``(1 - beta) / (1 - beta^n_j)`` (Cui et al., 2019).

    One weight per label, applied to positive and negative entries alike. Labels with zero
    training frequency are clamped to ``n = 1`` (weight 1) with a warning.
    """
    if not 0.0 <= beta < 1.0:
        raise ValueError(f"beta must be in [0, 1), got {beta}")
    freq = sanitize_class_freq(class_freq, what="class-balanced weights")
    return (1.0 - beta) / (1.0 - torch.pow(torch.tensor(beta, dtype=torch.float64), freq))


def rebalanced_weights(
    targets: torch.Tensor,
    class_freq: torch.Tensor,
    alpha: float = 0.1,
    beta: float = 10.0,
    mu: float = 0.9,
) -> torch.Tensor:
    """Distribution-balanced re-weighting (Wu et al., 2020), one weight per entry.

    ``R_i = sum_k y_ik / n_k``; ``r_ij = (1/n_j) / R_i``; ``w_ij = alpha + sigmoid(beta *
    (r_ij - mu))``. A text without positive labels (``R_i = 0``) gets ``alpha + 1``.
    """
    dtype = compute_dtype(targets.dtype if targets.is_floating_point() else torch.float32)
    y = targets.to(dtype)
    freq = sanitize_class_freq(class_freq, what="rebalanced weights").to(device=y.device, dtype=dtype)
    freq_inv = 1.0 / freq
    repeat_rate = y @ freq_inv  # R_i, shape (B,)
    # 1/R_i = inf for a text without positives: sigmoid(+inf) = 1 gives alpha + 1 exactly
    inv_rate = torch.where(repeat_rate > 0, 1.0 / repeat_rate, torch.full_like(repeat_rate, float("inf")))
    w = torch.addcmul(torch.tensor(-beta * mu, dtype=dtype, device=y.device), inv_rate.unsqueeze(1),
                      (beta * freq_inv).unsqueeze(0))
    return w.sigmoid_().add_(alpha)


def estimate_db_mu(targets: torch.Tensor, class_freq: torch.Tensor | None = None) -> float:
    """Estimate the DB constant ``mu`` from training labels as the authors did.

    ``mu = (mean(r) + median(r)) / 2`` over the positive training entries, where
    ``r_ij = (1/n_j) / R_i``.
    """
    y = torch.as_tensor(targets).to(torch.float64)
    if class_freq is None:
        class_freq = y.sum(0)
    freq = sanitize_class_freq(class_freq, what="estimate_db_mu")
    freq_inv = 1.0 / freq
    rate = y @ freq_inv
    rows, cols = torch.nonzero(y > 0, as_tuple=True)
    if rows.numel() == 0:
        raise ValueError("cannot estimate mu: the training labels have no positive entry")
    r = freq_inv[cols] / rate[rows]
    return float((r.mean() + _median(r)) / 2)


def _median(values: torch.Tensor) -> torch.Tensor:
    """The median as :func:`numpy.median` defines it: the mean of the two middle values
    for an even count (``torch.median`` returns the lower one)."""
    s = values.flatten().sort().values
    n = s.numel()
    return (s[(n - 1) // 2] + s[n // 2]) / 2


def negative_tolerant_bias(class_freq: torch.Tensor, train_num: int, kappa: float = 0.05) -> torch.Tensor:
    """Per-label NTR bias ``b_j = -kappa * log(N / n_j - 1)``.

    ``n_j`` is clamped into ``[1, N-1]`` (with a warning) so that the bias stays finite.
    """
    freq = sanitize_class_freq(class_freq, train_num, what="negative-tolerant bias")
    return -kappa * torch.log(float(train_num) / freq - 1.0)
