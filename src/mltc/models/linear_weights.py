"""A fitted linear model held in numpy and scipy: ``scores = X @ W + b`` without torch.

The linear fitter (:mod:`mltc.training.linear`) and saved linear models use it in place of a
torch network, so training, evaluating, saving, loading and predicting with a linear model
never import torch (which costs more than a second of every command). Its tensors are the
state of the torch networks it stands in for, under the same names, so ``model.safetensors``
is the same file either way:

- ``SparseLinear`` with no hidden layer (:class:`mltc.models.networks.SparseLinear`): dense
  ``embedding.weight`` (features x labels) and ``bias``;
- ``SparseWeightLinear``: the weights as CSR (``indptr``, ``indices``, ``data``) and ``bias``.

``to_module()`` builds that torch network (ONNX export, code that wants ``nn.Module``).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from ..modelcheck import check_csr

if TYPE_CHECKING:  # pragma: no cover
    from torch import nn

#: the network classes a :class:`LinearWeights` stands in for
LINEAR_CLASSES = ("SparseLinear", "SparseWeightLinear")


def is_linear_spec(spec: dict[str, Any]) -> bool:
    """Whether a network description (``mltc.json``'s ``network``) is a plain linear model."""
    options = spec.get("options") or {}
    if spec.get("class") == "SparseWeightLinear":
        return set(options) <= {"nnz"}
    return spec.get("class") == "SparseLinear" and not options.get("hidden_size") and set(options) <= {
        "hidden_size", "dropout", "sparse_grad"}


class LinearWeights:
    """Weights (features x labels; a dense array or CSR) and biases of a fitted linear model.

    Parameters
    ----------
    W : ndarray (d, L) or scipy sparse (d, L)
        Dense weights are kept dense (``SparseLinear``), sparse ones as CSR (``SparseWeightLinear``).
    bias : ndarray (L,)
    """

    def __init__(self, W: Any, bias: np.ndarray) -> None:
        self.W: Any = sp.csr_matrix(W, dtype=np.float32) if sp.issparse(W) else np.ascontiguousarray(W, dtype=np.float32)
        self.bias = np.asarray(bias, dtype=np.float32).reshape(-1)
        if self.W.ndim != 2 or self.W.shape[1] != len(self.bias):
            raise ValueError(f"weights {self.W.shape} and {len(self.bias)} biases do not match")
        self._module: Any = None

    @property
    def sparse(self) -> bool:
        return sp.issparse(self.W)

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.W.shape[0]), int(self.W.shape[1])

    @property
    def spec(self) -> dict[str, Any]:
        """The ``network`` entry of ``mltc.json``."""
        d, L = self.shape
        if self.sparse:
            return {"class": "SparseWeightLinear", "input_size": d, "num_labels": L, "options": {"nnz": int(self.W.nnz)}}
        return {"class": "SparseLinear", "input_size": d, "num_labels": L, "options": {"hidden_size": 0}}

    def logits(self, X: sp.spmatrix) -> np.ndarray:
        """``X @ W + b`` (texts x labels, float32) for TF-IDF rows ``X``."""
        out = X @ self.W
        return np.asarray(out.toarray() if sp.issparse(out) else out, dtype=np.float32) + self.bias

    # ------------------------------------------------------------------ files
    def arrays(self) -> dict[str, np.ndarray]:
        """The tensors of ``model.safetensors`` (the torch network's state under its names)."""
        if self.sparse:
            W = self.W
            return {"indptr": W.indptr.astype(np.int64), "indices": W.indices.astype(np.int64),
                    "data": W.data.astype(np.float32), "bias": self.bias}
        return {"embedding.weight": self.W, "bias": self.bias}

    @staticmethod
    def expected(spec: dict[str, Any]) -> dict[str, tuple[tuple[int, ...], bool]]:
        """Tensor names -> (shape, is floating) that ``spec`` needs (as the torch network's state dict)."""
        d, L = int(spec["input_size"]), int(spec["num_labels"])
        if spec["class"] == "SparseWeightLinear":
            nnz = (spec.get("options") or {}).get("nnz", 0)
            if isinstance(nnz, bool) or not isinstance(nnz, int) or nnz < 0:
                raise ValueError(f"options.nnz must be a count of non-zero weights, got {nnz!r}")
            return {"indptr": ((d + 1,), False), "indices": ((nnz,), False), "data": ((nnz,), True), "bias": ((L,), True)}
        return {"embedding.weight": ((d, L), True), "bias": ((L,), True)}

    @classmethod
    def from_arrays(cls, spec: dict[str, Any], arrays: dict[str, np.ndarray]) -> "LinearWeights":
        """Rebuild from the tensors of ``model.safetensors``; ``ValueError`` when the CSR structure is inconsistent."""
        d, L = int(spec["input_size"]), int(spec["num_labels"])
        bias = np.asarray(arrays["bias"], dtype=np.float32)
        if spec["class"] == "SparseWeightLinear":
            indptr, indices = np.asarray(arrays["indptr"]), np.asarray(arrays["indices"])
            check_csr(indptr, indices, L)
            data = np.asarray(arrays["data"], dtype=np.float32)
            W: Any = sp.csr_matrix((data, indices, indptr), shape=(d, L))
        else:
            W = np.asarray(arrays["embedding.weight"], dtype=np.float32)
        return cls(W, bias)

    @classmethod
    def from_module(cls, network: Any) -> "LinearWeights":
        """The weights of a trained ``SparseLinear`` (no hidden layer) or ``SparseWeightLinear`` torch network."""
        if hasattr(network, "weight_matrix"):  # SparseWeightLinear
            W: Any = network.weight_matrix().copy()
        else:
            W = network.embedding.weight.detach().cpu().float().numpy().copy()
        return cls(W, network.bias.detach().cpu().float().numpy().copy())

    def nonfinite(self) -> str | None:
        """The name of the first tensor holding NaN or an infinity, else None."""
        for name, value in self.arrays().items():
            if value.dtype.kind == "f" and not np.isfinite(value).all():
                return name
        return None

    def to_module(self) -> nn.Module:
        """The torch network these weights stand in for (built once, then kept)."""
        if self._module is None:
            import torch

            from .networks import SparseLinear, SparseWeightLinear
            d, L = self.shape
            if self.sparse:
                net: Any = SparseWeightLinear(d, L, nnz=int(self.W.nnz))
                net.load_csr(self.W.indptr, self.W.indices, self.W.data, self.bias)
            else:
                net = SparseLinear(d, L)
                with torch.no_grad():
                    net.embedding.weight.copy_(torch.from_numpy(self.W))
                    net.bias.copy_(torch.from_numpy(self.bias))
            self._module = net.eval()
        return self._module
