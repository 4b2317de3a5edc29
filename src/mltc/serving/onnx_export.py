"""ONNX export of a saved model's network (featurisation stays in mltc's saved featurizer).

- TF-IDF linear models: ``scores = activation(features @ W + b)`` with a dense ``features``
  input of shape (batch, vocabulary), as produced by the saved TF-IDF featurizer.
- Transformer models: inputs ``input_ids`` and ``attention_mask`` (batch, tokens; both
  dynamic) from the saved tokenizer.

The output ``scores`` are the model's task's scores (:meth:`mltc.tasks.Task.torch_scores`),
the graph includes them: multi-label, (batch, labels) sigmoid probabilities (SVM: margins);
fine-grained, (batch, aspects, levels) with the softmax over each aspect's levels applied, so
the consumer takes the argmax over the last axis for each aspect's level. Scores match
:meth:`~mltc.classifier.Classifier.scores` within 1e-5 (tested).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn


class _DenseLinear(nn.Module):
    """``task scores(features @ W + b)`` on a dense feature matrix."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, task) -> None:
        super().__init__()
        self.weight = nn.Parameter(weight.detach().clone(), requires_grad=False)
        self.bias = nn.Parameter(bias.detach().clone(), requires_grad=False)
        self.task = task

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.task.torch_scores(features @ self.weight + self.bias)


class _Scored(nn.Module):
    """A transformer classifier with its task's scores, on plain tensors."""

    def __init__(self, network: nn.Module, task) -> None:
        super().__init__()
        self.network, self.task = network, task

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.task.torch_scores(self.network(input_ids=input_ids, attention_mask=attention_mask.bool()))


def _export(module: nn.Module, example: tuple, path: Path, input_names: list[str], seq_dim: bool = False) -> None:
    """torch.export-based ONNX export with a dynamic batch (and sequence) dimension."""
    module.eval()
    batch = torch.export.Dim("batch")
    dims = {0: batch, 1: torch.export.Dim("tokens")} if seq_dim else {0: batch}
    program = torch.onnx.export(module, example, input_names=input_names, output_names=["scores"],
                                dynamic_shapes=tuple(dict(dims) for _ in input_names), dynamo=True, verbose=False)
    assert program is not None  # dynamo=True returns the exported program
    program.save(str(path))


def export_onnx(clf, path: str | Path) -> Path:
    """Write ``clf``'s network as ONNX to ``path``; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    spec = clf.network_spec
    if spec["class"] == "SparseLinear" and not spec["options"].get("hidden_size"):
        net = clf.network
        module = _DenseLinear(net.embedding.weight, net.bias, clf.task)
        example = (torch.zeros(2, spec["input_size"]),)
        _export(module, example, path, ["features"])
        return path
    if spec["class"] == "TransformerClassifier":
        ids = torch.full((2, 8), clf.featurizer.tokenizer.pad_token_id or 0, dtype=torch.long)
        mask = torch.ones((2, 8), dtype=torch.long)
        _export(_Scored(clf.network, clf.task), (ids, mask), path, ["input_ids", "attention_mask"], seq_dim=True)
        return path
    raise NotImplementedError(f"ONNX export supports TF-IDF linear and transformer models; "
                              f"{clf.model_name} ({spec['class']}) is not")


def onnx_inputs(clf, texts) -> dict[str, np.ndarray]:
    """The inputs the exported model expects, from the saved featurizer."""
    if clf.network_spec["class"] == "TransformerClassifier":
        batch = clf.featurizer.batch(clf.featurizer.encode(list(texts)), np.arange(len(texts)))
        return {"input_ids": batch["input_ids"].numpy(), "attention_mask": batch["attention_mask"].long().numpy()}
    return {"features": clf.featurizer.encode(list(texts)).toarray().astype(np.float32)}
