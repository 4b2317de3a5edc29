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
of Lin et al., CIKM 2023), computed block by block as the labels are fitted
(:class:`~mltc.decision.cv.CVThresholdFit`), so one block's out-of-fold scores are held at a time. The final
decision is chosen on validation among one global threshold, per-label thresholds fitted on
validation and the cross-validated ones (``decision='auto'``).
"""
from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import scipy.sparse as sp
from tqdm.auto import tqdm

from ..classifier import Classifier
from ..data.examples import Example
from ..data.folds import assign_folds
from ..data.labels import LabelSpace
from ..decision.choose import choose_decision
from ..decision.cv import CVThresholdFit
from ..io import summarize_names
from ..metrics import micro_macro
from ..models.featurizers import TfidfFeaturizer
from ..models.linear_weights import LinearWeights
from ..models.registry import model_spec
from ..options import validate_train_config
from .config import LINEAR_DEFAULT_LOSS, TrainConfig, decision_options, default_decision
from .liblinear import SvmProblem, default_threads, pick_backend
from .linear_parts import HINGE_SOLVER_OPTIONS, Design, EntryLoss, _block_size, is_hinge, make_objective, solver_config

if TYPE_CHECKING:  # pragma: no cover
    import torch

# torch is imported only for the logistic family (L-BFGS): the squared hinge (LIBLINEAR) needs none

log = logging.getLogger("mltc")

#: the featurizer of the linear fitter unless ``featurizer_options`` say otherwise
LINEAR_TFIDF = dict(analyzer="auto", ngram_range=(1, 1), char_ngram_range=(1, 3), sublinear_tf=True,
                    max_features=None, min_df=1)

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
        validate_train_config(cfg)
        solver = solver_config(dict(cfg.solver_options))
        hinge_only = sorted(set(HINGE_SOLVER_OPTIONS) & set(cfg.solver_options))
        if hinge_only and not is_hinge(cfg.loss or LINEAR_DEFAULT_LOSS):
            raise ValueError(f"solver option(s) {', '.join(hinge_only)} apply to the squared hinge (LIBLINEAR) only, "
                             f"not to loss {cfg.loss!r} (fitted by L-BFGS)")
        started = time.time()
        space = LabelSpace(labels).fit(e.labels for e in train)
        featurizer = TfidfFeaturizer(**{**LINEAR_TFIDF, **cfg.featurizer_options})
        X = featurizer.fit_encode([e.text for e in train])
        Y = sp.csr_matrix(space.encode(e.labels for e in train).Y.astype(np.float32))
        n, d, L = X.shape[0], X.shape[1], space.num_labels
        loss_name: str = cfg.loss or LINEAR_DEFAULT_LOSS
        cfg = dataclasses.replace(cfg, loss=loss_name)
        loss = EntryLoss(loss_name, space.class_freq_, space.train_num_, cfg.loss_preset, Y, cfg.loss_options)
        tol = float(solver.tol if solver.tol is not None else 1e-4 if loss.hinge else 1e-3)
        C = float(solver.C if solver.C is not None else 1.0 if loss.hinge else 100.0)
        solver = dataclasses.replace(solver, tol=tol, C=C)
        folds = int(cfg.cv_folds)
        decision_name = cfg.decision or default_decision(loss_name, "linear")
        need_cv = decision_name in ("auto", "cv") and folds >= 2 and n >= 2 * folds
        fold_of = assign_folds(Y, folds, cfg.seed, cfg.cv_split) if need_cv else None
        design_all = None if loss.hinge else Design(X)
        fold_designs: list[tuple[Design | None, np.ndarray, np.ndarray]] = []
        if need_cv:
            assert fold_of is not None
            for k in range(folds):
                tr = np.flatnonzero(fold_of != k)
                fold_designs.append((None if loss.hinge else Design(X[tr]), tr, np.flatnonzero(fold_of == k)))
        bs = _block_size(n, d, L, solver.block_size, loss.joint)
        order = np.argsort(-space.class_freq_, kind="stable")  # frequent labels first (micro+macro CV needs it)
        blocks = [order[s:s + bs] for s in range(0, L, bs)]
        # the non-zero weights of every block as (feature, label, value) triplets, in final label ids
        W_parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        bias = np.zeros(L, np.float32)
        # thresholds from each block's out-of-fold scores as it is fitted: one block of scores held at a time
        cv_fit = CVThresholdFit(Y, L, cfg.cv_objective) if need_cv else None
        inv_c = 1.0 / C
        bar = tqdm(total=L * (1 + (folds if need_cv else 0)), desc="fitting labels", unit="label", leave=False,
                   disable=(not self.progress) if self.progress is not None else None)
        stats: dict[str, Any] = {"iterations": [], "evaluations": 0, "not_converged": 0}
        threads = int(cfg.threads or default_threads())
        if not loss.hinge:  # the logistic family: L-BFGS in torch
            import torch

            from ..models.networks import prior_logits
            from .solver import lbfgs_columns
            if cfg.threads:
                torch.set_num_threads(int(cfg.threads))
            prior = prior_logits(space.class_freq_, space.train_num_).numpy()

        def solve(part: int, cols_np: np.ndarray, W0: torch.Tensor | None, gref,
                  init: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray, int, int, int]:
            """Fit the labels ``cols_np`` on all training texts (part -1) or without fold ``part``
            (the squared hinge starts there from ``init``, the full model)."""
            rows = slice(None) if part < 0 else fold_designs[part][1]
            if loss.hinge:
                Wn, bn = svm_problems[part + 1].fit(Y[rows][:, cols_np].toarray(), C, tol, threads, init)
                return Wn, bn, 0, 0, 0
            cols = torch.from_numpy(cols_np)
            Yb = torch.from_numpy(Y[rows][:, cols_np].toarray())
            weights = loss.weights(cols)
            if weights is not None and weights.ndim == 2 and part >= 0:
                weights = weights[fold_designs[part][1]]
            design = design_all if part < 0 else fold_designs[part][0]
            assert design is not None and W0 is not None  # the logistic family has both
            fg = make_objective(design, Yb, loss, inv_c, cols, weights)
            res = lbfgs_columns(fg, W0, memory=solver.memory, max_iter=solver.max_iter, tol=tol,
                                gnorm_ref=gref, joint=loss.joint)
            return (res.W[:-1].numpy(), res.W[-1].numpy().copy(), int(res.iterations.max()), res.evaluations,
                    int((~res.converged).sum()))

        svm_problems: list[SvmProblem] = []  # LIBLINEAR's copy of each design matrix, made once for all labels
        if loss.hinge:
            backend = pick_backend(solver.backend, n, L)
            if backend == "sklearn" and cfg.solver_options.get("warm_start") and need_cv:
                log.warning("solver option warm_start has no effect with the sklearn backend (LinearSVC starts every "
                            "fit from zero); backend liblinear (mltc[fast]) starts each fold from the full model")
            svm_problems = [SvmProblem(Xp, backend, cfg.seed) for Xp in [X] + [X[tr] for _, tr, _ in fold_designs]]
        for b, cols_np in enumerate(blocks):
            W0 = gref = None
            if not loss.hinge:
                W0 = torch.zeros(d + 1, len(cols_np))
                W0[-1] = torch.from_numpy(prior[cols_np])
                cols = torch.from_numpy(cols_np)
                assert design_all is not None
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
                start = (Wnp, bnp) if loss.hinge and solver.warm_start else None
                for k, (_, _tr, va) in enumerate(fold_designs):
                    Wk, bk, _, evals, _ = solve(k, cols_np, W0, gref, start)
                    stats["evaluations"] += evals
                    scores[va] = X[va] @ Wk + bk
                    fold_bias[k] = bk
                    bar.update(len(cols_np))
                assert cv_fit is not None
                cv_fit.add((cols_np, scores, fold_of, fold_bias, bnp))
                del scores
            if solver.prune > 0:
                Wnp = np.where(np.abs(Wnp) >= solver.prune, Wnp, 0.0)
            r, c = np.nonzero(Wnp)
            W_parts.append((r.astype(np.int32), cols_np[c].astype(np.int32), Wnp[r, c]))
            del Wnp
            bias[cols_np] = bnp
            log.info("labels %d-%d of %d fitted (block %d/%d, %d iterations)", b * bs + 1, b * bs + len(cols_np), L,
                     b + 1, len(blocks), iters)
        bar.close()
        # one CSR (features x labels) built once from the triplets: no stacked or permuted copies
        rows_, cols_, vals_ = (np.concatenate([p[i] for p in W_parts]) for i in range(3))
        W_parts.clear()
        Wall = sp.csr_matrix((vals_, (rows_, cols_)), shape=(d, L), dtype=np.float32)
        del rows_, cols_, vals_
        network, net_spec = _network(Wall, bias, d, L, solver.dense_limit)
        clf = Classifier(featurizer, network, net_spec, space, None, "tfidf-linear", "sigmoid", {}, {})
        # decision
        val_texts = [e.text for e in validation]
        val_enc = space.encode(e.labels for e in validation)
        if val_enc.unseen:
            log.warning("%s validation label(s) unseen in training are ignored for the decision",
                        summarize_names(val_enc.unseen))
        val_scores = clf.scores(val_texts)
        cv_dec = cv_fit.result() if cv_fit is not None else None
        labelled = float((Y.getnnz(axis=1) > 0).mean())  # share of training texts with a label
        # a global threshold searches the model's grid (tfidf-linear: wide; the default loss scores sigmoids of SVM
        # margins, not probabilities)
        cfg = dataclasses.replace(cfg, decision_options=decision_options(
            decision_name, model_spec(cfg.model).training, cfg.decision_options))
        decision, candidates = choose_decision(decision_name, val_scores, val_enc.Y, cv_dec, loss.joint,
                                               cfg.decision_options, seed=cfg.seed, labelled_share=labelled)
        clf.decision = decision
        config = cfg.to_dict()
        config["fitter"] = "linear"
        config["loss_resolved"] = {k: v for k, v in loss.cfg.items()}
        clf.config = config
        clf.metrics = {"validation": micro_macro(val_enc.Y, decision.predict(val_scores)),
                       "decision_candidates": candidates, "train_seconds": round(time.time() - started, 3),
                       "solver": {"blocks": len(blocks), "block_size": bs, "max_iterations": max(stats["iterations"]),
                                  "solver": "liblinear" if loss.hinge else "lbfgs",
                                  "backend": svm_problems[0].backend if loss.hinge else "torch",
                                  "objective_evaluations": stats["evaluations"],
                                  "labels_not_converged": None if loss.hinge else stats["not_converged"],
                                  "cv_folds": folds if need_cv else 0,
                                  "weights_nonzero": int(Wall.nnz), "features": d}}
        if out_dir is not None:
            clf.save(Path(out_dir) / "model")
        return clf


def _network(W: sp.csr_matrix, bias: np.ndarray, d: int, L: int, dense_limit: int) -> tuple[LinearWeights, dict[str, Any]]:
    """Dense weights (saved as ``SparseLinear``) when they are dense enough, else CSR (``SparseWeightLinear``)."""
    density = W.nnz / max(1, d * L)
    weights = LinearWeights(W.toarray() if density > 0.25 or d * L <= dense_limit else W, bias)
    return weights, weights.spec
