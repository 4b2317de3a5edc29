"""Training: fitters behind one registry, configs, resumable checkpoints.

Fitters (each returns the same :class:`~mltc.classifier.Classifier`), the entries of
:data:`FITTERS` (:mod:`mltc.training.fitters`):

- ``linear``: ``tfidf-linear`` fitted full-batch with L-BFGS and cross-validated thresholds
  (:mod:`mltc.training.linear`), the default;
- ``neural``: the minibatch training loop for every network (:mod:`mltc.training.trainer`);
- ``svm``: the paper's TF-IDF + one-vs-rest LinearSVC baseline (:mod:`mltc.training.svm`).

The neural loop's regularisers (R-Drop, FGM, the gradient penalty) are hooks
(:mod:`mltc.training.hooks`); ``Trainer(config, hooks=[...])`` adds yours.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..registry import lazy_exports

from .config import TrainConfig, resolve_config
from .loading import load_train_config, merge_config, read_config_file
from .fitters import train
from .registry import FITTERS, fitter_name, used_fields

#: imported on first use (PEP 562): the neural trainer and its hooks import torch, which the
#: default linear run never needs
_LAZY = {"LinearFitter": "linear", "fit_svm": "svm", "Trainer": "trainer",
         **dict.fromkeys(("FGMHook", "GradientPenalty", "RDrop", "TrainingContext", "TrainingHook",
                          "hooks_from_config"), "hooks")}

if TYPE_CHECKING:  # pragma: no cover
    from .hooks import FGMHook, GradientPenalty, RDrop, TrainingContext, TrainingHook, hooks_from_config
    from .linear import LinearFitter
    from .svm import fit_svm
    from .trainer import Trainer

__all__ = ["TrainConfig", "Trainer", "LinearFitter", "fit_svm", "train", "read_config_file", "FITTERS", "fitter_name",
           "used_fields", "merge_config", "load_train_config", "resolve_config", "TrainingHook", "TrainingContext", "RDrop",
           "FGMHook", "GradientPenalty", "hooks_from_config"]

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
