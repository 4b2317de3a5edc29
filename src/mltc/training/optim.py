"""Optimisers for models with dense and sparse parameters.

Dense parameters use AdamW with decoupled weight decay on weight matrices only (not on
biases, norm scales or other 1-D parameters). Parameters whose gradients are sparse (the
embedding tables of the TF-IDF and fastText models) use lazy Adam (``SparseAdam``): only
the rows seen in a batch are updated, and the decoupled weight decay is applied lazily to
those rows too. Both follow one learning-rate schedule (warm-up, then constant or linear
decay).
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn


def linear_schedule(total_steps: int, warmup_steps: int, decay: bool) -> Callable[[int], float]:
    def factor(step: int) -> float:
        if warmup_steps and step < warmup_steps:
            return (step + 1) / warmup_steps
        if not decay:
            return 1.0
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))
    return factor


def _is_sparse_param(module: nn.Module, name: str) -> bool:
    owner = module.get_submodule(name.rsplit(".", 1)[0]) if "." in name else module
    return bool(getattr(owner, "sparse", False))


#: name -> (optimizer for dense parameters, optimizer for sparse-gradient parameters)
OPTIMIZERS = {
    "adamw": (torch.optim.AdamW, torch.optim.SparseAdam),
    "sgd": (torch.optim.SGD, torch.optim.SGD),
    "adagrad": (torch.optim.Adagrad, torch.optim.Adagrad),
}


class TrainingOptimizer:
    """AdamW for dense parameters plus lazy Adam for sparse ones, under one schedule."""

    def __init__(self, model: nn.Module, lr: float, weight_decay: float, schedule: Callable[[int], float],
                 kind: str = "adamw") -> None:
        if kind not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {kind!r}")
        decay, no_decay, sparse = [], [], []
        for name, p in model.named_parameters():
            if not p.requires_grad:
                continue
            if _is_sparse_param(model, name):
                sparse.append(p)
            elif p.ndim >= 2 and "norm" not in name.lower():
                decay.append(p)
            else:
                no_decay.append(p)
        groups = [g for g in ({"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0})
                  if g["params"]]
        self.weight_decay = weight_decay
        self.optimizers: list[torch.optim.Optimizer] = []
        dense_cls, sparse_cls = OPTIMIZERS[kind]
        if groups:
            self.optimizers.append(dense_cls(groups, lr=lr))
        self.sparse_params = sparse
        if sparse:
            self.optimizers.append(sparse_cls(sparse, lr=lr))
        self.schedulers = [torch.optim.lr_scheduler.LambdaLR(o, schedule) for o in self.optimizers]

    def zero_grad(self) -> None:
        for o in self.optimizers:
            o.zero_grad(set_to_none=True)

    def clip_grad_norm(self, max_norm: float) -> float:
        """Clip the global gradient norm over dense and sparse gradients together."""
        grads = []
        for o in self.optimizers:
            for g in o.param_groups:
                for p in g["params"]:
                    if p.grad is not None:
                        if p.grad.is_sparse:
                            p.grad = p.grad.coalesce()
                            grads.append(p.grad._values())
                        else:
                            grads.append(p.grad)
        if not grads:
            return 0.0
        total = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g.float()) for g in grads]))
        coef = max_norm / (float(total) + 1e-6)
        if coef < 1.0:
            for g in grads:
                g.mul_(coef)
        return float(total)

    def step(self, scaler=None) -> None:
        if self.sparse_params and self.weight_decay:
            lr = self.optimizers[-1].param_groups[0]["lr"]
            with torch.no_grad():
                for p in self.sparse_params:
                    if p.grad is not None:
                        rows = p.grad.coalesce().indices()[0].unique()
                        p[rows] *= 1.0 - lr * self.weight_decay
        for o in self.optimizers:
            if scaler is not None:
                scaler.step(o)
            else:
                o.step()
        if scaler is not None:
            scaler.update()
        for s in self.schedulers:
            s.step()

    def update(self, scaler=None, clip_norm: float | None = None) -> float | None:
        """One optimisation step from the accumulated gradients, loss scaling included.

        Parameters
        ----------
        scaler : torch.amp.GradScaler, optional
            The fp16 loss scaler the gradients were computed under. Every optimizer's
            gradients are unscaled first, so clipping sees true gradient values; a step whose
            gradients hold inf/NaN is skipped by ``scaler.step`` and the scale backs off in
            ``scaler.update`` (called once per step, after all optimizers).
        clip_norm : float, optional
            Clip the global gradient norm (over dense and sparse gradients) to this value.

        Returns
        -------
        float or None
            The gradient norm before clipping (inf/NaN on a step the scaler skips), or
            ``None`` without clipping.
        """
        if scaler is not None:
            for o in self.optimizers:
                scaler.unscale_(o)
        norm = self.clip_grad_norm(clip_norm) if clip_norm else None
        self.step(scaler)
        return norm

    @property
    def lr(self) -> float:
        return float(self.schedulers[0].get_last_lr()[0])
