"""CPU-friendly networks. Each maps a featurizer's batch dict to logits (B, C) and
exposes its word-embedding table as ``embedding`` (for FGM and the gradient penalty).

- :class:`SparseLinear`: a linear model over sparse TF-IDF, optionally one hidden layer.
- :class:`FastText`: mean of word and hashed n-gram embeddings, then linear (Joulin et
  al., EACL 2017).
- :class:`TextCNN`: Kim, "Convolutional Neural Networks for Sentence Classification",
  EMNLP 2014.
- :class:`BiLSTMAttention`: a BiLSTM with additive attention pooling (Zhou et al.,
  "Attention-Based Bidirectional LSTM Networks for Relation Classification", ACL 2016).
"""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .heads import BiLSTMHead, TextCNNHead


def prior_logits(class_freq, train_num: int) -> torch.Tensor:
    """``logit(n_j / N)`` clamped to [-10, 10]: an output bias that starts at the label priors
    (as in Lin et al., 2017, section 3.3), so rare labels begin nearly silent."""
    p = torch.as_tensor(class_freq, dtype=torch.float64).clamp(min=0.5) / max(train_num, 1)
    return torch.logit(p.clamp(max=1 - 1e-6)).clamp(-10, 10).float()


class SparseLinear(nn.Module):
    """Linear (or one-hidden-layer) model over sparse TF-IDF input.

    ``sparse_grad=True`` makes the feature table's gradients sparse (only the rows of
    features present in a batch; lazy Adam updates them), which pays off for very large
    vocabularies; dense gradients allow true AdamW weight decay on every weight.
    """

    def __init__(self, input_size: int, num_labels: int, hidden_size: int = 0, dropout: float = 0.0,
                 sparse_grad: bool = False) -> None:
        super().__init__()
        out = hidden_size or num_labels
        self.embedding = nn.EmbeddingBag(input_size, out, mode="sum", sparse=sparse_grad)
        nn.init.zeros_(self.embedding.weight) if not hidden_size else nn.init.normal_(self.embedding.weight, std=0.02)
        self.bias = nn.Parameter(torch.zeros(out))
        self.hidden = hidden_size
        if hidden_size:
            self.dropout = nn.Dropout(dropout)
            self.out = nn.Linear(hidden_size, num_labels)

    def forward(self, ids: torch.Tensor, offsets: torch.Tensor, weights: torch.Tensor | None = None, **_) -> torch.Tensor:
        h = self.embedding(ids, offsets, per_sample_weights=weights) + self.bias
        if self.hidden:
            h = self.out(self.dropout(F.relu(h)))
        return h

    def output_bias(self) -> nn.Parameter:
        return self.out.bias if self.hidden else self.bias


class FastText(nn.Module):
    def __init__(self, input_size: int, num_labels: int, dim: int = 100, dropout: float = 0.2) -> None:
        super().__init__()
        self.embedding = nn.EmbeddingBag(input_size, dim, mode="mean", padding_idx=0, sparse=True)
        nn.init.uniform_(self.embedding.weight, -1.0 / dim, 1.0 / dim)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(dim, num_labels)

    def forward(self, ids: torch.Tensor, offsets: torch.Tensor, **_) -> torch.Tensor:
        return self.out(self.dropout(self.embedding(ids, offsets)))

    def output_bias(self) -> nn.Parameter:
        return self.out.bias


class TextCNN(nn.Module):
    def __init__(self, input_size: int, num_labels: int, dim: int = 128, filters: int = 128,
                 kernel_sizes: tuple[int, ...] = (2, 3, 4, 5), dropout: float = 0.5) -> None:
        super().__init__()
        self.embedding = nn.Embedding(input_size, dim, padding_idx=0)
        self.head = TextCNNHead(dim, num_labels, filters, tuple(kernel_sizes), dropout)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor, **_) -> torch.Tensor:
        return self.head(self.embedding(ids), mask)

    def output_bias(self) -> nn.Parameter:
        return self.head.out.bias


class BiLSTMAttention(nn.Module):
    def __init__(self, input_size: int, num_labels: int, dim: int = 128, hidden: int = 128, dropout: float = 0.3) -> None:
        super().__init__()
        self.embedding = nn.Embedding(input_size, dim, padding_idx=0)
        self.dropout = nn.Dropout(dropout)
        self.head = BiLSTMHead(dim, num_labels, hidden, dropout, attention=True)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor, **_) -> torch.Tensor:
        return self.head(self.dropout(self.embedding(ids)), mask)

    def output_bias(self) -> nn.Parameter:
        assert self.head.pool is not None  # built with attention=True
        return self.head.pool.out.bias


class DenseLinear(nn.Module):
    """A head on precomputed dense text vectors (frozen encoder), optionally plus a sparse
    linear term over TF-IDF features: ``logits = MLP(dense) + X_tfidf W``."""

    def __init__(self, input_size: int, num_labels: int, hidden_size: int = 0, dropout: float = 0.1,
                 sparse_size: int = 0) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.mlp: nn.Module
        if hidden_size:
            self.mlp = nn.Sequential(nn.Linear(input_size, hidden_size), nn.GELU(), nn.Dropout(dropout),
                                     nn.Linear(hidden_size, num_labels))
        else:
            self.mlp = nn.Linear(input_size, num_labels)
        self.sparse = nn.EmbeddingBag(sparse_size, num_labels, mode="sum") if sparse_size else None
        if self.sparse is not None:
            nn.init.zeros_(self.sparse.weight)

    @property
    def embedding(self) -> nn.Module:  # FGM / gradient penalty perturb the sparse table if any
        return self.sparse if self.sparse is not None else self.mlp

    def forward(self, dense: torch.Tensor, ids: torch.Tensor | None = None, offsets: torch.Tensor | None = None,
                weights: torch.Tensor | None = None, **_) -> torch.Tensor:
        logits = self.mlp(self.dropout(dense))
        if self.sparse is not None:
            logits = logits + self.sparse(ids, offsets, per_sample_weights=weights)
        return logits

    def output_bias(self) -> nn.Parameter:
        last = self.mlp[-1] if isinstance(self.mlp, nn.Sequential) else self.mlp
        assert isinstance(last, nn.Linear)
        return last.bias


class SparseWeightLinear(nn.Module):
    """A linear model whose weight matrix (features x labels) is stored sparse (CSR).

    Used for fitted one-vs-rest models with many labels, where most weights are pruned to
    zero: memory and file size grow with the non-zeros, not with features x labels. It is
    an inference module (the linear fitter produces its weights; nothing trains it).
    """

    indptr: torch.Tensor  # buffers
    indices: torch.Tensor
    data: torch.Tensor

    def __init__(self, input_size: int, num_labels: int, nnz: int = 0) -> None:
        super().__init__()
        self.input_size, self.num_labels = int(input_size), int(num_labels)
        self.register_buffer("indptr", torch.zeros(self.input_size + 1, dtype=torch.int64))
        self.register_buffer("indices", torch.zeros(int(nnz), dtype=torch.int64))
        self.register_buffer("data", torch.zeros(int(nnz), dtype=torch.float32))
        self.bias = nn.Parameter(torch.zeros(self.num_labels), requires_grad=False)
        self._csr: Any = None  # scipy.sparse.csr_matrix view of the buffers, built on first use

    def load_csr(self, indptr, indices, data, bias) -> None:
        with torch.no_grad():
            self.indptr.copy_(torch.as_tensor(indptr, dtype=torch.int64))
            self.indices.copy_(torch.as_tensor(indices, dtype=torch.int64))
            self.data.copy_(torch.as_tensor(data, dtype=torch.float32))
            self.bias.copy_(torch.as_tensor(bias, dtype=torch.float32))
        self._csr = None

    def _load_from_state_dict(self, *args, **kwargs):  # weights replaced: rebuild the scipy view
        self._csr = None
        return super()._load_from_state_dict(*args, **kwargs)

    def validate(self) -> None:
        """Raise ``ValueError`` unless the stored arrays form a valid CSR matrix of the declared shape."""
        from ..modelcheck import check_csr
        check_csr(self.indptr.numpy(), self.indices.numpy(), self.num_labels)

    def weight_matrix(self):
        """The weights as a ``scipy.sparse.csr_matrix`` (features x labels)."""
        import scipy.sparse as sp
        if self._csr is None:
            self._csr = sp.csr_matrix((self.data.numpy(), self.indices.numpy(), self.indptr.numpy()),
                                      shape=(self.input_size, self.num_labels))
        return self._csr

    def forward(self, ids: torch.Tensor, offsets: torch.Tensor, weights: torch.Tensor | None = None, **_) -> torch.Tensor:
        import numpy as np
        import scipy.sparse as sp
        ids_np = ids.cpu().numpy()
        indptr = np.append(offsets.cpu().numpy(), len(ids_np))
        vals = weights.cpu().numpy() if weights is not None else np.ones(len(ids_np), np.float32)
        X = sp.csr_matrix((vals, ids_np, indptr), shape=(len(indptr) - 1, self.input_size))
        out = np.asarray((X @ self.weight_matrix()).todense(), dtype=np.float32)
        return torch.from_numpy(out) + self.bias

    def output_bias(self) -> nn.Parameter:
        return self.bias
