"""The fitter registry, :data:`FITTERS`, on its own: :mod:`mltc.training.fitters` fills it.

Kept apart from the fitters themselves so that the configuration (which reads a fitter's
defaults) does not import the fitters (which import the configuration).
"""
from __future__ import annotations

from typing import Any

from ..registry import Registry

#: fitter name -> factory ``(config, progress)`` with metadata ``uses``, ``optimizers``, ``defaults``, ``how``
FITTERS = Registry("fitter", defaults={"uses": (), "optimizers": (), "defaults": {}, "how": ""})


def fitter_name(config: Any) -> str:
    """Which fitter trains ``config``: the model's first fitter (``MODELS`` metadata ``fitters``) unless
    ``optimizer`` selects another of its fitters (``tfidf-linear``: ``linear`` by default and with
    ``lbfgs``, ``neural`` with ``sgd``/``adamw``/``adagrad``)."""
    from ..models.registry import MODELS
    key = MODELS.find(config.model)
    if key is None:
        raise ValueError(f"unknown model {config.model!r}; choose one of {', '.join(MODELS)}")
    fitters = MODELS.meta(key, "fitters")
    if config.optimizer is not None:
        for name in fitters:
            if config.optimizer in FITTERS.meta(name, "optimizers"):
                return name
        if any("optimizer" in FITTERS.meta(n, "uses") for n in fitters):
            owner = next((n for n in FITTERS if config.optimizer in FITTERS.meta(n, "optimizers")), None)
            if owner is None:
                raise ValueError(f"unknown optimizer {config.optimizer!r}")
            raise ValueError(f"optimizer {config.optimizer!r} selects the {owner} fitter "
                             f"({FITTERS.meta(owner, 'how')}), which does not fit model {key!r}")
    return fitters[0]


def used_fields(fitter: str, model: str) -> frozenset[str]:
    """The config fields a run of ``model`` with ``fitter`` reads."""
    from ..models.registry import MODELS
    extra = MODELS.meta(model, "uses") if model in MODELS else ()
    return frozenset(FITTERS.meta(fitter, "uses")) | (frozenset(extra) if fitter != "svm" else frozenset())
