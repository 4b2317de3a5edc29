"""The Classifier: featurizer + network + task (+ config and metrics), saved as one folder.

``Classifier.predict`` is the only prediction path; the CLI, the server and the tests all
call it. What the outputs mean (scores, decision, evaluation, the task's own files) is the
task's (:mod:`mltc.tasks`): multi-label (the default) or graded (K aspects x L levels;
``mltc.json`` version 2, with the aspects and levels in its ``task`` entry). A saved folder
holds JSON and safetensors only (no pickle anywhere)::

    mltc.json          format, model name, task, network class and sizes
    labels.json        multi-label: the label space (names, training frequencies)
    decision.json      multi-label: the fitted decision (thresholds)
    featurizer.json    the fitted vectorizer / vocabulary
    config.json        the training configuration
    metrics.json       validation (and test) scores
    model.safetensors  the network weights

A plain linear model (the default's) is held as :class:`~mltc.models.linear_weights.LinearWeights`
and scored with scipy, so it trains, saves, loads and predicts without importing torch;
``Classifier.network`` still gives its torch module when asked.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Sequence

import numpy as np

from .data.labels import LabelSpace
from .decision import Decision
from .io import atomic_directory, write_json
from .modelcheck import ModelFormatError, open_model_meta, read_model_json, scrub_config
from .models.featurizers import Featurizer, featurizer_from_dict
from .models.linear_weights import LinearWeights
from .models.network_files import build_network, load_network, save_network  # noqa: F401 (their former home)
from .models.registry import NETWORKS
from .tasks import MultiLabelTask, Task, task_from_meta
from .tasks.multilabel import ACTIVATIONS  # noqa: F401 (the former home of ACTIVATIONS)

if TYPE_CHECKING:  # pragma: no cover
    from torch import nn

FORMAT = "mltc-model"
#: the newest format version this mltc reads (multi-label models are still written as 1, graded as 2)
FORMAT_VERSION = 2
#: the former format of fine-grained models (still loaded)
LEGACY_GRADED_FORMAT = "mltc-fine-grained"


def batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """Lists of up to ``size`` consecutive items, read lazily."""
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def check_featurizer_fits(featurizer: Featurizer, spec: dict[str, Any], feat_path: Path, meta_path: Path) -> None:
    """The featurizer's input size (vocabulary) and options agree with the network's description."""
    if featurizer.input_size != spec["input_size"]:
        raise ModelFormatError(feat_path, f"gives {featurizer.input_size} inputs (vocabulary) but the network in "
                                          f"{meta_path} takes {spec['input_size']}")
    options = spec.get("options") or {}
    for key, value in featurizer.network_options().items():
        if options.get(key, 0) != value:
            raise ModelFormatError(feat_path, f"needs network option {key}={value} but {meta_path} has "
                                              f"{options.get(key)!r}")


def model_folder(folder: str | os.PathLike) -> Path:
    """The model folder itself, given it or a training run folder holding ``model/``."""
    folder = Path(folder)
    if not (folder / "mltc.json").exists() and (folder / "model" / "mltc.json").exists():
        folder = folder / "model"  # a training run folder
    if not (folder / "mltc.json").exists():
        raise FileNotFoundError(f"{folder} is not an mltc model folder (no mltc.json)")
    return folder


class Classifier:
    """A trained text classifier: featurizer + network + task.

    The task (:mod:`mltc.tasks`) says what the network's outputs mean: a multi-label label
    set with its fitted decision (the default, built from ``label_space``, ``decision`` and
    ``activation``), or K aspects x L levels (``task=GradedTask(...)``).

    Attributes
    ----------
    featurizer : Featurizer
    network : nn.Module
        The torch network; for a plain linear model over TF-IDF, a module built (once) from
        ``linear_weights``, which is what scores, saves and reloads it (moving or editing this
        module changes neither).
    linear_weights : LinearWeights or None
        A plain linear model's weights in numpy/scipy (no torch), else None.
    task : Task
    label_space, decision, activation
        The multi-label task's label space, fitted decision and score activation
        (``'sigmoid'``, or ``'identity'`` for SVM margins); a graded model has none.
    config, metrics : dict
    """

    def __init__(self, featurizer: Featurizer, network: nn.Module | LinearWeights, network_spec: dict[str, Any],
                 label_space: LabelSpace | None = None, decision: Decision | None = None, model_name: str = "",
                 activation: str = "sigmoid", config: dict | None = None, metrics: dict | None = None, *,
                 task: Task | None = None) -> None:
        if task is not None and (label_space is not None or decision is not None):
            raise ValueError("give a task, or a label space and decision (multi-label), not both")
        self.task = task if task is not None else MultiLabelTask(label_space, decision, activation)
        self.featurizer, self.network_spec = featurizer, network_spec
        self._network: Any = network
        self.model_name, self.config, self.metrics = model_name, dict(config or {}), dict(metrics or {})

    @property
    def network(self) -> nn.Module:
        """The torch network (a linear model's is built from its weights when first asked for)."""
        net = self._network
        return net.to_module() if isinstance(net, LinearWeights) else net

    @network.setter
    def network(self, value: nn.Module | LinearWeights) -> None:
        self._network = value

    @property
    def linear_weights(self) -> LinearWeights | None:
        """The weights of a plain linear model held without torch, else None."""
        return self._network if isinstance(self._network, LinearWeights) else None

    def _multi_label(self, what: str) -> MultiLabelTask:
        if not isinstance(self.task, MultiLabelTask):
            raise AttributeError(f"a {self.task.name} model has no {what} (see Classifier.task)")
        return self.task

    @property
    def label_space(self) -> LabelSpace:
        return self._multi_label("label space").fitted_space

    @property
    def decision(self) -> Decision:
        return self._multi_label("fitted decision").fitted_decision

    @decision.setter
    def decision(self, value: Decision) -> None:
        self._multi_label("fitted decision").decision = value

    @property
    def activation(self) -> str:
        return self._multi_label("activation").activation

    @property
    def labels(self) -> list[str]:
        return self._multi_label("labels").labels

    # ---------------------------------------------------------------- scoring
    def _check_texts(self, texts: Sequence[str]) -> list[str]:
        if isinstance(texts, str):
            raise TypeError("predict takes a list of texts, not one string")
        texts = list(texts)
        bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
        if bad:
            raise TypeError(f"text {bad[0]} is {type(texts[bad[0]]).__name__}, not str")
        return texts

    def logits(self, texts: Sequence[str], batch_size: int = 256) -> np.ndarray:
        """Raw scores (texts x network outputs) as float32."""
        texts = self._check_texts(texts)
        linear = self.linear_weights
        if linear is not None:  # scipy: X @ W + b
            out = [np.zeros((0, self.network_spec["num_labels"]), np.float32)]
            out += [linear.logits(self.featurizer.encode(texts[s:s + batch_size])) for s in range(0, len(texts), batch_size)]
            return np.concatenate(out)
        import torch
        with torch.no_grad():
            return self._torch_logits(texts, batch_size)

    def _torch_logits(self, texts: list[str], batch_size: int) -> np.ndarray:
        self.network.eval()
        device = next(self.network.parameters()).device
        out = [np.zeros((0, self.network_spec["num_labels"]), np.float32)]
        for start in range(0, len(texts), batch_size):
            chunk = texts[start:start + batch_size]
            enc = self.featurizer.encode(chunk)
            batch = self.featurizer.batch(enc, np.arange(len(chunk)))
            out.append(self.network(**{k: v.to(device) for k, v in batch.items()}).float().cpu().numpy())
        return np.concatenate(out)

    def scores_from_logits(self, logits: np.ndarray) -> np.ndarray:
        return self.task.scores(logits)

    def scores(self, texts: Sequence[str], batch_size: int = 256) -> np.ndarray:
        """Scores used by the decision: multi-label probabilities (sigmoid) or margins (identity);
        graded (texts, aspects, levels) probabilities."""
        return self.scores_from_logits(self.logits(texts, batch_size))

    def decide(self, scores: np.ndarray, threshold: float | None = None, top_k: int | None = None) -> np.ndarray:
        """Predictions from scores; ``threshold`` or ``top_k`` override a multi-label model's fitted
        decision (a graded model refuses them: :class:`~mltc.tasks.OverrideRefused`)."""
        return self.task.decide(scores, threshold, top_k)

    def predict(self, texts: Sequence[str], threshold: float | None = None, top_k: int | None = None,
                batch_size: int = 256, return_scores: str = "predicted") -> list[dict[str, Any]]:
        """Predict, one dict per text.

        Multi-label: ``{"labels": [...], "scores": {label: score}}``; ``return_scores`` is
        ``'predicted'`` (scores of the predicted labels), ``'all'`` or ``'none'``. Graded:
        ``{"aspects": {aspect: {"level": l, "level_name": name, "probabilities": [...]}}}``
        (no probabilities with ``'none'``).
        """
        s = self.scores(texts, batch_size)
        return self.format_predictions(s, self.decide(s, threshold, top_k), return_scores)

    def format_predictions(self, scores: np.ndarray, pred: np.ndarray, return_scores: str = "predicted") -> list[dict[str, Any]]:
        """Result dicts from scores and predictions (shared by the API, the CLI and the server)."""
        return self.task.format_predictions(scores, pred, return_scores)

    def predict_stream(self, texts: Iterable[str], batch_size: int = 256, **options: Any) -> Iterator[dict[str, Any]]:
        """Predict an iterable of any length in batches, holding one batch in memory."""
        for chunk in batched(texts, batch_size):
            yield from self.predict(chunk, batch_size=batch_size, **options)

    # ------------------------------------------------------------- evaluation
    def evaluate(self, examples: Sequence[Any], scores: np.ndarray | None = None, **options: Any) -> dict:
        """Scores on labelled examples, as the task defines them.

        Multi-label: the paper's full breakdown (see :func:`mltc.metrics.evaluate`). Labels
        the model never saw in training are counted in ``unseen_labels``. ``total`` scores the
        label columns seen in training; ``total_with_unseen`` also counts every gold
        occurrence of an unseen label as a miss. ``ranking`` (P@k, nDCG@k) averages over texts
        with at least one gold label seen in training; ``ranking_all_texts`` over all texts
        (a text without such a label scores 0). ``conventions`` says so in words.

        Graded (:class:`~mltc.data.graded.GradedExample`): per-aspect accuracy, macro-F1 over
        levels, RMSE and confusion, and their means over aspects.
        """
        if scores is None:
            scores = self.scores([e.text for e in examples])
        return self.task.evaluate(examples, scores, **options)

    # ------------------------------------------------------------ persistence
    def save(self, folder: str | os.PathLike) -> Path:
        """Write the model folder atomically (a crash leaves the old folder or none)."""
        folder = Path(folder)
        with atomic_directory(folder) as tmp:
            write_json(tmp / "mltc.json", {"format": FORMAT, "version": self.task.format_version,
                                           "model": self.model_name, **self.task.to_meta(),
                                           "network": self.network_spec})
            self.task.save_files(tmp)
            write_json(tmp / "featurizer.json", self.featurizer.to_dict(), indent=None)
            self.featurizer.save_files(tmp)
            write_json(tmp / "config.json", scrub_config(self.config))
            write_json(tmp / "metrics.json", self.metrics)
            save_network(self._network, tmp / "model.safetensors", {"format": FORMAT})
        return folder

    @classmethod
    def load(cls, folder: str | os.PathLike) -> "Classifier":
        """Load a model folder written by :meth:`save` (JSON and safetensors only).

        Every file is checked before use, and the files against each other (label or
        aspect x level counts, vocabulary and network sizes, thresholds); stored paths
        resolve inside the folder only. Folders of the former fine-grained format
        (``mltc-fine-grained``) load too.

        Raises
        ------
        FileNotFoundError
            ``folder`` holds no ``mltc.json``.
        ModelFormatError
            A file is missing, damaged or disagrees with another; the message names it.
        """
        folder = model_folder(folder)
        if read_model_json(folder / "mltc.json").get("format") == LEGACY_GRADED_FORMAT:
            meta_path, meta = open_model_meta(folder, LEGACY_GRADED_FORMAT, 1, list(NETWORKS))
            meta = {**meta, "task": {"name": "graded", "aspects": meta.get("aspects"), "levels": meta.get("levels")}}
        else:
            meta_path, meta = open_model_meta(folder, FORMAT, FORMAT_VERSION, list(NETWORKS))
        spec = meta["network"]
        task = task_from_meta(folder, meta, meta_path, spec["num_labels"])
        config, metrics = read_model_json(folder / "config.json"), read_model_json(folder / "metrics.json")
        feat_path = folder / "featurizer.json"
        featurizer = featurizer_from_dict(read_model_json(feat_path), folder, feat_path)
        check_featurizer_fits(featurizer, spec, feat_path, meta_path)
        network = load_network(spec, folder, meta_path, tfidf_input=featurizer.kind == "tfidf")
        return cls(featurizer, network, spec, model_name=meta["model"], config=config, metrics=metrics, task=task)


def load(folder: str | os.PathLike) -> Classifier:
    """Load a saved model folder: ``mltc.load("runs/reuters-db")`` (multi-label or fine-grained)."""
    return Classifier.load(folder)
