"""Named loss presets and the one factory, :func:`make_loss`.

The eight rows of Huang et al. (2021), Table 2, with the constants of the paper for
Reuters-21578 and PubMed, plus ``zlpr``. Any constant can be overridden by keyword.
"""
from __future__ import annotations

from typing import Any

from torch import nn

from .modules import BalancedLoss, ZLPRLoss

#: Shared constants of REFERENCE.md section 2 (dataset independent).
COMMON = dict(gamma=2.0, alpha=0.5, cb_beta=0.9, db_alpha=0.1, db_beta=10.0, ntr_kappa=0.05, ntr_lambda=2.0)

#: name -> (re-weighting, NTR, focal)
PRESETS: dict[str, tuple[str, bool, bool]] = {
    "bce": ("none", False, False),
    "fl": ("none", False, True),
    "cb": ("cb", False, True),
    "r-fl": ("db", False, True),
    "ntr-fl": ("none", True, True),
    "db-0fl": ("db", True, False),
    "cb-ntr": ("cb", True, True),
    "db": ("db", True, True),
}

#: Display names as in the paper.
DISPLAY_NAMES = {
    "bce": "BCE", "fl": "FL", "cb": "CB", "r-fl": "R-FL", "ntr-fl": "NTR-FL",
    "db-0fl": "DB-0FL", "cb-ntr": "CB-NTR", "db": "DB", "zlpr": "ZLPR",
}

#: Dataset-specific constants: loss_weight per preset and the DB ``mu``.
DATASET_CONSTANTS: dict[str, dict[str, Any]] = {
    "reuters": {
        "db_mu": 0.9,
        "loss_weight": {"bce": 1, "fl": 1, "cb": 10, "r-fl": 1, "ntr-fl": 1, "db-0fl": 0.5, "cb-ntr": 10, "db": 1, "zlpr": 1},
    },
    "pubmed": {
        "db_mu": 0.05,
        "loss_weight": {"bce": 1, "fl": 1, "cb": 5, "r-fl": 1, "ntr-fl": 0.5, "db-0fl": 0.5, "cb-ntr": 10, "db": 1, "zlpr": 1},
    },
}

LOSS_NAMES = tuple(PRESETS) + ("zlpr",)

_ALIASES = {"focal": "fl", "rfl": "r-fl", "ntrfl": "ntr-fl", "db0fl": "db-0fl", "cbntr": "cb-ntr", "multilabel-softmax": "zlpr"}


def canonical_loss_name(name: str) -> str:
    """Normalise a loss name: ``'NTR-FL'``, ``'ntr_fl'`` and ``'ntrfl'`` all give ``'ntr-fl'``."""
    key = name.strip().lower().replace("_", "-")
    key = _ALIASES.get(key.replace("-", ""), _ALIASES.get(key, key))
    if key not in LOSS_NAMES:
        raise ValueError(f"unknown loss {name!r}; choose one of {', '.join(LOSS_NAMES)}")
    return key


def loss_config(name: str, preset: str = "reuters", **overrides: Any) -> dict[str, Any]:
    """The keyword arguments :func:`make_loss` passes to the module (for logging/saving)."""
    name = canonical_loss_name(name)
    if preset not in DATASET_CONSTANTS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(DATASET_CONSTANTS)}")
    consts = DATASET_CONSTANTS[preset]
    if name == "zlpr":
        cfg: dict[str, Any] = {"loss_weight": consts["loss_weight"]["zlpr"]}
    else:
        reweight, ntr, focal = PRESETS[name]
        cfg = dict(COMMON, reweight=reweight, ntr=ntr, focal=focal, db_mu=consts["db_mu"],
                   loss_weight=consts["loss_weight"][name], ntr_scale_weight=True)
    unknown = set(overrides) - set(cfg) - {"ntr_scale_weight", "fused"}
    if unknown:
        raise TypeError(f"unknown option(s) for loss {name!r}: {', '.join(sorted(unknown))}")
    overrides = dict(overrides)
    if "ntr_scale_weight" in overrides:
        _check_ntr_scale_weight(name, overrides)
        if name == "zlpr":
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
        One of ``bce, fl, cb, r-fl, ntr-fl, db-0fl, cb-ntr, db, zlpr`` (case and ``_``/``-``
        insensitive).
    class_freq : array-like of shape (C,)
        Training frequency of each label (needed by CB, DB and NTR).
    train_num : int
        Number of training texts (needed by NTR).
    preset : {'reuters', 'pubmed'}
        Dataset constants (``loss_weight`` per loss, DB ``mu``).
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
    if canonical_loss_name(name) == "zlpr":
        return ZLPRLoss(**cfg)
    if cfg.get("db_mu") == "auto":
        if train_targets is None:
            raise ValueError("db_mu='auto' needs train_targets")
        from .functional import estimate_db_mu

        cfg["db_mu"] = estimate_db_mu(train_targets, class_freq)
    if train_num is None and class_freq is not None and cfg["ntr"]:
        raise ValueError(f"loss {name!r} needs train_num")
    return BalancedLoss(class_freq, train_num, **cfg)
