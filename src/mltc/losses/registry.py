"""The loss registry, :data:`LOSSES`, and the loss-constants presets, :data:`LOSS_CONSTANTS`.

A loss is one call::

    LOSSES.register("my-loss", factory, aliases=("mine",), decision="global", help="...")

``factory(class_freq, train_num, **options)`` returns an ``nn.Module`` computing
``loss(logits, targets)``. Metadata (all optional):

``options``
    The default keyword options, a dict or ``f(constants) -> dict`` of the loss-constants
    preset (:data:`LOSS_CONSTANTS`); what :func:`~mltc.losses.loss_config` returns and
    what ``loss_options`` may override.
``extra_options``
    Further option names the factory accepts without a default.
``decision``
    The decision this loss implies (``'zero'`` for ZLPR: its logit 0); ``None`` (the
    default): the fitter's own default.
``fitters``
    The fitters that can train it (default ``('neural',)``; the linear fitter fits the
    built-in balanced family and ZLPR, and ``sq-hinge`` only).
``display``
    The name in the paper's tables (default: the name in capitals).
``tasks``
    The tasks (:mod:`mltc.tasks`) that train with it (default both, ``multi-label`` and
    ``graded``; ``sq-hinge`` is multi-label only, ``ce`` graded only).

Every spelling of a loss (``'NTR_FL'``, ``'ntrfl'``, ``'multilabel-softmax'``) resolves to
its canonical name here and nowhere else: :func:`canonical_loss_name`.
"""
from __future__ import annotations

from typing import Any, Iterator, Mapping

from ..registry import Lazy, Registry


#: losses by name; see the module docstring
LOSSES = Registry("loss", defaults={"decision": None, "fitters": ("neural",), "options": None, "extra_options": (),
                                   "tasks": ("multi-label", "graded")})

#: loss-constants presets: the dataset-specific constants of Huang et al. (2021), Table 5
LOSS_CONSTANTS = Registry("loss-constants preset")

#: Shared constants of REFERENCE.md section 2 (dataset independent).
COMMON = dict(gamma=2.0, alpha=0.5, cb_beta=0.9, db_alpha=0.1, db_beta=10.0, ntr_kappa=0.05, ntr_lambda=2.0)

#: The balanced family, the rows of Huang et al. (2021) Table 2: name -> (re-weighting, NTR, focal)
BALANCED_VARIANTS: dict[str, tuple[str, bool, bool]] = {
    "bce": ("none", False, False),
    "fl": ("none", False, True),
    "cb": ("cb", False, True),
    "r-fl": ("db", False, True),
    "ntr-fl": ("none", True, True),
    "db-0fl": ("db", True, False),
    "cb-ntr": ("cb", True, True),
    "db": ("db", True, True),
}

_BALANCED_HELP = {
    "bce": "binary cross-entropy", "fl": "focal loss", "cb": "class-balanced focal loss",
    "r-fl": "distribution-balanced re-weighting + focal", "ntr-fl": "negative-tolerant regularisation + focal",
    "db-0fl": "DB without focal", "cb-ntr": "class-balanced + NTR + focal",
    "db": "distribution-balanced loss (re-weighting + NTR + focal; the neural models' default)",
}
_BALANCED_ALIASES = {"fl": ("focal",)}

LOSS_CONSTANTS.register("reuters", {
    "db_mu": 0.9,
    "loss_weight": {"bce": 1, "fl": 1, "cb": 10, "r-fl": 1, "ntr-fl": 1, "db-0fl": 0.5, "cb-ntr": 10, "db": 1, "zlpr": 1},
}, help="the paper's constants for Reuters-21578 (DB mu 0.9); the default for every data set")
LOSS_CONSTANTS.register("pubmed", {
    "db_mu": 0.05,
    "loss_weight": {"bce": 1, "fl": 1, "cb": 5, "r-fl": 1, "ntr-fl": 0.5, "db-0fl": 0.5, "cb-ntr": 10, "db": 1, "zlpr": 1},
}, help="the paper's constants for PubMed (DB mu 0.05)")


def _balanced_options(name: str):
    reweight, ntr, focal = BALANCED_VARIANTS[name]

    def options(constants: Mapping[str, Any]) -> dict[str, Any]:
        return dict(COMMON, reweight=reweight, ntr=ntr, focal=focal, db_mu=constants["db_mu"],
                    loss_weight=constants["loss_weight"][name], ntr_scale_weight=True)
    return options


for _name in BALANCED_VARIANTS:
    # the torch modules are imported when a loss is built: reading names and metadata needs no torch
    LOSSES.register(_name, Lazy("mltc.losses.modules:BalancedLoss"), aliases=_BALANCED_ALIASES.get(_name, ()),
                    help=_BALANCED_HELP[_name], options=_balanced_options(_name), extra_options=("fused",),
                    fitters=("linear", "neural"), display=_name.upper())
LOSSES.register("zlpr", Lazy("mltc.losses.modules:ZLPRLoss"), aliases=("multilabel-softmax",), decision="zero",
                help="multi-label softmax cross-entropy (decided at logit 0)",
                options=lambda c: {"loss_weight": c["loss_weight"]["zlpr"]}, extra_options=("fused", "ntr_scale_weight"),
                fitters=("linear", "neural"), display="ZLPR")
LOSSES.register("sq-hinge", None, aliases=("squared-hinge", "l2-svm"), fitters=("linear",), display="SQ-HINGE",
                tasks=("multi-label",), help="squared hinge, LIBLINEAR's L2-loss SVM (the linear fitter only; its default)")
LOSSES.register("ce", None, aliases=("cross-entropy",), fitters=("neural",), display="CE", tasks=("graded",),
                help="cross-entropy over the levels of each aspect (fine-grained models only; their default)")


def check_loss_task(loss: Any, task: str) -> None:
    """Raise ``ValueError`` when ``loss`` (a registered name in any spelling) is not for ``task``."""
    if isinstance(loss, str) and loss in LOSSES:
        tasks = LOSSES.meta(loss, "tasks")
        if task not in tasks:
            others = ", ".join(n for n in LOSSES if task in LOSSES.meta(n, "tasks"))
            words = {"graded": "fine-grained", "multi-label": "multi-label"}
            raise ValueError(f"{LOSSES.canonical(loss)!r} is for {' and '.join(words.get(t, t) for t in tasks)} models "
                             f"only; {words.get(task, task)} models take one of {others}")


def canonical_loss_name(name: str) -> str:
    """Normalise a loss name: ``'NTR-FL'``, ``'ntr_fl'`` and ``'ntrfl'`` all give ``'ntr-fl'``."""
    return LOSSES.canonical(name)


def loss_decision(name: str | None) -> str | None:
    """The decision a loss implies (``'zero'`` for ZLPR and its aliases), else ``None``."""
    return None if name is None or name not in LOSSES else LOSSES.meta(name, "decision")


def torch_losses():
    """A live sequence of the losses that build a torch module (every loss but the linear fitter's own)."""
    return LOSSES.view(lambda e: e.obj is not None)


class _DisplayNames(Mapping[str, str]):
    """Display names of the registered losses, as in the paper (read from :data:`LOSSES`)."""

    def __getitem__(self, name: str) -> str:
        if name not in LOSSES:
            raise KeyError(name)
        entry = LOSSES.entry(name, resolve=False)
        return entry.get("display") or entry.name.upper()

    def __iter__(self) -> Iterator[str]:
        return iter(LOSSES)

    def __len__(self) -> int:
        return len(LOSSES)


#: name -> the paper's display name (``'db-0fl'`` -> ``'DB-0FL'``), following registrations
DISPLAY_NAMES = _DisplayNames()
