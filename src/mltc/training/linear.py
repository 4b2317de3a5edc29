"""The linear fitter: one-vs-rest linear models over sparse TF-IDF, fitted full-batch.

Every loss of the balanced family is, on a linear model, a smooth per-entry weighted
logistic loss, so the model is fitted the way LIBLINEAR and scikit-learn fit linear models:
full-batch quasi-Newton (L-BFGS, :mod:`mltc.training.solver`) on the sparse design matrix
with an L2 penalty ``||w_j||^2 / (2 C)`` and an unpenalised intercept, started at the label
priors, to a gradient tolerance — no epochs, no minibatches, no checkpoints. Labels are
fitted in blocks, so memory grows with ``block × features`` and not with
``labels × features``; after fitting, weights below ``prune`` in magnitude are dropped and a
sparse weight matrix is stored when it is small enough (Babbar & Schölkopf, "DiSMEC",
WSDM 2017, prune the same way).

Thresholds: the out-of-fold scores of a k-fold cross-validation on the training texts give
one threshold per label (:mod:`mltc.decision.cv`, Fan & Lin 2007; the micro+macro objective
of Lin et al., CIKM 2023), computed block by block as the labels are fitted. The final
decision is chosen on validation among one global threshold, per-label thresholds fitted on
validation and the cross-validated ones (``decision='auto'``).
"""
from __future__ import annotations

import dataclasses
import logging
import math
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import scipy.sparse as sp
import torch
from tqdm.auto import tqdm

from ..classifier import Classifier
from ..data.examples import Example
from ..data.labels import LabelSpace
from ..decision.cv import cv_thresholds, choose_decision
from ..losses import canonical_loss_name, loss_config, make_loss
from ..losses import functional as LF
from ..io import summarize_names
from ..metrics import micro_macro
from ..models.featurizers import TfidfFeaturizer
from ..models.networks import SparseLinear, SparseWeightLinear, prior_logits
from ..options import validate_train_config
from .config import TrainConfig
from .solver import lbfgs_columns

log = logging.getLogger("mltc")

#: the loss of the linear fitter when none is given (chosen by measurement: benchmarks/README.md)
LINEAR_DEFAULT_LOSS = "sq-hinge"

#: names of the squared hinge loss (L2-loss linear SVM, LIBLINEAR -s 2), a loss of the linear fitter only
HINGE_NAMES = ("sq-hinge", "squared-hinge", "l2-svm")

#: the featurizer of the linear fitter unless ``featurizer_options`` say otherwise
LINEAR_TFIDF = dict(analyzer="auto", ngram_range=(1, 1), char_ngram_range=(1, 3), sublinear_tf=True,
                    max_features=None, min_df=1)


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
        return torch.from_numpy(np.asarray(self.X @ W[:-1].numpy(), dtype=np.float32)).add_(W[-1])

    def grad(self, Gz: torch.Tensor, W: torch.Tensor, inv_c: float) -> torch.Tensor:
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
        self.hinge = name.lower().replace("_", "-") in HINGE_NAMES
        self.name = "sq-hinge" if self.hinge else canonical_loss_name(name)
        self.joint = self.name == "zlpr"
        self.plain = self.name == "bce"
        if self.hinge:
            if options:
                raise ValueError(f"loss 'sq-hinge' takes no loss options, got {', '.join(sorted(options))}")
            self.cfg = {"loss": "sq-hinge"}
            self.reweight = "none"
            return
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
        reg = (0.5 * inv_c) * W[:-1].pow(2).sum(0, dtype=torch.float64)
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


def liblinear_block(X: sp.csr_matrix, Y: np.ndarray, C: float, tol: float, threads: int, seed: int
                    ) -> tuple[np.ndarray, np.ndarray]:
    """One L2-loss linear SVM per column of ``Y`` (LIBLINEAR's dual coordinate descent through
    scikit-learn's ``LinearSVC``; Hsieh et al., ICML 2008), labels spread over ``threads``
    threads (LIBLINEAR releases the GIL). Returns weights (d, k) and intercepts (k,); a column
    with one class only gets zero weights and an intercept of -1 or +1.
    """
    import warnings
    from concurrent.futures import ThreadPoolExecutor

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.svm import LinearSVC

    d, k = X.shape[1], Y.shape[1]
    W = np.zeros((d, k), np.float32)
    b = np.zeros(k, np.float32)

    def one(j: int) -> None:
        y = Y[:, j] > 0
        if y.all() or not y.any():
            b[j] = 1.0 if y.all() else -1.0
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            svm = LinearSVC(C=C, tol=tol, random_state=seed).fit(X, y.astype(np.int32))
        W[:, j], b[j] = svm.coef_[0], svm.intercept_[0]

    if threads > 1 and k > 1:
        from threadpoolctl import threadpool_limits
        # one label per thread, each single-threaded: LIBLINEAR's own BLAS/OpenMP threads on top of
        # ours oversubscribe the cores (measured 3x slower on GoEmotions with 2 cores)
        with threadpool_limits(1), ThreadPoolExecutor(threads) as pool:
            list(pool.map(one, range(k)))
    else:
        for j in range(k):
            one(j)
    return W, b


SOLVER_RANGES = {"C": (0.0, None), "tol": (0.0, 1.0), "max_iter": (1, 100_000), "memory": (1, 100),
                 "block_size": (1, 1_000_000), "prune": (0.0, None), "dense_limit": (0, None)}


def solver_config(options: dict[str, Any]) -> LinearSolverConfig:
    """:class:`LinearSolverConfig` from ``solver_options``, every key and range checked."""
    unknown = sorted(set(options) - set(SOLVER_RANGES))
    if unknown:
        raise ValueError(f"unknown solver option(s) {', '.join(unknown)}; known: {', '.join(SOLVER_RANGES)}")
    for key, value in options.items():
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


class LinearFitter:
    """Fit ``tfidf-linear`` (any loss of the family) with L-BFGS and cross-validated thresholds.

    >>> clf = LinearFitter(TrainConfig(loss="bce")).fit(train, validation)
    """

    def __init__(self, config: TrainConfig | None = None, progress: bool | None = None) -> None:
        self.config = config or TrainConfig()
        self.progress = progress

    def fit(self, train: Sequence[Example], validation: Sequence[Example], out_dir: str | Path | None = None,
            resume: bool = False, labels: Sequence[str] | None = None) -> Classifier:
        cfg = self.config
        if resume:
            raise ValueError("the linear fitter (tfidf-linear with optimizer lbfgs) has nothing to resume: it "
                             "writes no checkpoint and takes seconds; run it again without --resume")
        if not train:
            raise ValueError("no training texts")
        if not validation:
            raise ValueError("no validation texts: the decision is chosen on a validation split")
        if cfg.threads:
            torch.set_num_threads(int(cfg.threads))
        validate_train_config(cfg)
        solver = solver_config(dict(cfg.solver_options))
        started = time.time()
        space = LabelSpace(labels).fit(e.labels for e in train)
        featurizer = TfidfFeaturizer(**{**LINEAR_TFIDF, **cfg.featurizer_options}).fit([e.text for e in train])
        X = featurizer.encode([e.text for e in train])
        Y = sp.csr_matrix(space.encode(e.labels for e in train).Y.astype(np.float32))
        n, d, L = X.shape[0], X.shape[1], space.num_labels
        cfg = dataclasses.replace(cfg, loss=cfg.loss or LINEAR_DEFAULT_LOSS)
        loss = EntryLoss(cfg.loss, space.class_freq_, space.train_num_, cfg.loss_preset, Y, cfg.loss_options)
        if solver.tol is None:
            solver = dataclasses.replace(solver, tol=1e-4 if loss.hinge else 1e-3)
        if solver.C is None:
            solver = dataclasses.replace(solver, C=1.0 if loss.hinge else 100.0)
        folds = int(cfg.cv_folds)
        decision_name = cfg.decision or ("zero" if loss.joint else "auto")
        need_cv = decision_name in ("auto", "cv") and folds >= 2 and n >= 2 * folds
        rng = np.random.default_rng(cfg.seed)
        fold_of = rng.permutation(n) % folds if need_cv else None
        design_all = None if loss.hinge else Design(X)
        fold_designs = []
        if need_cv:
            for k in range(folds):
                tr = np.flatnonzero(fold_of != k)
                fold_designs.append((None if loss.hinge else Design(X[tr]), tr, np.flatnonzero(fold_of == k)))
        bs = _block_size(n, d, L, solver.block_size, loss.joint)
        order = np.argsort(-space.class_freq_, kind="stable")  # frequent labels first (micro+macro CV needs it)
        blocks = [order[s:s + bs] for s in range(0, L, bs)]
        W_parts: list[sp.csc_matrix] = []
        bias = np.zeros(L, np.float32)
        oof: list[Any] | None = [] if need_cv else None
        inv_c = 1.0 / float(solver.C)
        bar = tqdm(total=L * (1 + (folds if need_cv else 0)), desc="fitting labels", unit="label", leave=False,
                   disable=(not self.progress) if self.progress is not None else None)
        prior = prior_logits(space.class_freq_, space.train_num_).numpy()
        stats: dict[str, Any] = {"iterations": [], "evaluations": 0, "not_converged": 0}
        threads = int(cfg.threads or torch.get_num_threads() or 1)

        def solve(part: int, cols_np: np.ndarray, W0: torch.Tensor | None, gref) -> tuple[np.ndarray, np.ndarray, int, int, int]:
            """Fit the labels ``cols_np`` on all training texts (part -1) or without fold ``part``."""
            rows = slice(None) if part < 0 else fold_designs[part][1]
            if loss.hinge:
                Xp = X64 if part < 0 else fold_X64[part]
                Wn, bn = liblinear_block(Xp, Y[rows][:, cols_np].toarray(), solver.C, solver.tol, threads, cfg.seed)
                return Wn, bn, 0, 0, 0
            cols = torch.from_numpy(cols_np)
            Yb = torch.from_numpy(Y[rows][:, cols_np].toarray())
            weights = loss.weights(cols)
            if weights is not None and weights.ndim == 2 and part >= 0:
                weights = weights[fold_designs[part][1]]
            design = design_all if part < 0 else fold_designs[part][0]
            fg = make_objective(design, Yb, loss, inv_c, cols, weights)
            res = lbfgs_columns(fg, W0, memory=solver.memory, max_iter=solver.max_iter, tol=solver.tol,
                                gnorm_ref=gref, joint=loss.joint)
            return (res.W[:-1].numpy(), res.W[-1].numpy().copy(), int(res.iterations.max()), res.evaluations,
                    int((~res.converged).sum()))

        if loss.hinge:
            X64 = sp.csr_matrix(X, dtype=np.float64)
            fold_X64 = [X64[tr] for _, tr, _ in fold_designs]
        for b, cols_np in enumerate(blocks):
            W0 = gref = None
            if not loss.hinge:
                W0 = torch.zeros(d + 1, len(cols_np))
                W0[-1] = torch.from_numpy(prior[cols_np])
                cols = torch.from_numpy(cols_np)
                fg0 = make_objective(design_all, torch.from_numpy(Y[:, cols_np].toarray()), loss, inv_c, cols,
                                     loss.weights(cols))
                gref = fg0(W0, torch.arange(len(cols_np)))[1].norm(dim=0)
            Wnp, bnp, iters, evals, not_conv = solve(-1, cols_np, W0, gref)
            bar.update(len(cols_np))
            stats["iterations"].append(iters)
            stats["evaluations"] += evals
            stats["not_converged"] += not_conv
            if need_cv:
                scores = np.zeros((n, len(cols_np)), np.float32)
                fold_bias = np.zeros((folds, len(cols_np)), np.float32)
                for k, (_, _tr, va) in enumerate(fold_designs):
                    Wk, bk, _, evals, _ = solve(k, cols_np, W0, gref)
                    stats["evaluations"] += evals
                    scores[va] = X[va] @ Wk + bk
                    fold_bias[k] = bk
                    bar.update(len(cols_np))
                oof.append((cols_np, scores, fold_of, fold_bias, bnp.copy()))
            if solver.prune > 0:
                Wnp = np.where(np.abs(Wnp) >= solver.prune, Wnp, 0.0)
            W_parts.append(sp.csc_matrix(Wnp))
            bias[cols_np] = bnp
            log.info("labels %d-%d of %d fitted (block %d/%d, %d iterations)", b * bs + 1, b * bs + len(cols_np), L,
                     b + 1, len(blocks), iters)
        bar.close()
        # assemble W (d x L) in label order
        Wall = sp.hstack(W_parts).tocsc()
        perm = np.empty(L, np.int64)
        perm[np.concatenate(blocks)] = np.arange(L)
        Wall = Wall[:, perm]
        network, net_spec = _network(Wall, bias, d, L, solver.dense_limit)
        clf = Classifier(featurizer, network, net_spec, space, None, "tfidf-linear", "sigmoid", {}, {})  # type: ignore[arg-type]
        # decision
        val_texts = [e.text for e in validation]
        val_enc = space.encode(e.labels for e in validation)
        if val_enc.unseen:
            log.warning("%s validation label(s) unseen in training are ignored for the decision",
                        summarize_names(val_enc.unseen))
        val_scores = clf.scores(val_texts)
        cv_dec = None
        if need_cv:
            cv_dec = cv_thresholds(oof, Y, space.class_freq_, L, objective=cfg.cv_objective)
        decision, candidates = choose_decision(decision_name, val_scores, val_enc.Y, cv_dec, loss.joint,
                                               cfg.decision_options, seed=cfg.seed)
        clf.decision = decision
        config = cfg.to_dict()
        config["fitter"] = "linear"
        config["loss_resolved"] = {k: v for k, v in loss.cfg.items()}
        clf.config = config
        clf.metrics = {"validation": micro_macro(val_enc.Y, decision.predict(val_scores)),
                       "decision_candidates": candidates, "train_seconds": round(time.time() - started, 3),
                       "solver": {"blocks": len(blocks), "block_size": bs, "max_iterations": max(stats["iterations"]),
                                  "solver": "liblinear" if loss.hinge else "lbfgs",
                                  "objective_evaluations": stats["evaluations"],
                                  "labels_not_converged": stats["not_converged"], "cv_folds": folds if need_cv else 0,
                                  "weights_nonzero": int(Wall.nnz), "features": d}}
        if out_dir is not None:
            clf.save(Path(out_dir) / "model")
        return clf


def _network(W: sp.csc_matrix, bias: np.ndarray, d: int, L: int, dense_limit: int):
    """A dense :class:`SparseLinear` when the weights are dense enough, else :class:`SparseWeightLinear`."""
    density = W.nnz / max(1, d * L)
    if density > 0.25 or d * L <= dense_limit:
        net_spec = {"class": "SparseLinear", "input_size": d, "num_labels": L, "options": {"hidden_size": 0}}
        net = SparseLinear(d, L)
        with torch.no_grad():
            net.embedding.weight.copy_(torch.from_numpy(W.toarray().astype(np.float32)))
            net.bias.copy_(torch.from_numpy(bias))
        return net.eval(), net_spec
    Wr = W.tocsr()
    net_spec = {"class": "SparseWeightLinear", "input_size": d, "num_labels": L, "options": {"nnz": int(Wr.nnz)}}
    net = SparseWeightLinear(d, L, nnz=int(Wr.nnz))
    net.load_csr(Wr.indptr, Wr.indices, Wr.data, bias)
    return net.eval(), net_spec
