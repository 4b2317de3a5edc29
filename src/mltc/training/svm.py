"""The SVM baseline of Huang et al. (2021): TF-IDF + one-vs-rest linear SVM.

TF-IDF with scikit-learn defaults (word unigrams; character 1-2 grams for CJK text), one
``LinearSVC(C=1)`` per label, ``class_weight`` None or ``'balanced'``, decided at margin 0
or with one global threshold tuned on validation micro-F1 over -1.0, -0.9, ..., 1.0. The
fitted hyperplanes are stored as the same linear weights as ``tfidf-linear``, with
``identity`` activation, so the SVM saves, loads, predicts and serves like any model.
"""
from __future__ import annotations

import dataclasses
import time
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.svm import LinearSVC

from ..classifier import Classifier
from ..data.examples import Example
from ..data.labels import LabelSpace
from ..decision import make_decision
from ..metrics import micro_macro
from ..models.featurizers import TfidfFeaturizer
from ..models.linear_weights import LinearWeights
from ..options import validate_train_config
from .config import TrainConfig

SVM_TFIDF = dict(analyzer="auto", ngram_range=(1, 1), char_ngram_range=(1, 2), sublinear_tf=False,
                 max_features=None, min_df=1)


def fit_svm(train: Sequence[Example], validation: Sequence[Example], config: TrainConfig | None = None,
            out_dir: str | Path | None = None, labels: Sequence[str] | None = None) -> Classifier:
    """Train the SVM baseline; ``config.decision`` is ``'zero'`` or ``'global'``."""
    cfg = config or TrainConfig(model="svm", decision="zero")
    validate_train_config(cfg)
    decision_name = cfg.decision or "global"
    cfg = dataclasses.replace(cfg, decision=decision_name)
    started = time.time()
    space = LabelSpace(labels).fit(e.labels for e in train)
    featurizer = TfidfFeaturizer(**{**SVM_TFIDF, **cfg.featurizer_options}).fit([e.text for e in train])
    X = featurizer.encode([e.text for e in train])
    Y = space.encode(e.labels for e in train).Y
    coef = np.zeros((space.num_labels, featurizer.input_size), dtype=np.float32)
    intercept = np.full(space.num_labels, -1.0, dtype=np.float32)  # a label never seen: always negative
    for j in range(space.num_labels):
        y = Y[:, j].astype(np.int32)
        if y.min() == y.max():
            intercept[j] = 1.0 if y.min() == 1 else -1.0
            continue
        svm = LinearSVC(C=cfg.svm_c, class_weight=cfg.svm_class_weight, random_state=cfg.seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            svm.fit(X, y)
        coef[j], intercept[j] = svm.coef_[0], svm.intercept_[0]
    network = LinearWeights(coef.T, intercept)  # saved as the dense SparseLinear network
    net_spec = network.spec
    decision = make_decision(decision_name, "identity", **cfg.decision_options)
    clf = Classifier(featurizer, network, net_spec, space, decision, "svm", "identity", cfg.to_dict(), {})
    val_scores = clf.scores([e.text for e in validation])
    Y_va = space.encode(e.labels for e in validation).Y
    decision.fit(val_scores, Y_va)
    clf.metrics = {"validation": micro_macro(Y_va, decision.predict(val_scores)),
                   "train_seconds": round(time.time() - started, 3)}
    if out_dir is not None:
        clf.save(Path(out_dir) / "model")
    return clf
