"""The multi-label task: a label set, one score per label, a decision fitted on validation scores.

Scores are sigmoid probabilities (``identity`` margins for the SVM); the loss is any of the
balanced family (:func:`mltc.losses.make_loss`); early stopping follows validation micro-F1
under the fitted decision (:mod:`mltc.decision`). The model folder keeps the label space in
``labels.json`` and the decision in ``decision.json``.
"""
from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from ..data.examples import Example
from ..data.labels import LabelSpace
from ..decision import Decision, FixedThreshold, TopK, decision_from_dict, make_decision
from ..io import summarize_names, write_json
from ..losses import loss_config, make_loss
from ..losses.registry import check_loss_task
from ..metrics import evaluate as evaluate_predictions
from ..metrics import micro_macro
from ..metrics.classification import confusion_counts, prf_from_counts
from ..modelcheck import (ModelFormatError, blame, check_decision_dict, check_labels_dict, only_keys,
                         read_model_json)
from ..options import OptionError, check_decision_override
from .base import Task, check_return_scores

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from torch import nn

log = logging.getLogger("mltc")

ACTIVATIONS = ("sigmoid", "identity")


def check_training_data(train: Sequence[Example], validation: Sequence[Example]) -> None:
    if not train:
        raise ValueError("no training texts")
    if not validation:
        raise ValueError("no validation texts: thresholds and early stopping need a validation split")
    empty = sum(1 for e in train if not e.text.strip())
    if empty:
        warnings.warn(f"{empty} training text(s) are empty; they are kept (they teach the label priors)", UserWarning,
                      stacklevel=4)
    unlabelled = sum(1 for e in train if not e.labels)
    if unlabelled:
        log.info("%d training text(s) carry no label; kept as all-negative examples", unlabelled)


class MultiLabelTask(Task):
    """Multi-label classification over a :class:`~mltc.data.labels.LabelSpace`.

    Parameters
    ----------
    label_space : LabelSpace, optional
        The (fitted) label space; unfitted or None before training.
    decision : Decision, optional
        The fitted decision (None before training).
    activation : {'sigmoid', 'identity'}
        How logits become scores (``identity`` for SVM margins).
    """

    name = "multi-label"
    format_version = 1

    def __init__(self, label_space: LabelSpace | None = None, decision: Decision | None = None,
                 activation: str = "sigmoid") -> None:
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}")
        self.label_space, self.decision, self.activation = label_space, decision, activation

    @property
    def fitted_space(self) -> LabelSpace:
        """The label space, once there is one (a task used before it is fitted raises ``ValueError``)."""
        if self.label_space is None:
            raise ValueError("the multi-label task has no label space yet: it is fitted on the training labels")
        return self.label_space

    @property
    def fitted_decision(self) -> Decision:
        """The fitted decision (a task used before its decision is fitted raises ``ValueError``)."""
        if self.decision is None:
            raise ValueError("the multi-label task has no decision yet: it is fitted on validation scores")
        return self.decision

    @property
    def num_outputs(self) -> int:
        return self.fitted_space.num_labels

    @property
    def labels(self) -> list[str]:
        return list(self.fitted_space.labels)

    def describe(self) -> dict[str, Any]:
        return {"task": self.name, "activation": self.activation, "num_labels": self.fitted_space.num_labels,
                "decision": self.fitted_decision.to_dict()}

    def outputs(self) -> dict[str, Any]:
        space = self.fitted_space
        return {"labels": space.labels, "train_frequency": dict(zip(space.labels, space.class_freq_.tolist()))}

    # ------------------------------------------------------------------ training
    def check_config(self, config: Any) -> None:
        """Refuse a loss of another task (``ce``: the fine-grained models' cross-entropy per aspect)."""
        try:
            check_loss_task(config.loss, "multi-label")
        except ValueError as exc:
            raise OptionError("loss", "a multi-label loss", config.loss, shown=f"{config.loss!r}: {exc}") from None

    def check_data(self, train: Sequence[Example], validation: Sequence[Example]) -> None:
        check_training_data(train, validation)

    def fitted(self, train: Sequence[Example], validation: Sequence[Example],
               labels: Sequence[str] | None = None, config: Any = None) -> "MultiLabelTask":
        if labels is None and self.label_space is not None and self.label_space.labels is not None:
            labels = self.label_space.labels
        return MultiLabelTask(LabelSpace(labels).fit(e.labels for e in train), None, self.activation)

    def train_targets(self, examples: Sequence[Example]) -> torch.Tensor:
        import torch
        return torch.from_numpy(self.fitted_space.encode(e.labels for e in examples).Y.astype(np.float32))

    def validation_targets(self, examples: Sequence[Example]) -> np.ndarray:
        enc = self.fitted_space.encode(e.labels for e in examples)
        if enc.unseen:
            warnings.warn(f"{summarize_names(enc.unseen)} validation label(s) unseen in training are ignored "
                          "for model selection", UserWarning, stacklevel=3)
        return enc.Y

    def target_text(self, example: Example) -> str:
        return "\x1e".join(sorted(example.labels))

    def fingerprint_names(self) -> list[str]:
        return list(self.fitted_space.labels)

    def init_network(self, network: nn.Module, targets: torch.Tensor) -> None:
        output_bias = getattr(network, "output_bias", None)  # a method of the networks that have one
        if callable(output_bias):
            space = self.fitted_space
            import torch

            from ..models.networks import prior_logits
            with torch.no_grad():
                output_bias().copy_(prior_logits(space.class_freq_, space.train_num_))

    def make_loss(self, cfg: Any, targets: torch.Tensor) -> nn.Module:
        """The loss module (the trainer asks for the reference backward, ``fused=False`` in
        ``loss_options``, when a hook differentiates through it)."""
        space = self.fitted_space
        return make_loss(cfg.loss, space.class_freq_, space.train_num_, cfg.loss_preset, train_targets=targets,
                         **cfg.loss_options)

    def rdrop_kl(self, logits1: torch.Tensor, logits2: torch.Tensor) -> torch.Tensor:
        from ..losses import rdrop_kl
        return rdrop_kl(logits1, logits2)

    def sgd_scale(self, batch_rows: int) -> float:
        return float(batch_rows * self.fitted_space.num_labels)  # SGD's lr is per (text, label)

    def validate(self, cfg: Any, scores: np.ndarray, Y: np.ndarray) -> tuple[dict[str, float], float, str]:
        decision = make_decision(cfg.decision, self.activation, **cfg.decision_options).fit(scores, Y)
        val = micro_macro(Y, decision.predict(scores))
        return ({"val_micro_f1": val["micro_f1"], "val_macro_f1": val["macro_f1"]}, val["micro_f1"],
                f"val micro-F1 {val['micro_f1']:.2f}  macro-F1 {val['macro_f1']:.2f}")

    def finish(self, cfg: Any, scores: np.ndarray, Y: np.ndarray) -> dict[str, Any]:
        self.decision = make_decision(cfg.decision, self.activation, **cfg.decision_options).fit(scores, Y)
        return micro_macro(Y, self.fitted_decision.predict(scores))

    def loss_resolved(self, cfg: Any) -> dict[str, Any]:
        return loss_config(cfg.loss, cfg.loss_preset, **cfg.loss_options)

    # ----------------------------------------------------------------- prediction
    def torch_scores(self, logits: torch.Tensor) -> torch.Tensor:
        import torch
        return torch.sigmoid(logits) if self.activation == "sigmoid" else logits

    def scores(self, logits: np.ndarray) -> np.ndarray:
        if self.activation == "sigmoid":
            return 1.0 / (1.0 + np.exp(-np.clip(logits, -80, 80)))
        return logits

    def override_problem(self, threshold: float | None, top_k: int | None) -> str | None:
        if threshold is not None and self.activation == "sigmoid" and not 0.0 <= threshold <= 1.0:
            return "threshold must lie in [0, 1]: this model's scores are probabilities"
        if top_k is not None and top_k > self.fitted_space.num_labels:
            return f"top_k must be at most {self.fitted_space.num_labels}, the number of labels"
        return None

    def check_override(self, threshold: Any, top_k: Any) -> None:
        if threshold is not None or top_k is not None:
            check_decision_override(threshold, top_k, self.activation, self.fitted_space.num_labels)

    def decide(self, scores: np.ndarray, threshold: float | None = None, top_k: int | None = None) -> np.ndarray:
        """Boolean predictions; ``threshold`` or ``top_k`` override the fitted decision."""
        if threshold is not None and top_k is not None:
            raise ValueError("give a threshold or top_k, not both")
        if threshold is not None:
            if not np.isfinite(threshold):
                raise ValueError("threshold must be a finite number")
            return FixedThreshold(float(threshold)).predict(scores)
        if top_k is not None:
            return TopK(top_k).predict(scores)
        return self.fitted_decision.predict(scores)

    def format_predictions(self, scores: np.ndarray, pred: np.ndarray,
                           return_scores: str = "predicted") -> list[dict[str, Any]]:
        """``{"labels": [...], "scores": {label: score}}`` per text, best first."""
        check_return_scores(return_scores)
        names = self.fitted_space.labels
        out = []
        for row_s, row_p in zip(scores, pred):
            idx = np.flatnonzero(row_p)
            idx = idx[np.argsort(-row_s[idx], kind="stable")]
            item: dict[str, Any] = {"labels": [names[j] for j in idx]}
            if return_scores == "predicted":
                item["scores"] = {names[j]: round(float(row_s[j]), 6) for j in idx}
            elif return_scores == "all":
                item["scores"] = {names[j]: round(float(row_s[j]), 6) for j in np.argsort(-row_s, kind="stable")}
            out.append(item)
        return out

    def evaluate(self, examples: Sequence[Example], scores: np.ndarray, **options: Any) -> dict[str, Any]:
        """The paper's breakdown (see :meth:`mltc.classifier.Classifier.evaluate`)."""
        enc = self.fitted_space.encode(e.labels for e in examples)
        pred = self.decide(scores, options.pop("threshold", None), options.pop("top_k", None))
        report = evaluate_predictions(enc.Y, pred, scores, class_freq=self.fitted_space.class_freq_,
                                      label_names=self.fitted_space.labels, **options)
        report["unseen_labels"] = dict(enc.unseen)
        report["texts_with_unseen_labels"] = enc.texts_with_unseen
        report["decision"] = self.fitted_decision.to_dict()
        Yt = np.asarray(enc.Y, dtype=bool)
        unseen = int(sum(enc.unseen.values()))
        tp, fp, fn = (int(c.sum()) for c in confusion_counts(Yt, pred))
        micro = prf_from_counts(tp, fp, fn + unseen, average="micro")
        report["total_with_unseen"] = {"micro_p": 100 * float(micro["precision"]), "micro_r": 100 * float(micro["recall"]),
                                       "micro_f1": 100 * float(micro["f1"]), "unseen_gold_occurrences": unseen}
        if report.get("ranking"):
            share = float(Yt.any(1).mean()) if len(Yt) else 0.0
            report["ranking_all_texts"] = {k: v * share for k, v in report["ranking"].items()}
        report["conventions"] = {
            "total": "label columns seen in training; gold labels unseen in training are not counted "
                     "(total_with_unseen counts them as misses)",
            "ranking": "P@k and nDCG@k averaged over texts with at least one gold label seen in training "
                       "(ranking_all_texts: over all texts, such texts scoring 0)"}
        return report

    # ---------------------------------------------------------------- persistence
    def to_meta(self) -> dict[str, Any]:
        return {"task": {"name": self.name}, "activation": self.activation, "labels": self.fitted_space.num_labels}

    def save_files(self, folder: Path) -> None:
        write_json(folder / "labels.json", self.fitted_space.to_dict())
        write_json(folder / "decision.json", self.fitted_decision.to_dict())

    @classmethod
    def load(cls, folder: Path, meta: dict[str, Any], meta_path: Path, num_outputs: int) -> "MultiLabelTask":
        only_keys(meta.get("task") or {}, ("name",), meta_path, "'task'")
        if meta.get("activation", "sigmoid") not in ACTIVATIONS:
            raise ModelFormatError(meta_path, f"'activation' must be one of {ACTIVATIONS}, found {meta['activation']!r}")
        n = num_outputs
        if meta.get("labels", n) != n:
            raise ModelFormatError(meta_path, f"says {meta['labels']!r} labels but its network has {n} outputs")
        labels_path, decision_path = folder / "labels.json", folder / "decision.json"
        labels_dict = read_model_json(labels_path)
        if len(check_labels_dict(labels_dict, labels_path)) != n:
            raise ModelFormatError(labels_path, f"lists {len(labels_dict['labels'])} labels but the network in "
                                                f"{meta_path} has {n} outputs")
        with blame(labels_path):
            label_space = LabelSpace.from_dict(labels_dict)
        decision_dict = read_model_json(decision_path)
        check_decision_dict(decision_dict, n, decision_path)
        with blame(decision_path):
            decision = decision_from_dict(decision_dict)
        return cls(label_space, decision, meta.get("activation", "sigmoid"))
