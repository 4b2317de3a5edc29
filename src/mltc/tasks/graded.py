"""The graded (fine-grained) task: each of K aspects takes one of L ordered levels.

The network has K*L outputs, read as one softmax over the L levels per aspect (aspect ``k``'s
level ``l`` is output ``k*L + l``); the decision is the most probable level of each aspect, so a
threshold or top-k override is refused, never ignored. Early stopping follows the mean
per-aspect macro-F1 (over levels) on validation; evaluation reports per-aspect accuracy,
macro-F1, RMSE over level values and a confusion matrix per aspect
(:func:`mltc.metrics.graded.graded_metrics`).

The loss (:mod:`mltc.tasks.graded_loss`) is cross-entropy summed over aspects (``ce``, the
default), or any multi-label loss of :data:`~mltc.losses.LOSSES` the neural trainer fits (the
balanced losses of Huang et al., EMNLP 2021, ZLPR) on the flattened one-hot (aspect, level)
targets, with class frequencies per (aspect, level) cell. The scores are the same for every
loss, a softmax per aspect (:meth:`GradedTask.scores` says why). The loss is recorded in
``config.json`` (``loss``, ``loss_resolved``) and, when not ``ce``, in the task entry of
``mltc.json``; a folder without it (every earlier one) holds a ``ce`` model.

Only the neural trainer trains it: the SVM and the full-batch L-BFGS fitter of
``tfidf-linear`` are multi-label fitters (``tfidf-linear`` trains with its minibatch default,
SGD), and the multi-label decisions and their options are refused before any work.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from ..data.graded import GradedExample
from ..metrics.graded import graded_metrics
from ..modelcheck import check_graded_task, graded_task_loss
from ..options import OptionError, refuse_set_fields
from .base import OverrideRefused, Task, check_return_scores
from .graded_loss import (build_graded_loss, check_loss_config, graded_loss_name, initial_bias,
                          resolved_loss)

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from torch import nn

#: options of the multi-label task and of its linear / SVM fitters, refused when set (with why)
NOT_APPLICABLE = {
    "decision": "each aspect takes its most probable level (argmax); thresholds do not apply",
    "decision_options": "each aspect takes its most probable level (argmax); thresholds do not apply",
    "solver_options": "the full-batch linear fitter is multi-label only",
    "cv_folds": "cross-validated thresholds are multi-label only",
    "cv_objective": "cross-validated thresholds are multi-label only",
    "cv_split": "cross-validated thresholds are multi-label only",
    "svm_c": "the SVM baseline is multi-label only",
    "svm_class_weight": "the SVM baseline is multi-label only",
}
REFUSED_OVERRIDE = ("a threshold or top-k override does not apply to a fine-grained model: each aspect takes its "
                    "most probable level")


def check_levels(rows: Sequence[GradedExample], k: int, split: str) -> None:
    """Every example carries ``k`` integer levels >= 0 (a clear error naming the first that does not)."""
    for i, e in enumerate(rows):
        levels = getattr(e, "levels", None)
        if (not isinstance(levels, (tuple, list)) or len(levels) != k
                or any(isinstance(l, bool) or not isinstance(l, (int, np.integer)) or l < 0 for l in levels)):
            raise ValueError(f"{split} example {i}: expected {k} levels (integers >= 0), found {levels!r}")


class GradedTask(Task):
    """K aspects x L levels.

    Parameters
    ----------
    aspects : sequence of str, optional
        Aspect names (default: ``aspect_0, ...``, as many as the examples have levels).
    levels : sequence of str, optional
        Names of the levels 0..L-1 (default: ``"0", "1", ...`` up to the largest level seen).
    loss : str
        The loss the model was trained with (``ce`` unless set by training from the config's
        ``loss``, or read from a saved folder); the scores do not depend on it.
    """

    name = "graded"
    format_version = 2

    def __init__(self, aspects: Sequence[str] | None = None, levels: Sequence[str] | None = None,
                 loss: str = "ce") -> None:
        self.aspects = list(aspects) if aspects is not None else None
        self.levels = list(levels) if levels is not None else None
        self.loss = loss
        for what, names in (("aspect", self.aspects), ("level", self.levels)):
            if names is not None and (not names or len(set(names)) != len(names)
                                      or any(not isinstance(n, str) or not n.strip() for n in names)):
                raise ValueError(f"{what} names must be distinct non-empty strings, got {names!r}")

    @property
    def fitted_aspects(self) -> list[str]:
        """The aspect names; a :class:`ValueError` before the task is fitted."""
        if self.aspects is None:
            raise ValueError("the graded task has no aspects yet: fit it on training data first")
        return self.aspects

    @property
    def fitted_levels(self) -> list[str]:
        """The level names; a :class:`ValueError` before the task is fitted."""
        if self.levels is None:
            raise ValueError("the graded task has no levels yet: fit it on training data first")
        return self.levels

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.fitted_aspects), len(self.fitted_levels)

    @property
    def num_outputs(self) -> int:
        return len(self.fitted_aspects) * len(self.fitted_levels)

    def describe(self) -> dict[str, Any]:
        return {"task": self.name, "aspects": self.aspects, "levels": self.levels, "decision": "argmax",
                "loss": self.loss}

    def outputs(self) -> dict[str, Any]:
        return {"aspects": self.aspects, "levels": self.levels}

    # ------------------------------------------------------------------ training
    def fitter(self, config: Any) -> str:
        self.check_config(config)
        return "neural"

    def check_config(self, config: Any) -> None:
        why = "a fine-grained model trains with the neural trainer"
        if str(config.model).lower() == "svm":
            raise OptionError("model", f"a neural model, not svm ({why}; the SVM baseline is multi-label only)",
                              config.model)
        if config.optimizer == "lbfgs":
            raise OptionError("optimizer", f"sgd, adamw or adagrad ({why}; the full-batch lbfgs fitter is "
                                           "multi-label only)", config.optimizer)
        check_loss_config(config)
        refuse_set_fields(config, NOT_APPLICABLE, "for a fine-grained model")

    def resolve(self, cfg: Any) -> Any:
        """The loss (``ce`` when left out, before the neural fitter's default could fill it) and the argmax."""
        return dataclasses.replace(cfg, loss=graded_loss_name(cfg.loss), decision="argmax", decision_options={})

    def check_data(self, train: Sequence[GradedExample], validation: Sequence[GradedExample]) -> None:
        if not train:
            raise ValueError("no training texts")
        if not validation:
            raise ValueError("no validation texts: early stopping needs a validation split")

    def fitted(self, train: Sequence[GradedExample], validation: Sequence[GradedExample],
               labels: Sequence[str] | None = None, config: Any = None) -> "GradedTask":
        if labels is not None:
            raise ValueError("a fine-grained model takes its aspects from GradedTask(aspects=...), not labels")
        k = len(self.aspects) if self.aspects is not None else len(train[0].levels)
        check_levels(train, k, "training")
        check_levels(validation, k, "validation")
        top = 1 + max(max(e.levels) for rows in (train, validation) for e in rows)
        levels = self.levels if self.levels is not None else [str(i) for i in range(top)]
        if top > len(levels):
            raise ValueError(f"level {top - 1} found but only {len(levels)} level names given ({', '.join(levels)})")
        loss = self.loss if config is None else graded_loss_name(config.loss)
        return GradedTask(self.aspects or [f"aspect_{i}" for i in range(k)], levels, loss)

    def train_targets(self, examples: Sequence[GradedExample]) -> torch.Tensor:
        import torch
        return torch.tensor([e.levels for e in examples], dtype=torch.long).reshape(-1, len(self.fitted_aspects))

    def validation_targets(self, examples: Sequence[GradedExample]) -> np.ndarray:
        return np.array([e.levels for e in examples], dtype=np.int64).reshape(-1, len(self.fitted_aspects))

    def target_text(self, example: GradedExample) -> str:
        return ",".join(str(int(l)) for l in example.levels)

    def fingerprint_names(self) -> list[str]:
        return [f"aspect:{a}" for a in self.fitted_aspects] + [f"level:{l}" for l in self.fitted_levels]

    def init_network(self, network: nn.Module, targets: torch.Tensor) -> None:
        output_bias = getattr(network, "output_bias", None)
        if callable(output_bias):
            import torch
            with torch.no_grad():
                output_bias().copy_(initial_bias(self.loss, targets.numpy(), len(self.fitted_levels)))

    def make_loss(self, cfg: Any, targets: torch.Tensor) -> nn.Module:
        """The loss of ``cfg.loss`` (:func:`~mltc.tasks.graded_loss.build_graded_loss`), which must be the
        task's own (``fitted(..., config=cfg)`` or ``GradedTask(loss=...)``): the task's R-Drop term, SGD
        scale and saved description follow it."""
        name = graded_loss_name(cfg.loss)
        try:
            own = graded_loss_name(self.loss)  # any spelling, as the config's
        except ValueError:  # a loss this installation does not know (a saved plugin's): the name as saved
            own = self.loss
        if name != own:
            raise ValueError(f"this task trains with the {self.loss!r} loss, the config asks for {name!r}: make the "
                             f"loss from the task fitted with the config (GradedTask.fitted(..., config=cfg))")
        return build_graded_loss(cfg, targets, *self.shape)

    def rdrop_kl(self, logits1: torch.Tensor, logits2: torch.Tensor) -> torch.Tensor:
        """The symmetric KL of the level distributions (``ce``), or the per-cell Bernoulli KL (the other losses)."""
        if self.loss == "ce":
            from ..losses.graded import categorical_rdrop_kl
            return categorical_rdrop_kl(logits1, logits2, len(self.fitted_levels))
        from ..losses import rdrop_kl
        return rdrop_kl(logits1, logits2)

    def sgd_scale(self, batch_rows: int) -> float:
        """Per (text, aspect) for ``ce`` (a sum over aspects per text); per (text, cell) for the means over cells."""
        return float(batch_rows) if self.loss == "ce" else float(batch_rows * self.num_outputs)

    def validate(self, cfg: Any, scores: np.ndarray, Y: np.ndarray) -> tuple[dict[str, float], float, str]:
        mean = graded_metrics(Y, scores.argmax(-1), self.fitted_aspects, len(self.fitted_levels))["mean"]
        return ({f"val_{k}": v for k, v in mean.items()}, mean["macro_f1"],
                f"val mean accuracy {mean['accuracy']:.2f}  macro-F1 {mean['macro_f1']:.2f}  RMSE {mean['rmse']:.3f}")

    def finish(self, cfg: Any, scores: np.ndarray, Y: np.ndarray) -> dict[str, Any]:
        return graded_metrics(Y, scores.argmax(-1), self.fitted_aspects, len(self.fitted_levels))

    def loss_resolved(self, cfg: Any) -> dict[str, Any]:
        return resolved_loss(cfg)

    # ----------------------------------------------------------------- prediction
    def torch_scores(self, logits: torch.Tensor) -> torch.Tensor:
        import torch
        return torch.softmax(logits.reshape(-1, *self.shape), -1)

    def scores(self, logits: np.ndarray) -> np.ndarray:
        """(texts, aspects, levels) probabilities: the softmax over each aspect's L logits, for every loss.

        A model trained with a multi-label loss on the one-hot (aspect, level) targets reads each
        cell as an independent Bernoulli ``p = sigmoid(z)``. Conditioned on what its targets
        guarantee, exactly one level per aspect, level ``l`` of aspect ``k`` has probability
        ``odds(p_kl) / sum_m odds(p_km)`` with ``odds(p) = p / (1 - p) = exp(z)``: exactly
        ``softmax(z_k)_l``. The predicted level (the argmax) is the same as the argmax of the
        sigmoids. With re-weighting, NTR or focal modulation these are scores normalised per
        aspect rather than calibrated probabilities, as the multi-label scores of those losses
        are; ZLPR compares logits with each other, which the softmax keeps. So a loaded model
        predicts the same way whatever its loss, and the ONNX export is one graph for all.
        """
        z = np.asarray(logits, dtype=np.float32).reshape(-1, *self.shape)
        e = np.exp(z - z.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)

    def override_problem(self, threshold: float | None, top_k: int | None) -> str | None:
        return REFUSED_OVERRIDE if threshold is not None or top_k is not None else None

    def decide(self, scores: np.ndarray, threshold: float | None = None, top_k: int | None = None) -> np.ndarray:
        """The most probable level of each aspect, (texts, aspects); an override is refused."""
        if threshold is not None or top_k is not None:
            raise OverrideRefused(REFUSED_OVERRIDE)
        return np.asarray(scores).argmax(-1)

    def format_predictions(self, scores: np.ndarray, pred: np.ndarray,
                           return_scores: str = "predicted") -> list[dict[str, Any]]:
        """``{"aspects": {aspect: {"level": l, "level_name": name, "probabilities": [L values]}}}`` per text
        (``return_scores='none'``: without the probabilities)."""
        check_return_scores(return_scores)
        out = []
        for row_s, row_p in zip(scores, pred):
            item = {}
            for k, a in enumerate(self.fitted_aspects):
                level = int(row_p[k])
                item[a] = {"level": level, "level_name": self.fitted_levels[level]}
                if return_scores != "none":
                    item[a]["probabilities"] = [round(float(p), 6) for p in row_s[k]]
            out.append({"aspects": item})
        return out

    def evaluate(self, examples: Sequence[GradedExample], scores: np.ndarray, **options: Any) -> dict[str, Any]:
        """Per-aspect accuracy, macro-F1 over levels, RMSE and confusion; means over aspects."""
        pred = self.decide(scores, options.pop("threshold", None), options.pop("top_k", None))
        if options:
            raise TypeError(f"unknown evaluation option(s) for a fine-grained model: {', '.join(sorted(options))}")
        check_levels(examples, len(self.fitted_aspects), "evaluation")
        gold = self.validation_targets(examples)
        if gold.size and (gold.min() < 0 or gold.max() >= len(self.fitted_levels)):
            raise ValueError(f"gold levels must lie in 0..{len(self.fitted_levels) - 1} (this model's levels: "
                             f"{', '.join(self.fitted_levels)})")
        return graded_metrics(gold, pred, self.fitted_aspects, len(self.fitted_levels))

    # ---------------------------------------------------------------- persistence
    def to_meta(self) -> dict[str, Any]:
        """The task entry; ``loss`` only when not ``ce`` (so ``ce`` folders are as before)."""
        entry = {"name": self.name, "aspects": self.aspects, "levels": self.levels, "decision": "argmax"}
        return {"task": entry if self.loss == "ce" else {**entry, "loss": self.loss}}

    @classmethod
    def load(cls, folder: Path, meta: dict[str, Any], meta_path: Path, num_outputs: int) -> "GradedTask":
        aspects, levels = check_graded_task(meta.get("task"), meta_path, num_outputs)
        return cls(aspects, levels, graded_task_loss(meta.get("task"), meta_path))
