"""The Classifier: featurizer + network + label space + decision + config, saved as one folder.

``Classifier.predict`` is the only prediction path; the CLI, the server and the tests all
call it. A saved folder holds JSON and safetensors only (no pickle anywhere)::

    mltc.json          format, model name, activation, network class and sizes
    labels.json        the label space (names, training frequencies)
    featurizer.json    the fitted vectorizer / vocabulary
    decision.json      the fitted decision (thresholds)
    config.json        the training configuration
    metrics.json       validation (and test) scores
    model.safetensors  the network weights
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import numpy as np
import torch
from safetensors.torch import load_model, save_model
from torch import nn

from .data.examples import Example
from .data.labels import LabelSpace
from .decision import Decision, FixedThreshold, TopK, decision_from_dict
from .io import atomic_directory, write_json
from .metrics import evaluate as evaluate_predictions
from .metrics.classification import confusion_counts, prf_from_counts
from .modelcheck import (ModelFormatError, blame, check_decision_dict, check_labels_dict, check_weights_match,
                         open_model_meta, read_model_json, safetensors_shapes, scrub_config)
from .models.featurizers import Featurizer, featurizer_from_dict
from .models.registry import NETWORKS

FORMAT = "mltc-model"
FORMAT_VERSION = 1
ACTIVATIONS = ("sigmoid", "identity")


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


def build_network(spec: dict[str, Any]) -> nn.Module:
    cls = NETWORKS.get(spec["class"])
    if cls is None:
        raise ValueError(f"unknown network class {spec['class']!r} in the model folder")
    return cls(spec["input_size"], spec["num_labels"], **spec.get("options", {}))


def load_network(spec: dict[str, Any], folder: Path, meta_path: Path) -> nn.Module:
    """Build the network ``mltc.json`` describes and load ``model.safetensors`` into it.

    The description is first built on the ``meta`` device (no memory) and compared with
    the weights file's header, so a damaged or inconsistent folder fails with one
    :class:`~mltc.modelcheck.ModelFormatError` before anything large is allocated.
    """
    weights = folder / "model.safetensors"
    header = safetensors_shapes(weights)
    with blame(meta_path, "the network it describes cannot be built"), torch.device("meta"):
        skeleton = build_network(spec)
    expected = {k: (tuple(v.shape), v.is_floating_point()) for k, v in skeleton.state_dict().items()}
    check_weights_match(expected, header, weights, meta_path)
    with blame(meta_path, "the network it describes cannot be built"):
        network = build_network(spec)
    with blame(weights, "cannot load the weights"):
        load_model(network, str(weights), strict=True, device="cpu")
    if hasattr(network, "validate"):
        with blame(weights, "inconsistent sparse weights"):
            network.validate()  # type: ignore[operator]  # hasattr() does not narrow a Module
    bad = [k for k, v in network.state_dict().items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise ModelFormatError(weights, f"tensor {bad[0]!r} holds NaN or infinite values")
    return network.eval()


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
    """A trained multi-label text classifier.

    Attributes
    ----------
    featurizer : Featurizer
    network : nn.Module
    label_space : LabelSpace
    decision : Decision
    activation : {'sigmoid', 'identity'}
        How logits become scores (``identity`` for SVM margins).
    config, metrics : dict
    """

    def __init__(self, featurizer: Featurizer, network: nn.Module, network_spec: dict[str, Any], label_space: LabelSpace,
                 decision: Decision, model_name: str, activation: str = "sigmoid", config: dict | None = None,
                 metrics: dict | None = None) -> None:
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}")
        self.featurizer, self.network, self.network_spec = featurizer, network, network_spec
        self.label_space, self.decision, self.model_name = label_space, decision, model_name
        self.activation, self.config, self.metrics = activation, dict(config or {}), dict(metrics or {})

    @property
    def labels(self) -> list[str]:
        return list(self.label_space.labels)

    # ---------------------------------------------------------------- scoring
    def _check_texts(self, texts: Sequence[str]) -> list[str]:
        if isinstance(texts, str):
            raise TypeError("predict takes a list of texts, not one string")
        texts = list(texts)
        bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
        if bad:
            raise TypeError(f"text {bad[0]} is {type(texts[bad[0]]).__name__}, not str")
        return texts

    @torch.no_grad()
    def logits(self, texts: Sequence[str], batch_size: int = 256) -> np.ndarray:
        """Raw scores (texts x labels) as float32."""
        texts = self._check_texts(texts)
        self.network.eval()
        device = next(self.network.parameters()).device
        out = [np.zeros((0, self.label_space.num_labels), np.float32)]
        for start in range(0, len(texts), batch_size):
            chunk = texts[start:start + batch_size]
            enc = self.featurizer.encode(chunk)
            batch = self.featurizer.batch(enc, np.arange(len(chunk)))
            out.append(self.network(**{k: v.to(device) for k, v in batch.items()}).float().cpu().numpy())
        return np.concatenate(out)

    def scores_from_logits(self, logits: np.ndarray) -> np.ndarray:
        if self.activation == "sigmoid":
            return 1.0 / (1.0 + np.exp(-np.clip(logits, -80, 80)))
        return logits

    def scores(self, texts: Sequence[str], batch_size: int = 256) -> np.ndarray:
        """Scores used by the decision: probabilities (sigmoid) or margins (identity)."""
        return self.scores_from_logits(self.logits(texts, batch_size))

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
        return self.decision.predict(scores)

    def predict(self, texts: Sequence[str], threshold: float | None = None, top_k: int | None = None,
                batch_size: int = 256, return_scores: str = "predicted") -> list[dict[str, Any]]:
        """Predict label sets.

        Returns one dict per text: ``{"labels": [...], "scores": {label: score}}``;
        ``return_scores`` is ``'predicted'`` (scores of the predicted labels), ``'all'`` or
        ``'none'``.
        """
        s = self.scores(texts, batch_size)
        return self.format_predictions(s, self.decide(s, threshold, top_k), return_scores)

    def format_predictions(self, scores: np.ndarray, pred: np.ndarray, return_scores: str = "predicted") -> list[dict[str, Any]]:
        """Result dicts from scores and boolean predictions (shared by the API, the CLI and the server)."""
        if return_scores not in ("predicted", "all", "none"):
            raise ValueError(f"return_scores must be 'predicted', 'all' or 'none', got {return_scores!r}")
        names = self.label_space.labels
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

    def predict_stream(self, texts: Iterable[str], batch_size: int = 256, **options: Any) -> Iterator[dict[str, Any]]:
        """Predict an iterable of any length in batches, holding one batch in memory."""
        for chunk in batched(texts, batch_size):
            yield from self.predict(chunk, batch_size=batch_size, **options)

    # ------------------------------------------------------------- evaluation
    def evaluate(self, examples: Sequence[Example], scores: np.ndarray | None = None, **options: Any) -> dict:
        """The paper's full breakdown on labelled examples (see :func:`mltc.metrics.evaluate`).

        Labels the model never saw in training are counted in ``unseen_labels``. ``total``
        scores the label columns seen in training; ``total_with_unseen`` also counts every gold
        occurrence of an unseen label as a miss. ``ranking`` (P@k, nDCG@k) averages over texts
        with at least one gold label seen in training; ``ranking_all_texts`` over all texts
        (a text without such a label scores 0). ``conventions`` says so in words.
        """
        enc = self.label_space.encode(e.labels for e in examples)
        if scores is None:
            scores = self.scores([e.text for e in examples])
        pred = self.decide(scores, options.pop("threshold", None), options.pop("top_k", None))
        report = evaluate_predictions(enc.Y, pred, scores, class_freq=self.label_space.class_freq_,
                                      label_names=self.label_space.labels, **options)
        report["unseen_labels"] = dict(enc.unseen)
        report["texts_with_unseen_labels"] = enc.texts_with_unseen
        report["decision"] = self.decision.to_dict()
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

    # ------------------------------------------------------------ persistence
    def save(self, folder: str | os.PathLike) -> Path:
        """Write the model folder atomically (a crash leaves the old folder or none)."""
        folder = Path(folder)
        with atomic_directory(folder) as tmp:
            write_json(tmp / "mltc.json", {"format": FORMAT, "version": FORMAT_VERSION, "model": self.model_name,
                                           "activation": self.activation, "network": self.network_spec,
                                           "labels": self.label_space.num_labels})
            write_json(tmp / "labels.json", self.label_space.to_dict())
            write_json(tmp / "featurizer.json", self.featurizer.to_dict(), indent=None)
            self.featurizer.save_files(tmp)
            write_json(tmp / "decision.json", self.decision.to_dict())
            write_json(tmp / "config.json", scrub_config(self.config))
            write_json(tmp / "metrics.json", self.metrics)
            save_model(self.network, str(tmp / "model.safetensors"), metadata={"format": FORMAT})
        return folder

    @classmethod
    def load(cls, folder: str | os.PathLike) -> "Classifier":
        """Load a model folder written by :meth:`save` (JSON and safetensors only).

        Every file is checked before use, and the files against each other (label
        counts, vocabulary and network sizes, thresholds); stored paths resolve inside
        the folder only.

        Raises
        ------
        FileNotFoundError
            ``folder`` holds no ``mltc.json``.
        ModelFormatError
            A file is missing, damaged or disagrees with another; the message names it.
        """
        folder = model_folder(folder)
        meta_path, meta = open_model_meta(folder, FORMAT, FORMAT_VERSION, list(NETWORKS))
        if meta.get("activation", "sigmoid") not in ACTIVATIONS:
            raise ModelFormatError(meta_path, f"'activation' must be one of {ACTIVATIONS}, found {meta['activation']!r}")
        spec = meta["network"]
        n = spec["num_labels"]
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
        config, metrics = read_model_json(folder / "config.json"), read_model_json(folder / "metrics.json")
        feat_path = folder / "featurizer.json"
        featurizer = featurizer_from_dict(read_model_json(feat_path), folder, feat_path)
        check_featurizer_fits(featurizer, spec, feat_path, meta_path)
        network = load_network(spec, folder, meta_path)
        return cls(featurizer, network, spec, label_space, decision, meta["model"], meta.get("activation", "sigmoid"),
                   config, metrics)


def load(folder: str | os.PathLike):
    """Load a saved model folder: ``mltc.load("runs/reuters-db")`` (multi-label or fine-grained)."""
    folder = model_folder(folder)
    if read_model_json(folder / "mltc.json").get("format") == "mltc-fine-grained":
        from .finegrained import GradedClassifier
        return GradedClassifier.load(folder)
    return Classifier.load(folder)
