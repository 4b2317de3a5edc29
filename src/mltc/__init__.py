"""mltc: multi-label text classification for long-tailed labels.

Balanced losses (Huang et al., EMNLP 2021), CPU and transformer models, thresholds tuned on
validation data, the paper's evaluation breakdown, comparison grids, saved models, serving.

The names below are imported on first use (PEP 562), so ``import mltc`` and the default
``mltc train`` (TF-IDF + linear SVMs) do not import torch, which costs more than a second
of every command; the neural models, the losses and saved-model loading import it when used.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .registry import lazy_exports

__version__ = "0.1.0"

#: public name -> module it lives in
_LAZY = {"Classifier": "classifier", "load": "classifier", "LabelSpace": "data", "load_dataset": "data",
         "make_loss": "losses", "ModelFormatError": "modelcheck", "TrainConfig": "training",
         "Trainer": "training", "train": "training"}

__all__ = ["Classifier", "load", "LabelSpace", "load_dataset", "make_loss", "ModelFormatError", "TrainConfig", "Trainer",
           "train", "__version__"]

if TYPE_CHECKING:  # pragma: no cover
    from .classifier import Classifier, load
    from .data import LabelSpace, load_dataset
    from .losses import make_loss
    from .modelcheck import ModelFormatError
    from .training import TrainConfig, Trainer, train

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
