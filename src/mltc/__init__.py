"""mltc: multi-label text classification for long-tailed labels.

Balanced losses (Huang et al., EMNLP 2021), CPU and transformer models, thresholds tuned on
validation data, the paper's evaluation breakdown, comparison grids, saved models, serving.
"""
from .classifier import Classifier, load
from .data import LabelSpace, load_dataset
from .losses import make_loss
from .modelcheck import ModelFormatError
from .training import TrainConfig, Trainer, train

__version__ = "0.1.0"
__all__ = ["Classifier", "load", "LabelSpace", "load_dataset", "make_loss", "ModelFormatError", "TrainConfig", "Trainer",
           "train", "__version__"]
