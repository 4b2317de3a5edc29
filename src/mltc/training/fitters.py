"""The fitters behind :func:`mltc.train`, one registry: :data:`FITTERS`.

Each entry is a factory ``(config, progress) -> object with fit(train, validation, out_dir,
resume, labels)`` with metadata:

``uses``
    The :class:`~mltc.training.TrainConfig` fields it reads; an option set for a fitter that
    does not read it is refused (:func:`mltc.options.check_options_used`), never ignored.
    A model adds its own (``MODELS`` metadata ``uses``, e.g. ``encoder``).
``optimizers``
    The ``optimizer`` values that select it for a model it can fit.
``defaults``
    What fills ``None`` fields (:func:`~mltc.training.config.resolve_config`); ``loss`` and
    ``decision`` are also what ``--help`` names as the defaults.
``how``
    How a run gets this fitter, for messages.
"""
from __future__ import annotations

import logging

from ..registry import Lazy
from .config import LINEAR_DEFAULT_LOSS, TrainConfig
from .registry import FITTERS, fitter_name

log = logging.getLogger("mltc")

#: what every fitter reads
_COMMON = ("model", "decision", "decision_options", "featurizer_options", "seed", "validation_size")
_LOSS = ("loss", "loss_preset", "loss_options")


def held_out_validation(train, config: TrainConfig, labelled: bool = True) -> tuple[list, list]:
    """(training, validation) for a run given no validation texts: ``config.validation_size`` of the
    training texts held out with ``config.seed`` (:func:`mltc.data.holdout.hold_out`), said in a
    warning; refused when ``validation_size`` is 0."""
    from ..data.holdout import hold_out
    share = float(config.validation_size)
    if share <= 0:
        raise ValueError("no validation texts, and validation_size is 0: give validation texts (--validation) or "
                         "a share of the training texts to hold out (--validation-size, e.g. 0.1)")
    tr, va = hold_out(train, share, config.seed, (lambda e: e.labels) if labelled else None)
    log.warning("no validation texts given: %d of the %d training texts (%.0f%%, seed %d) held out to choose the "
                "decision; --validation-size sets the share, --validation gives a file", len(va), len(train),
                100 * len(va) / len(train), config.seed)
    return tr, va


def _svm(config, progress):
    from .svm import fit_svm

    class _Svm:
        def fit(self, train, validation, out_dir=None, resume=False, labels=None):
            return fit_svm(train, validation, config, out_dir, labels)
    return _Svm()


FITTERS.register(
    # the fitter classes are imported when a run uses them (the neural trainer imports torch)
    "linear", Lazy("mltc.training.linear:LinearFitter"),
    help="full-batch L-BFGS / LIBLINEAR over TF-IDF with cross-validated thresholds",
    uses=(*_COMMON, *_LOSS, "optimizer", "threads", "solver_options", "cv_folds", "cv_objective", "cv_split"),
    optimizers=("lbfgs",), defaults={"loss": LINEAR_DEFAULT_LOSS, "decision": "auto"},
    how="tfidf-linear without --optimizer, or with lbfgs")
FITTERS.register(
    "neural", Lazy("mltc.training.trainer:Trainer"), help="minibatch epochs for every network (early stopping on validation)",
    uses=(*_COMMON, *_LOSS, "network_options", "epochs", "batch_size", "lr", "optimizer", "weight_decay",
          "warmup_ratio", "schedule", "clip_norm", "patience", "min_epochs", "keep_checkpoint", "eval_batch_size", "precision",
          "grad_accum", "device", "rdrop_alpha", "fgm_epsilon", "gp_epsilon", "threads"),
    optimizers=("adamw", "sgd", "adagrad"),
    defaults={"loss": "db", "decision": "global", "weight_decay": 0.01, "optimizer": "adamw", "lr": 1e-3,
              "epochs": 20, "batch_size": 32, "clip_norm": 5.0},
    how="a neural --model, or tfidf-linear with --optimizer sgd/adamw/adagrad")
FITTERS.register(
    "svm", _svm, help="the paper's one-vs-rest LinearSVC baseline",
    uses=(*_COMMON, "svm_c", "svm_class_weight"), defaults={"decision": "global"}, how="--model svm")


def train(train, validation, config: TrainConfig | None = None, out_dir=None, resume: bool = False, labels=None,
          progress: bool | None = None, task=None, hooks=()):
    """Train any model (``config.model`` may be ``'svm'``) and return a Classifier.

    Every option is checked first: its range (:func:`~mltc.options.validate_train_config`) and that
    the chosen fitter reads it (:func:`~mltc.options.check_options_used`; an option that differs from
    its default counts as set). ``task`` (:mod:`mltc.tasks`) is what the model predicts; None:
    multi-label over ``labels``. A task that names its fitter (graded: the neural trainer) refuses,
    before any work, the options it cannot honour. ``hooks``: extra
    :class:`~mltc.training.hooks.TrainingHook` objects for the neural trainer's loop (refused for
    the other fitters, which have no loop).
    """
    from ..options import check_options_used, validate_train_config
    config = config or TrainConfig()
    hooks = list(hooks)
    if train and not validation:
        validate_train_config(config)
        train, validation = held_out_validation(train, config, labelled=task is None)
    if task is not None and task.fitter(config) == "neural":
        from .trainer import Trainer
        return Trainer(config, progress, task=task, hooks=hooks).fit(train, validation, out_dir, resume, labels)
    name = fitter_name(config)
    validate_train_config(config)
    check_options_used(config, fitters=(name,))
    if hooks and name != "neural":
        raise ValueError(f"training hooks run in the neural trainer's loop; the {name} fitter has none "
                         f"(choose a neural model or optimizer, e.g. --optimizer sgd)")
    fitter = FITTERS[name](config, progress, hooks=hooks) if hooks else FITTERS[name](config, progress)
    clf = fitter.fit(train, validation, out_dir, resume, labels)
    from ..decision.edges import grid_edge_note
    note = grid_edge_note(clf.decision) if clf.task.name == "multi-label" else None
    if note:
        log.warning("%s", note)
    return clf
