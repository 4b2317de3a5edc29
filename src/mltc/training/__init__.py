"""Training: fitters behind one registry, configs, resumable checkpoints.

Fitters (each returns the same :class:`~mltc.classifier.Classifier`):

- ``linear``: ``tfidf-linear`` fitted full-batch with L-BFGS and cross-validated thresholds
  (:mod:`mltc.training.linear`), the default;
- ``neural``: the minibatch training loop for every network (:mod:`mltc.training.trainer`);
- ``svm``: the paper's TF-IDF + one-vs-rest LinearSVC baseline (:mod:`mltc.training.svm`).
"""
from __future__ import annotations

from typing import Callable

from .config import TrainConfig, read_config_file
from .linear import LinearFitter
from .svm import fit_svm
from .trainer import Trainer


def _svm(config, progress):
    class _Svm:
        def fit(self, train, validation, out_dir=None, resume=False, labels=None):
            return fit_svm(train, validation, config, out_dir, labels)
    return _Svm()


#: fitter name -> factory(config, progress) returning an object with ``fit(train, validation, out_dir, resume, labels)``
FITTERS: dict[str, Callable] = {"linear": LinearFitter, "neural": Trainer, "svm": _svm}


def fitter_name(config: TrainConfig) -> str:
    """Which fitter trains ``config``: ``svm`` for the SVM baseline, ``linear`` for ``tfidf-linear`` with
    the ``lbfgs`` optimizer (its default), else ``neural``."""
    if config.model == "svm":
        return "svm"
    if config.model == "tfidf-linear" and config.optimizer in (None, "lbfgs"):
        return "linear"
    if config.optimizer == "lbfgs":
        raise ValueError(f"optimizer 'lbfgs' is the full-batch fitter of tfidf-linear, not of {config.model!r}")
    return "neural"


def train(train, validation, config: TrainConfig | None = None, out_dir=None, resume: bool = False, labels=None,
          progress: bool | None = None, task=None):
    """Train any model (``config.model`` may be ``'svm'``) and return a Classifier.

    ``task`` (:mod:`mltc.tasks`) is what the model predicts; None: multi-label over ``labels``
    (the model's own fitter). A task that names its fitter (graded: the neural trainer)
    refuses, before any work, the options it cannot honour.
    """
    config = config or TrainConfig()
    if task is not None and task.fitter(config) == "neural":
        return Trainer(config, progress, task=task).fit(train, validation, out_dir, resume, labels)
    return FITTERS[fitter_name(config)](config, progress).fit(train, validation, out_dir, resume, labels)


__all__ = ["TrainConfig", "Trainer", "LinearFitter", "fit_svm", "train", "read_config_file", "FITTERS", "fitter_name"]
