"""The task seam: what a model predicts, separate from how it featurises and which network it runs.

A :class:`Task` owns everything that depends on the kind of target and nothing else:

- the output space (``num_outputs`` network outputs, their names) and its description;
- training: which fitter may train it and which options it refuses (``fitter``,
  ``check_config``, ``resolve``), fitting the output space on training data (``fitted``),
  encoding targets, the loss and its R-Drop term, the output-bias start, the validation
  score that early stopping follows, and the fitted decision (``validate``, ``finish``);
- prediction: network outputs to scores (``scores``; ``torch_scores`` for training and
  export), scores to decisions (``decide``, with the threshold / top-k overrides it allows),
  result dicts (``format_predictions``) and evaluation on labelled examples (``evaluate``);
- persistence: what ``mltc.json`` says about the task (``to_meta``) and the task's own files
  (``save_files`` / ``load``), every value checked as untrusted input.

The trainer (:mod:`mltc.training.trainer`), the :class:`~mltc.classifier.Classifier`, the
server and the ONNX export call these methods and never ask which task they hold.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Sequence

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from torch import nn


class OverrideRefused(ValueError):
    """A decision override (threshold, top-k) that the model's task cannot honour."""


class Task:
    """Base class of the tasks in :data:`mltc.tasks.TASKS` (see the module docstring)."""

    #: the task's name in :data:`mltc.tasks.TASKS` and in ``mltc.json``
    name: ClassVar[str] = ""
    #: the ``mltc.json`` format version a model of this task is written with
    format_version: ClassVar[int] = 1

    # ------------------------------------------------------------- output space
    @property
    def num_outputs(self) -> int:  # pragma: no cover - abstract
        """The number of network outputs (logits per text)."""
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:  # pragma: no cover - abstract
        """What ``GET /v1/model`` says about the task (plain JSON values)."""
        raise NotImplementedError

    def outputs(self) -> dict[str, Any]:  # pragma: no cover - abstract
        """What ``GET /v1/labels`` returns: the label set, or the aspects and levels."""
        raise NotImplementedError

    # ------------------------------------------------------------------ training
    def fitter(self, config: Any) -> str | None:
        """The fitter that must train this task (after refusing what it cannot honour), or None: the model's own."""
        return None

    def check_config(self, config: Any) -> None:
        """Refuse, before any work, training options this task cannot honour (raises ``OptionError``)."""

    def resolve(self, cfg: Any) -> Any:
        """The config with the task's own settings (loss, decision) filled in, before the model's and the
        fitter's defaults fill the remaining ``None`` fields."""
        return cfg

    def check_data(self, train: Sequence[Any], validation: Sequence[Any]) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def fitted(self, train: Sequence[Any], validation: Sequence[Any], labels: Sequence[str] | None = None,
               config: Any = None) -> "Task":
        """A new task whose output space is fitted on the training examples (and which trains with the loss
        of ``config``, the resolved training config, where the task's behaviour depends on it)."""
        raise NotImplementedError  # pragma: no cover - abstract

    def train_targets(self, examples: Sequence[Any]) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def validation_targets(self, examples: Sequence[Any]) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def target_text(self, example: Any) -> str:  # pragma: no cover - abstract
        """An example's target as one string (for the run fingerprint of resumable checkpoints)."""
        raise NotImplementedError

    def fingerprint_names(self) -> list[str]:  # pragma: no cover - abstract
        """The output names the run fingerprint records (resume refuses another output space)."""
        raise NotImplementedError

    def init_network(self, network: nn.Module, targets: torch.Tensor) -> None:
        """Start the network's output bias at the training priors (when it has one); called after ``make_loss``."""

    def make_loss(self, cfg: Any, targets: torch.Tensor) -> nn.Module:  # pragma: no cover - abstract
        raise NotImplementedError

    def rdrop_kl(self, logits1: torch.Tensor, logits2: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def sgd_scale(self, batch_rows: int) -> float:
        """SGD steps on the sum of the loss's entries: the factor from the loss to that sum."""
        return float(batch_rows)

    def validate(self, cfg: Any, scores: np.ndarray, Y: np.ndarray) -> tuple[dict[str, float], float, str]:
        """One epoch's validation: (history fields, the score early stopping maximises, a log text)."""
        raise NotImplementedError  # pragma: no cover - abstract

    def finish(self, cfg: Any, scores: np.ndarray, Y: np.ndarray) -> dict[str, Any]:
        """Fit the final decision on validation scores; returns the validation metrics."""
        raise NotImplementedError  # pragma: no cover - abstract

    def loss_resolved(self, cfg: Any) -> dict[str, Any]:  # pragma: no cover - abstract
        """The loss with every constant, as recorded in ``config.json``."""
        raise NotImplementedError

    # ----------------------------------------------------------------- prediction
    def torch_scores(self, logits: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        """Scores from logits in torch (training's validation passes, ONNX export)."""
        raise NotImplementedError

    def scores(self, logits: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        """Scores from float32 logits (texts x outputs)."""
        raise NotImplementedError

    def override_problem(self, threshold: float | None, top_k: int | None) -> str | None:
        """Why a threshold / top-k override cannot be applied (None: it can)."""
        return None

    def check_override(self, threshold: Any, top_k: Any) -> None:
        """Refuse an override of ``predict`` / ``evaluate`` before any work (CLI)."""
        problem = self.override_problem(threshold, top_k)
        if problem:
            raise OverrideRefused(problem)

    def decide(self, scores: np.ndarray, threshold: float | None = None,
               top_k: int | None = None) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def format_predictions(self, scores: np.ndarray, pred: np.ndarray,
                           return_scores: str = "predicted") -> list[dict[str, Any]]:  # pragma: no cover - abstract
        raise NotImplementedError

    def evaluate(self, examples: Sequence[Any], scores: np.ndarray, **options: Any) -> dict[str, Any]:
        raise NotImplementedError  # pragma: no cover - abstract

    # ---------------------------------------------------------------- persistence
    def to_meta(self) -> dict[str, Any]:
        """The ``task`` entry of ``mltc.json``."""
        return {"name": self.name}

    def save_files(self, folder: Path) -> None:
        """Write the task's own files into a model folder being saved."""

    @classmethod
    def load(cls, folder: Path, meta: dict[str, Any], meta_path: Path,
             num_outputs: int) -> "Task":  # pragma: no cover - abstract
        """Rebuild the task of a model folder, checking its files against ``num_outputs``."""
        raise NotImplementedError


RETURN_SCORES = ("predicted", "all", "none")


def check_return_scores(return_scores: str) -> None:
    if return_scores not in RETURN_SCORES:
        raise ValueError(f"return_scores must be 'predicted', 'all' or 'none', got {return_scores!r}")
