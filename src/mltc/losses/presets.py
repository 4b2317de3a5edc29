"""The one loss factory, :func:`make_loss`, over the loss registry.

The losses are the entries of :data:`~mltc.losses.LOSSES` (the eight rows of Huang et al.
(2021), Table 2, ``zlpr`` and any registered loss); their constants come from a
loss-constants preset of :data:`~mltc.losses.LOSS_CONSTANTS` (the paper's Reuters-21578 or
PubMed values). Any constant can be overridden by keyword.

Deprecated names: ``PRESETS`` (now :data:`~mltc.losses.BALANCED_VARIANTS`) and
``DATASET_CONSTANTS`` (now :data:`~mltc.losses.LOSS_CONSTANTS`).
"""
from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from torch import nn

from .registry import BALANCED_VARIANTS, COMMON, DISPLAY_NAMES, LOSS_CONSTANTS, LOSSES, canonical_loss_name, torch_losses

__all__ = ["make_loss", "loss_config", "canonical_loss_name", "LOSSES", "LOSS_CONSTANTS", "LOSS_NAMES",
           "BALANCED_VARIANTS", "COMMON", "DISPLAY_NAMES"]

#: the registered losses that build a torch module (a live sequence: follows ``LOSSES.register``)
LOSS_NAMES = torch_losses()


def loss_config(name: str, preset: str = "reuters", **overrides: Any) -> dict[str, Any]:
    """The keyword arguments :func:`make_loss` passes to the module (for logging/saving).

    ``preset`` names the loss-constants preset (:data:`~mltc.losses.LOSS_CONSTANTS`:
    ``loss_weight`` per loss, the DB ``mu``), not a loss.
    """
    entry = LOSSES.entry(name, resolve=False)
    name = entry.name
    if entry.obj is None:
        raise ValueError(f"loss {name!r} is a loss of the {' and '.join(entry.get('fitters'))} fitter only; "
                         f"it has no torch module")
    if preset not in LOSS_CONSTANTS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(LOSS_CONSTANTS)}")
    options = entry.get("options")
    cfg: dict[str, Any] = dict((options(LOSS_CONSTANTS[preset]) if callable(options) else options) or {})
    unknown = set(overrides) - set(cfg) - set(entry.get("extra_options"))
    if unknown:
        raise TypeError(f"unknown option(s) for loss {name!r}: {', '.join(sorted(unknown))}")
    overrides = dict(overrides)
    if "ntr_scale_weight" in overrides:
        _check_ntr_scale_weight(name, overrides)
        if "ntr_scale_weight" not in cfg:
            overrides.pop("ntr_scale_weight")
    cfg.update(overrides)
    return cfg


def _check_ntr_scale_weight(name: str, overrides: dict[str, Any]) -> None:
    """``ntr_scale_weight=False`` is NTR-FL's compatibility switch and nothing else's.

    The published code forgets to divide the negatives' weight by lambda only when NTR comes
    without re-weighting (NTR-FL); for DB-0FL, CB-NTR and DB it divides, and losses without
    NTR have no such weight. Asking for the switch elsewhere is a mistake, not a no-op.
    """
    if not overrides["ntr_scale_weight"] and name != "ntr-fl":
        raise ValueError(f"ntr_scale_weight=False applies to ntr-fl only (the published NTR-FL); "
                         f"loss {name!r} keeps the paper's weighting")


def make_loss(
    name: str,
    class_freq: Any = None,
    train_num: int | None = None,
    preset: str = "reuters",
    *,
    train_targets: Any = None,
    **overrides: Any,
) -> nn.Module:
    """Build a loss by name.

    Parameters
    ----------
    name : str
        A registered loss (:data:`~mltc.losses.LOSSES`): ``bce, fl, cb, r-fl, ntr-fl, db-0fl,
        cb-ntr, db, zlpr`` or one added with ``LOSSES.register`` (case, ``_``/``-`` and alias
        insensitive).
    class_freq : array-like of shape (C,)
        Training frequency of each label (needed by CB, DB and NTR).
    train_num : int
        Number of training texts (needed by NTR).
    preset : {'reuters', 'pubmed'}
        The loss-constants preset (:data:`~mltc.losses.LOSS_CONSTANTS`: ``loss_weight`` per
        loss, DB ``mu``).
    train_targets : array-like of shape (N, C), optional
        With ``db_mu='auto'``, estimate ``mu`` from these labels as the authors did.
    **overrides
        Any constant: ``gamma, alpha, cb_beta, db_alpha, db_beta, db_mu, ntr_kappa,
        ntr_lambda, loss_weight, ntr_scale_weight, fused``. ``ntr_scale_weight=False``
        reproduces the published code's NTR-FL, which forgets to divide negatives' weight
        by lambda; any other loss refuses it with a ``ValueError``. ``fused='auto'`` (default)
        fuses value and gradient for {0, 1} targets and uses the reference implementation
        for soft ones; ``fused=False`` always uses the reference (needed for double backward).

    Examples
    --------
    >>> loss = make_loss("db", class_freq=[50, 5, 1], train_num=60)
    >>> loss(torch.zeros(2, 3), torch.tensor([[1., 0, 0], [0, 1, 1]]))  # doctest: +SKIP
    """
    cfg = loss_config(name, preset, **overrides)
    factory = LOSSES[name]
    if cfg.get("db_mu") == "auto":
        if train_targets is None:
            raise ValueError("db_mu='auto' needs train_targets")
        from .functional import estimate_db_mu

        cfg["db_mu"] = estimate_db_mu(train_targets, class_freq)
    if train_num is None and class_freq is not None and cfg.get("ntr"):
        raise ValueError(f"loss {name!r} needs train_num")
    return factory(class_freq, train_num, **cfg)


_DEPRECATED = {"PRESETS": ("BALANCED_VARIANTS", lambda: BALANCED_VARIANTS),
               "DATASET_CONSTANTS": ("LOSS_CONSTANTS", lambda: {k: LOSS_CONSTANTS[k] for k in LOSS_CONSTANTS})}


def __getattr__(name: str) -> Any:
    if name in _DEPRECATED:
        new, value = _DEPRECATED[name]
        warnings.warn(f"mltc.losses.{name} is deprecated; use mltc.losses.{new}", DeprecationWarning, stacklevel=2)
        return value()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
