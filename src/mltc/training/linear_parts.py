"""The linear fitter's parts: the sparse design matrix, per-entry losses and their objective, and the
solver options (used by :mod:`mltc.training.linear`)."""
from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from ..losses import LOSSES, canonical_loss_name, loss_config, make_loss

if TYPE_CHECKING:  # pragma: no cover
    import torch

# torch is imported inside: the squared hinge (the default, LIBLINEAR) needs none of it

#: names of the squared hinge loss (L2-loss linear SVM, LIBLINEAR -s 2), a loss of the linear fitter only
def is_hinge(name: str) -> bool:
    """Whether a loss name (any spelling or alias of the registry) is the squared hinge, fitted by LIBLINEAR."""
    return LOSSES.find(name) == "sq-hinge"


class Design:
    """A sparse design matrix with its transpose, both CSR (for ``X @ W`` and ``X.T @ G``).

    The products go through scipy (float32, one thread): on two shared cores it measured
    faster than torch's beta sparse CSR kernels.
    """

    def __init__(self, X: sp.csr_matrix) -> None:
        self.n, self.d = X.shape
        self.X = sp.csr_matrix(X, dtype=np.float32)
        self.XT = self.X.T.tocsr()

    def logits(self, W: torch.Tensor) -> torch.Tensor:
        import torch
        return torch.from_numpy(np.asarray(self.X @ W[:-1].numpy(), dtype=np.float32)).add_(W[-1])

    def grad(self, Gz: torch.Tensor, W: torch.Tensor, inv_c: float) -> torch.Tensor:
        import torch
        G = torch.empty_like(W)
        G[:-1] = torch.from_numpy(np.asarray(self.XT @ Gz.numpy(), dtype=np.float32))
        G[:-1].add_(W[:-1], alpha=inv_c)
        G[-1] = Gz.sum(0)
        return G


class EntryLoss:
    """The per-entry loss of a named preset for a block of label columns.

    Built from :func:`mltc.losses.loss_config`; the constants (CB weights, NTR bias, DB's
    ``R_i`` over each text's full label set) are computed once for all labels, so a block
    sees exactly the entries the whole-matrix loss would. ``loss_weight`` is dropped: on a
    full-batch fit it only rescales ``C``.
    """

    def __init__(self, name: str, class_freq: np.ndarray, train_num: int, preset: str, Y: sp.csr_matrix,
                 options: dict[str, Any]) -> None:
        self.hinge = is_hinge(name)
        self.name = "sq-hinge" if self.hinge else canonical_loss_name(name)
        self.joint = self.name == "zlpr"
        self.plain = self.name == "bce"
        if self.hinge:
            if options:
                raise ValueError(f"loss 'sq-hinge' takes no loss options, got {', '.join(sorted(options))}")
            self.cfg = {"loss": "sq-hinge"}
            self.reweight = "none"
            return
        import torch

        from ..losses import functional as LF
        cfg = loss_config(self.name, preset, **{k: v for k, v in options.items() if k != "fused"})
        self.cfg = cfg
        if self.joint:
            return
        if cfg.get("db_mu") == "auto":
            cfg["db_mu"] = LF.estimate_db_mu(torch.from_numpy(Y.toarray()), torch.as_tensor(class_freq))
        module: Any = make_loss(self.name, class_freq, train_num, preset, **{**cfg, "fused": False})
        self.reweight, self.focal = module.reweight, module.focal
        self.ntr_bias = module.ntr_bias
        self.cb_weight = module.cb_weight
        self.freq = module.class_freq
        self.module = module
        if self.reweight == "db":
            inv = (1.0 / self.freq.double()).numpy()
            rate = np.asarray(Y @ inv).ravel()
            self.inv_rate = torch.from_numpy(np.where(rate > 0, 1.0 / np.maximum(rate, 1e-300), np.inf))

    def weights(self, cols: torch.Tensor) -> torch.Tensor | None:
        import torch
        if self.joint or self.hinge:
            return None
        m = self.module
        if self.reweight == "cb":
            return self.cb_weight[cols].float()
        if self.reweight == "db":
            r = self.inv_rate.unsqueeze(1) * (1.0 / self.freq[cols].double()).unsqueeze(0)
            return (torch.sigmoid(m.db_beta * (r - m.db_mu)) + m.db_alpha).float()
        return None

    def __call__(self, z: torch.Tensor, y: torch.Tensor, cols: torch.Tensor, weight: torch.Tensor | None) -> torch.Tensor:
        """Per-entry losses (n, k), or per-text losses (n,) for a joint loss."""
        from ..losses import functional as LF
        if self.joint:
            return LF.zlpr_loss(z, y, reduction="none")
        m = self.module
        return LF.balanced_loss(z, y, weight=weight, ntr_bias=None if self.ntr_bias is None else self.ntr_bias[cols],
                                ntr_lambda=m.ntr_lambda, ntr_scale_weight=m.ntr_scale_weight, focal=m.focal,
                                gamma=m.gamma, alpha=m.alpha, loss_weight=1.0, reduction="none")


def make_objective(design: Design, Yblock: torch.Tensor, loss: EntryLoss, inv_c: float, block_cols: torch.Tensor,
                   weights: torch.Tensor | None):
    """``fg(W, cols)`` for :func:`~mltc.training.solver.lbfgs_columns` on one block of labels.

    Entry losses are computed in float32 and summed in float64; plain BCE takes a closed form
    (``softplus(z) - y z``, gradient ``sigmoid(z) - y``), every other loss autograd through
    the reference implementation in :mod:`mltc.losses.functional`.
    """
    import torch

    from .solver import colsum
    plain = loss.plain

    def fg(W: torch.Tensor, cols: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = design.logits(W)
        y = Yblock[:, cols]
        if plain:
            entry = torch.nn.functional.softplus(z).sub_(y * z)
            Gz = torch.sigmoid(z).sub_(y)
        elif loss.hinge:  # squared hinge on labels in {-1, +1}: max(0, 1 - s z)^2
            sgn = 2 * y - 1
            slack = (1 - sgn * z).clamp_(min=0)
            entry = slack * slack
            Gz = -2 * sgn * slack
        else:
            z.requires_grad_(True)
            w = None if weights is None else (weights[cols] if weights.ndim == 1 else weights[:, cols])
            with torch.enable_grad():
                entry = loss(z, y, block_cols[cols], w)
                (Gz,) = torch.autograd.grad(entry.sum(), z)
            entry = entry.detach()
        reg = (0.5 * inv_c) * colsum(W[:-1], W[:-1])
        if loss.joint:
            f = (entry.sum(dtype=torch.float64) / W.shape[1]).expand(W.shape[1]) + reg
        else:
            f = entry.sum(0, dtype=torch.float64) + reg
        return f, design.grad(Gz.float(), W, inv_c)
    return fg


@dataclasses.dataclass
class LinearSolverConfig:
    C: float | None = None  # None: 1 (squared hinge, LIBLINEAR's default) or 100 (the logistic family, measured on Reuters)
    tol: float | None = None  # None: 1e-3 (L-BFGS, relative gradient norm) or 1e-4 (LIBLINEAR, scikit-learn's default)
    max_iter: int = 300
    memory: int = 10
    block_size: int | None = None
    prune: float = 1e-3
    dense_limit: int = 2_000_000  # store weights dense up to this many features x labels
    warm_start: bool = True  # squared hinge: cross-validation folds start from the full model (liblinear backend)
    backend: str = "auto"  # squared hinge: "liblinear" (official binding), "sklearn" (LinearSVC), "auto" (by size)


#: the squared hinge's solvers (:mod:`mltc.training.liblinear`)
BACKENDS = ("auto", "liblinear", "sklearn")

#: solver options of the squared hinge (LIBLINEAR) only; the others are numbers checked against SOLVER_RANGES
HINGE_SOLVER_OPTIONS = ("backend", "warm_start")

SOLVER_RANGES = {"C": (0.0, None), "tol": (0.0, 1.0), "max_iter": (1, 100_000), "memory": (1, 100),
                 "block_size": (1, 1_000_000), "prune": (0.0, None), "dense_limit": (0, None)}


def solver_config(options: dict[str, Any]) -> LinearSolverConfig:
    """:class:`LinearSolverConfig` from ``solver_options``, every key and range checked."""
    unknown = sorted(set(options) - set(SOLVER_RANGES) - set(HINGE_SOLVER_OPTIONS))
    if unknown:
        raise ValueError(f"unknown solver option(s) {', '.join(unknown)}; known: {', '.join(SOLVER_RANGES)}, backend, warm_start")
    if options.get("backend", "auto") not in BACKENDS:
        raise ValueError(f"solver option backend must be one of {', '.join(BACKENDS)}, got {options['backend']!r}")
    if options.get("backend") == "liblinear":
        from .liblinear import official_liblinear
        if official_liblinear() is None:
            raise ValueError("solver option backend 'liblinear' needs the official LIBLINEAR binding: "
                             "pip install liblinear-multicore (or mltc[fast]; it compiles LIBLINEAR)")
    if not isinstance(options.get("warm_start", True), bool):
        raise ValueError(f"solver option warm_start must be true or false, got {options['warm_start']!r}")
    for key, value in options.items():
        if key in HINGE_SOLVER_OPTIONS:
            continue
        low, high = SOLVER_RANGES[key]
        integer = isinstance(low, int) and not isinstance(low, float)
        if value is None and key in ("block_size", "tol", "C"):
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
            raise ValueError(f"solver option {key} must be {'an integer' if integer else 'a number'}, got {value!r}")
        if not math.isfinite(value) or value < low or (key in ("C", "tol") and value <= 0) or (high is not None and value > high):
            top = high if high is not None else 'inf'
            rng = f"({low}, {top}]" if key in ("C", "tol") else f"[{low}, {top}]"
            raise ValueError(f"solver option {key} must lie in {rng}, got {value!r}")
    return LinearSolverConfig(**options)


def _block_size(n: int, d: int, labels: int, requested: int | None, joint: bool) -> int:
    if joint:
        return labels
    if requested:
        return max(1, min(requested, labels))
    # keep one block's working set (about 2*memory+6 copies of d x k, 8 of n x k floats) near 1.5 GB
    per_col = 4 * (26 * (d + 1) + 8 * n)
    return max(8, min(labels, int(1.5e9 // per_col), 512))
