"""Balanced losses for long-tailed multi-label classification (usable on their own).

>>> from mltc.losses import make_loss
>>> loss = make_loss("db", class_freq=counts, train_num=n_train, preset="reuters")
>>> value = loss(logits, targets)

Every loss is an entry of :data:`LOSSES` (:mod:`mltc.losses.registry`); a new one is one
``LOSSES.register(...)`` call, after which ``make_loss``, ``mltc train --loss``, config
validation and both fitters' loss handling know it. ``preset`` names a loss-constants
preset of :data:`LOSS_CONSTANTS`.
"""
import warnings as _warnings
from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from .presets import LOSS_NAMES, loss_config, make_loss
from ..registry import lazy_exports as _lazy_exports
from .registry import (BALANCED_VARIANTS, COMMON, DISPLAY_NAMES, LOSS_CONSTANTS, LOSSES, canonical_loss_name,
                       loss_decision)

#: the torch functions and modules, imported on first use (PEP 562): the registry, ``loss_config``
#: and option checks need no torch, so neither does the default ``mltc train``
_LAZY = {**dict.fromkeys(("balanced_loss", "balanced_loss_fused", "binary_cross_entropy", "class_balanced_weights",
                          "estimate_db_mu", "focal_factor", "negative_tolerant_bias", "negative_tolerant_logits",
                          "rebalanced_weights", "zlpr_loss", "zlpr_loss_fused"), "functional"),
         "BalancedLoss": "modules", "ZLPRLoss": "modules",
         **dict.fromkeys(("FGM", "gradient_penalty", "rdrop_kl"), "regularizers")}

if _TYPE_CHECKING:  # pragma: no cover
    from .functional import (balanced_loss, balanced_loss_fused, binary_cross_entropy, class_balanced_weights,
                             estimate_db_mu, focal_factor, negative_tolerant_bias, negative_tolerant_logits,
                             rebalanced_weights, zlpr_loss, zlpr_loss_fused)
    from .modules import BalancedLoss, ZLPRLoss
    from .regularizers import FGM, gradient_penalty, rdrop_kl

__all__ = [
    "BalancedLoss", "ZLPRLoss", "make_loss", "loss_config", "canonical_loss_name",
    "LOSSES", "LOSS_CONSTANTS", "BALANCED_VARIANTS", "COMMON", "LOSS_NAMES", "DISPLAY_NAMES", "loss_decision",
    "balanced_loss", "binary_cross_entropy", "class_balanced_weights", "estimate_db_mu",
    "focal_factor", "negative_tolerant_bias", "negative_tolerant_logits", "rebalanced_weights",
    "zlpr_loss", "balanced_loss_fused", "zlpr_loss_fused", "rdrop_kl", "FGM", "gradient_penalty",
]


_lazy_getattr, __dir__ = _lazy_exports(__name__, _LAZY, globals())


def __getattr__(name: str) -> _Any:
    if name in _LAZY:
        return _lazy_getattr(name)
    if name in ("PRESETS", "DATASET_CONSTANTS"):  # deprecated aliases (see mltc.losses.presets)
        from . import presets
        _warnings.warn(f"mltc.losses.{name} is deprecated; use mltc.losses."
                       f"{'BALANCED_VARIANTS' if name == 'PRESETS' else 'LOSS_CONSTANTS'}", DeprecationWarning,
                       stacklevel=2)
        with _warnings.catch_warnings():
            _warnings.simplefilter("ignore", DeprecationWarning)
            return getattr(presets, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
