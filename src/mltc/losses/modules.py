"""Thin ``nn.Module`` wrappers around the pure loss functions.

A loss knows nothing of models: it needs only ``logits``, ``targets`` and the training
statistics of the label space (per-label frequencies ``class_freq`` and the number of
training texts ``train_num``).
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from . import functional as LF

REWEIGHTINGS = ("none", "cb", "db")
FUSED_CHOICES = ("auto", True, False)


def _check_fused(fused: Any) -> str | bool:
    if isinstance(fused, str):
        fused = fused.lower()
    if fused not in FUSED_CHOICES:
        raise ValueError(f"fused must be 'auto', True or False, got {fused!r}")
    return fused


def _use_fused(fused: str | bool, targets: torch.Tensor, what: str) -> bool:
    """Decide between the fused and the reference path for one batch.

    ``'auto'`` takes the fused path for hard {0, 1} targets only; ``True`` insists on it and
    refuses soft targets (the fused arithmetic would silently treat them as 0/1).
    """
    if fused is False:
        return False
    hard = LF.is_hard_targets(targets)
    if fused is True and not hard:
        raise ValueError(f"{what}(fused=True) needs targets in {{0, 1}}; use fused='auto' or fused=False for soft targets")
    return hard


class BalancedLoss(nn.Module):
    """BCE with optional re-weighting (CB or DB), NTR and focal modulation.

    Huang et al., EMNLP 2021, section 3. ``loss(logits, targets)`` returns the mean over
    all entries times ``loss_weight``. See :func:`mltc.losses.functional.balanced_loss`.

    Parameters
    ----------
    class_freq : sequence of int, shape (C,)
        Number of training texts carrying each label.
    train_num : int
        Number of training texts ``N``.
    reweight : {'none', 'cb', 'db'}
    ntr : bool
        Negative-tolerant regularisation.
    focal : bool
        Focal modulation.
    fused : {'auto', True, False}
        ``'auto'`` (default): compute value and gradient in one autograd node when the
        batch's targets are all 0 or 1, and use the reference autograd implementation for
        soft targets. ``True``: always fused (soft targets raise a ``ValueError``).
        ``False``: always the reference implementation. The fused node refuses double
        backward (``create_graph=True`` raises a ``RuntimeError``); use ``False`` for
        second-order gradients such as a gradient penalty through the loss.
    ntr_scale_weight : bool
        Divide the negatives' weight by ``ntr_lambda`` under NTR (the paper). ``False`` is
        the published code's NTR-FL, which omits the division only when there is no
        re-weighting, so it is refused together with ``reweight='cb'`` or ``'db'``.
    """

    class_freq: torch.Tensor | None  # buffers (None where the loss does not use them)
    cb_weight: torch.Tensor | None
    ntr_bias: torch.Tensor | None

    def __init__(
        self,
        class_freq: Any = None,
        train_num: int | None = None,
        *,
        reweight: str = "none",
        ntr: bool = False,
        focal: bool = False,
        gamma: float = 2.0,
        alpha: float = 0.5,
        cb_beta: float = 0.9,
        db_alpha: float = 0.1,
        db_beta: float = 10.0,
        db_mu: float = 0.9,
        ntr_kappa: float = 0.05,
        ntr_lambda: float = 2.0,
        ntr_scale_weight: bool = True,
        loss_weight: float = 1.0,
        fused: str | bool = "auto",
    ) -> None:
        super().__init__()
        self.fused = _check_fused(fused)
        if reweight not in REWEIGHTINGS:
            raise ValueError(f"reweight must be one of {REWEIGHTINGS}, got {reweight!r}")
        if not ntr_scale_weight and reweight != "none":
            raise ValueError("ntr_scale_weight=False reproduces the published NTR-FL (no re-weighting); with "
                             f"reweight={reweight!r} the negatives' weight is always divided by ntr_lambda")
        needs_freq = reweight != "none" or ntr
        if needs_freq and class_freq is None:
            raise ValueError(f"reweight={reweight!r}, ntr={ntr} needs class_freq")
        if ntr and train_num is None:
            raise ValueError("NTR needs train_num (the number of training texts)")
        if ntr_lambda <= 0:
            raise ValueError(f"ntr_lambda must be positive, got {ntr_lambda}")
        self.reweight, self.ntr, self.focal = reweight, bool(ntr), bool(focal)
        self.gamma, self.alpha = float(gamma), float(alpha)
        self.db_alpha, self.db_beta, self.db_mu = float(db_alpha), float(db_beta), float(db_mu)
        self.cb_beta = float(cb_beta)
        self.ntr_kappa, self.ntr_lambda = float(ntr_kappa), float(ntr_lambda)
        self.ntr_scale_weight = bool(ntr_scale_weight)
        self.loss_weight = float(loss_weight)
        freq = None
        if class_freq is not None:  # clamp once (warning once), so batches never warn again
            freq = LF.sanitize_class_freq(class_freq, train_num if ntr else None, what="loss")
        self.register_buffer("class_freq", freq, persistent=False)
        self.train_num = train_num
        cb = LF.class_balanced_weights(freq, cb_beta) if reweight == "cb" and freq is not None else None
        self.register_buffer("cb_weight", cb, persistent=False)
        bias = None
        if ntr and freq is not None and train_num is not None:
            bias = LF.negative_tolerant_bias(freq, train_num, ntr_kappa)
        self.register_buffer("ntr_bias", bias, persistent=False)

    def weights(self, targets: torch.Tensor) -> torch.Tensor | None:
        """The re-weighting term for a batch of targets, or ``None``."""
        if self.reweight == "cb" and self.cb_weight is not None:
            return self.cb_weight.to(targets.device)
        if self.reweight == "db" and self.class_freq is not None:
            return LF.rebalanced_weights(
                targets, self.class_freq, self.db_alpha, self.db_beta, self.db_mu
            )
        return None

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        fn = LF.balanced_loss_fused if _use_fused(self.fused, targets, "BalancedLoss") else LF.balanced_loss
        return fn(
            logits,
            targets,
            weight=self.weights(targets),
            ntr_bias=self.ntr_bias,
            ntr_lambda=self.ntr_lambda,
            ntr_scale_weight=self.ntr_scale_weight,
            focal=self.focal,
            gamma=self.gamma,
            alpha=self.alpha,
            loss_weight=self.loss_weight,
        )

    def extra_repr(self) -> str:
        return (
            f"reweight={self.reweight!r}, ntr={self.ntr}, focal={self.focal}, "
            f"loss_weight={self.loss_weight}"
        )


class ZLPRLoss(nn.Module):
    """Multi-label softmax cross-entropy (ZLPR); predict a label where its logit is > 0.

    ``fused='auto'`` (default) uses one autograd node for {0, 1} targets and the reference
    implementation for soft ones; ``True`` always fuses (soft targets raise); ``False``
    always uses the reference, which also supports double backward.
    """

    def __init__(self, class_freq: Any = None, train_num: int | None = None, loss_weight: float = 1.0,
                 fused: str | bool = "auto") -> None:
        super().__init__()
        self.loss_weight, self.fused = float(loss_weight), _check_fused(fused)

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        if _use_fused(self.fused, targets, "ZLPRLoss"):
            return LF.zlpr_loss_fused(logits, targets, self.loss_weight)
        return LF.zlpr_loss(logits, targets) * self.loss_weight
