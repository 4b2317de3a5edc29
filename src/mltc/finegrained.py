"""Fine-grained multi-label classification: each of K aspects takes one of L ordered levels.

REFERENCE.md section 4 (the seed example: 6 emotions, each 0 none, 1 weak, 2 medium, 3 strong,
written ``"0,1,0,0,2,0"``). A fine-grained model is an ordinary :class:`~mltc.classifier.Classifier`
whose task is :class:`~mltc.tasks.GradedTask`: K*L outputs read as one softmax per aspect,
trained by the shared neural trainer (cross-entropy summed over aspects by default, or any
balanced loss of Huang et al., 2021, or ZLPR, on the one-hot (aspect, level) targets: see
:mod:`mltc.tasks.graded_loss`), saved, loaded, served and exported like any mltc model. This
module keeps the former entry points:

>>> examples, aspects = read_graded("emo_train.tsv")
>>> clf = train_graded(examples, validation, aspects, TrainConfig(model="textcnn"), ["none", "weak", "medium", "strong"])
"""
from __future__ import annotations

import os
from typing import Sequence

from .data.graded import GradedExample, read_graded
from .metrics.graded import graded_metrics
from .tasks import GradedTask
from .training import TrainConfig
from .training import train as _train

#: the former save format of fine-grained models (:func:`mltc.load` still reads it)
FORMAT = "mltc-fine-grained"


def train_graded(train: Sequence[GradedExample], validation: Sequence[GradedExample], aspects: Sequence[str],
                 config: TrainConfig | None = None, level_names: Sequence[str] | None = None,
                 out_dir: str | os.PathLike | None = None, resume: bool = False, progress: bool | None = None):
    """Train a fine-grained model: ``mltc.train(..., task=GradedTask(aspects, level_names))``.

    ``config.loss`` left out trains with cross-entropy per aspect; any loss of
    :func:`mltc.tasks.graded_loss.onehot_losses` trains on the one-hot (aspect, level) targets.
    Early stopping follows the mean per-aspect macro-F1 on validation; the model is saved in
    ``out_dir/model`` when ``out_dir`` is given.
    """
    return _train(train, validation, config or TrainConfig(), out_dir=out_dir, resume=resume, progress=progress,
                  task=GradedTask(aspects, level_names))


__all__ = ["GradedExample", "read_graded", "graded_metrics", "train_graded", "GradedTask", "FORMAT"]
