"""The losses of the graded task: ``ce``, or any multi-label loss on one-hot (aspect, level) targets.

``ce`` (the default, also when ``loss`` is left out) is cross-entropy over the L levels of each
aspect, summed over aspects (:class:`~mltc.losses.graded.GradedCrossEntropy`). Every other loss
is a registered multi-label loss of :data:`~mltc.losses.LOSSES` that the neural trainer fits
(the balanced family of Huang et al., EMNLP 2021: ``bce, fl, cb, r-fl, ntr-fl, db-0fl, cb-ntr,
db``; ``zlpr``; any loss added with ``LOSSES.register``), applied to the flattened one-hot
(aspect, level) indicators: logits (n, K*L) against targets (n, K*L) with exactly one positive
per aspect (:class:`~mltc.losses.graded.OneHotLevelsLoss`). Its class frequencies are the
training texts per (aspect, level) cell (:func:`~mltc.losses.graded.cell_frequencies`) and its
``train_num`` the training texts, so CB, DB and NTR weigh the rare levels of each aspect as the
paper weighs rare labels. Such a loss trains the K*L outputs as the multi-label task trains K*L
labels: the output bias starts at the cells' prior logits, R-Drop is the per-cell Bernoulli KL
(:func:`mltc.losses.rdrop_kl`), SGD's learning rate is per (text, cell), ``loss_preset`` and
``loss_options`` set its constants, and the gradient penalty takes its reference implementation.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..losses import LOSS_CONSTANTS, LOSSES, loss_config, make_loss
from ..options import OptionError, refuse_set_fields

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from torch import nn

#: options of the multi-label losses, refused with ``ce`` (with why)
CE_REFUSES = {
    "loss_preset": "the balanced losses' constants do not apply to the per-aspect cross-entropy",
    "loss_options": "the per-aspect cross-entropy has no options",
}


def onehot_losses() -> list[str]:
    """The multi-label losses a fine-grained model trains with on one-hot (aspect, level) targets: every
    registered loss with a torch module that the neural trainer fits (read from :data:`~mltc.losses.LOSSES`
    when called, so a loss added with ``LOSSES.register`` is one)."""
    return LOSSES.names(lambda e: e.obj is not None and "neural" in e.get("fitters") and "graded" in e.get("tasks"))


def graded_loss_name(loss: Any) -> str:
    """The canonical name of a fine-grained model's loss.

    ``'ce'`` for None (the default) or any spelling of the registry's ``ce``; else a loss of
    :func:`onehot_losses` in any spelling or alias (``'DB'``, ``'ntr_fl'``, ``'multilabel-softmax'``).

    Raises
    ------
    OptionError
        Any other value (an unknown loss, or one the neural trainer cannot fit, e.g. ``sq-hinge``).
    """
    if loss is None or LOSSES.find(loss.strip() if isinstance(loss, str) else loss) == "ce":
        return "ce"
    if isinstance(loss, str) and loss in LOSSES and LOSSES.canonical(loss) in onehot_losses():
        return LOSSES.canonical(loss)
    raise OptionError("loss", f"left out (cross-entropy per aspect, the default) or one of {', '.join(onehot_losses())} "
                              "(on the one-hot (aspect, level) targets)", loss)


def check_loss_config(config: Any) -> str:
    """Refuse, before any work, a loss a fine-grained model cannot train with, the loss constants
    with ``ce``, and a preset or option names the multi-label loss does not take; returns the loss."""
    loss = graded_loss_name(config.loss)
    if loss == "ce":
        refuse_set_fields(config, CE_REFUSES, "with loss ce")
        return loss
    if config.loss_preset not in LOSS_CONSTANTS:
        raise OptionError("loss_preset", f"one of {', '.join(LOSS_CONSTANTS)}", config.loss_preset)
    try:
        loss_config(loss, config.loss_preset, **config.loss_options)
    except (TypeError, ValueError) as exc:
        raise OptionError("loss_options", f"options of loss {loss} ({exc})", config.loss_options) from None
    return loss


def build_graded_loss(cfg: Any, levels: torch.Tensor, num_aspects: int, num_levels: int) -> nn.Module:
    """The loss module of ``cfg.loss`` over training ``levels`` (N, K): ``forward(logits, levels)``."""
    from ..losses.graded import GradedCrossEntropy, OneHotLevelsLoss, cell_frequencies, one_hot_levels
    name = graded_loss_name(cfg.loss)
    if name == "ce":
        return GradedCrossEntropy(num_aspects, num_levels)
    # (the trainer asks for the reference backward, fused=False, when a hook differentiates through the loss)
    inner = make_loss(name, cell_frequencies(levels.numpy(), num_levels), len(levels), cfg.loss_preset,
                      train_targets=one_hot_levels(levels, num_levels), **cfg.loss_options)
    return OneHotLevelsLoss(inner, num_levels)


def initial_bias(loss: str, levels: np.ndarray, num_levels: int) -> torch.Tensor:
    """The output bias at the training priors: each aspect's log level frequencies (``ce``: its softmax
    starts at them), or the cells' prior logits (a multi-label loss: each sigmoid starts at its cell's
    frequency, as :class:`~mltc.tasks.MultiLabelTask` starts its labels)."""
    from ..losses.graded import cell_frequencies, level_prior_logits
    from ..models.networks import prior_logits
    if loss == "ce":
        return level_prior_logits(levels, num_levels)
    return prior_logits(cell_frequencies(levels, num_levels), len(levels))


def resolved_loss(cfg: Any) -> dict[str, Any]:
    """The loss with every constant, as recorded in ``config.json`` (``loss_resolved``)."""
    name = graded_loss_name(cfg.loss)
    if name == "ce":
        return {"name": "ce", "form": "cross-entropy over the levels of each aspect, summed over aspects, "
                                      "averaged over texts"}
    return {"name": name, "form": f"{name} on the one-hot (aspect, level) targets (K*L columns, one positive per "
                                  "aspect), class frequencies per (aspect, level) cell; scores: softmax per aspect",
            **loss_config(name, cfg.loss_preset, **cfg.loss_options)}
