"""Balanced losses for long-tailed multi-label classification (usable on their own).

>>> from mltc.losses import make_loss
>>> loss = make_loss("db", class_freq=counts, train_num=n_train, preset="reuters")
>>> value = loss(logits, targets)
"""
from .functional import (
    balanced_loss,
    balanced_loss_fused,
    binary_cross_entropy,
    class_balanced_weights,
    estimate_db_mu,
    focal_factor,
    negative_tolerant_bias,
    negative_tolerant_logits,
    rebalanced_weights,
    zlpr_loss,
    zlpr_loss_fused,
)
from .modules import BalancedLoss, ZLPRLoss
from .presets import DISPLAY_NAMES, LOSS_NAMES, PRESETS, canonical_loss_name, loss_config, make_loss
from .regularizers import FGM, gradient_penalty, rdrop_kl

__all__ = [
    "BalancedLoss", "ZLPRLoss", "make_loss", "loss_config", "canonical_loss_name",
    "LOSS_NAMES", "PRESETS", "DISPLAY_NAMES",
    "balanced_loss", "binary_cross_entropy", "class_balanced_weights", "estimate_db_mu",
    "focal_factor", "negative_tolerant_bias", "negative_tolerant_logits", "rebalanced_weights",
    "zlpr_loss", "balanced_loss_fused", "zlpr_loss_fused", "rdrop_kl", "FGM", "gradient_penalty",
]
