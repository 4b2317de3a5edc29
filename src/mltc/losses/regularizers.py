"""Training regularisers usable with any loss: R-Drop, FGM and the embedding gradient penalty.

- R-Drop: Liang et al., "R-Drop: Regularized Dropout for Neural Networks", NeurIPS 2021.
- FGM: Miyato et al., "Adversarial Training Methods for Semi-Supervised Text
  Classification", ICLR 2017.
- Gradient penalty on the embeddings: Su, "A brief talk on adversarial training" (2020).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def rdrop_kl(logits1: torch.Tensor, logits2: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Symmetric Bernoulli KL between two dropout passes, per label.

    Multi-label outputs are independent Bernoullis ``p = sigmoid(z)``, so we use
    ``1/2 (KL(p1||p2) + KL(p2||p1))`` summed over the two outcomes of each label and
    averaged over all entries (``'mean'``). Computed from log-sigmoids, finite for any
    logits. Add ``alpha * rdrop_kl(...)`` to the loss.
    """
    dtype = torch.promote_types(logits1.dtype, torch.float32)
    z1, z2 = logits1.to(dtype), logits2.to(dtype)
    lp1, lq1 = F.logsigmoid(z1), F.logsigmoid(-z1)
    lp2, lq2 = F.logsigmoid(z2), F.logsigmoid(-z2)
    p1, p2 = lp1.exp(), lp2.exp()
    # KL(a||b) + KL(b||a) for Bernoulli = (pa - pb) * (logit a - logit b)
    sym = (p1 - p2) * ((lp1 - lq1) - (lp2 - lq2))
    sym = 0.5 * sym
    if reduction == "mean":
        return sym.mean()
    if reduction == "sum":
        return sym.sum()
    return sym


class FGM:
    """Fast gradient method on the word-embedding matrix.

    After ``loss.backward()``: ``fgm.attack()`` adds ``epsilon * g / ||g||_2`` to the
    embedding weights, the caller computes the loss again and calls ``backward()`` (the
    gradients add up), then ``fgm.restore()`` puts the original weights back.
    """

    def __init__(self, embedding: nn.Module | torch.Tensor, epsilon: float = 1.0) -> None:
        weight = embedding.weight if isinstance(embedding, nn.Module) else embedding
        if not isinstance(weight, torch.Tensor):
            raise TypeError(f"FGM needs an embedding module with a weight tensor, got {type(embedding).__name__}")
        self.weight: torch.Tensor = weight
        self.epsilon = float(epsilon)
        self._backup: torch.Tensor | None = None

    def attack(self) -> bool:
        """Perturb the embeddings; returns False (and does nothing) if there is no gradient."""
        grad = self.weight.grad
        if grad is None:
            return False
        if grad.is_sparse:
            grad = grad.to_dense()
        norm = torch.linalg.vector_norm(grad.float())
        if not torch.isfinite(norm) or norm == 0:
            return False
        self._backup = self.weight.data.clone()
        self.weight.data.add_((self.epsilon * grad / norm).to(self.weight.dtype))
        return True

    def restore(self) -> None:
        if self._backup is not None:
            self.weight.data.copy_(self._backup)
            self._backup = None


def gradient_penalty(loss: torch.Tensor, embeddings: torch.Tensor, epsilon: float = 1.0) -> torch.Tensor:
    """``1/2 * epsilon * ||d loss / d embeddings||^2`` with a graph for double backward.

    ``embeddings`` is the embedding layer's output (or its weight) that ``loss`` was
    computed from. Return value is added to the loss before ``backward()``.
    """
    (grad,) = torch.autograd.grad(loss, embeddings, create_graph=True)
    return 0.5 * epsilon * grad.float().pow(2).sum()
