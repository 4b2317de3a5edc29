"""Peer contender: LibMultiLabel's linear one-vs-rest (LIBLINEAR) on the peers' TF-IDF.

Two methods (``--method``):

* ``thresholding``: ``libmultilabel.linear.train_thresholding``, LibMultiLabel's thresholding
  method. Per label, a 3-fold cross-validation on the TRAINING data picks the decision
  threshold that maximises micro-F1 + macro-F1 (labels visited from most to least frequent;
  the "micromacro-freq" method of Lin et al., CIKM 2023, as its docstring says), then the
  label is refitted on all training data. The validation file is not used.
* ``1vsrest``: ``libmultilabel.linear.train_1vsrest`` plus ONE global shift of the decision
  values tuned on validation micro-F1 over ``-1.0 ... 1.0`` step ``0.1`` (as ``peer_svm.py``).

Both fit on the training file only, over the labels seen in training, with the TF-IDF of
``peer_common.make_tfidf`` (fitted here with scikit-learn, the same vectoriser LibMultiLabel's
``Preprocessor`` wraps). LIBLINEAR options default to ``-s 2 -B 1 -e 0.0001 -q``.

    python benchmarks/peer_libmultilabel.py --method thresholding --train tr.jsonl \
        --validation va.jsonl --test te.jsonl --out pred.jsonl

Shim: LibMultiLabel 0.10's ``train_thresholding`` counts each label's positives with
``np.sum(y, 2)`` on a 2-D sparse matrix, which SciPy >= 1.17 rejects ("axis out of range").
``patch_libmultilabel()`` gives that module a numpy whose ``sum`` reads axis 2 of a sparse
matrix as the per-label (column) count it means; everything else is numpy itself.
"""
from __future__ import annotations

import logging
import time

import numpy as np
import scipy.sparse as sp

from peer_common import (data_arguments, label_matrix, make_tfidf, read_jsonl, shift_grid, tune_global_shift,
                         write_info, write_predictions)

DEFAULT_OPTIONS = "-s 2 -B 1 -e 0.0001 -q"


class _NumpyColumnSum:
    """numpy, except that ``sum(sparse, 2)`` returns the column sums (positives per label)."""

    def __getattr__(self, name):
        return getattr(np, name)

    @staticmethod
    def sum(a, axis=None, *args, **kwargs):
        if sp.issparse(a) and axis == 2 and a.ndim == 2:
            return np.asarray(a.sum(axis=0)).ravel()
        return np.sum(a, axis, *args, **kwargs)


def patch_libmultilabel() -> bool:
    """Install the shim when this SciPy rejects ``np.sum(sparse_matrix, 2)``; returns whether it did."""
    import libmultilabel.linear.linear as lml
    try:
        np.sum(sp.csc_matrix(np.eye(2)), 2)
        return False
    except ValueError:
        lml.np = _NumpyColumnSum()
        return True


def main() -> None:
    p = data_arguments(__doc__.split("\n")[0])
    p.add_argument("--method", choices=["thresholding", "1vsrest"], default="thresholding")
    p.add_argument("--options", default=DEFAULT_OPTIONS, help="LIBLINEAR options.")
    p.add_argument("--seed", type=int, default=0, help="numpy seed (thresholding's cross-validation folds).")
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    t0 = time.perf_counter()
    from libmultilabel import linear
    patched = patch_libmultilabel()
    np.random.seed(args.seed)

    tr_x, tr_y = read_jsonl(args.train)
    te_x, _ = read_jsonl(args.test)
    labels = sorted({l for ls in tr_y for l in ls})
    vec, info = make_tfidf(tr_x)
    X_tr = vec.fit_transform(tr_x).astype(np.float64).tocsr()
    Y_tr = label_matrix(tr_y, labels).astype(np.float64)
    train = linear.train_thresholding if args.method == "thresholding" else linear.train_1vsrest
    model = train(Y_tr, X_tr, options=args.options, verbose=False)
    t_fit = time.perf_counter()

    decision = lambda X: linear.predict_values(model, X)  # noqa: E731  (thresholds already added)
    shift, tuning = 0.0, {}
    if args.method == "1vsrest":
        va_x, va_y = read_jsonl(args.validation)
        shift, tuning = tune_global_shift(decision, vec.transform(va_x), label_matrix(va_y, labels), shift_grid())
    write_predictions(args.out, decision, vec.transform(te_x), labels, shift, args.top)
    info.update(contender=f"libmultilabel-{args.method}", options=args.options, shift=shift, scipy_shim=patched,
                num_labels=len(labels), num_features=X_tr.shape[1], fit_seconds=round(t_fit - t0, 2),
                total_seconds=round(time.perf_counter() - t0, 2), **tuning)
    write_info(args.info, info)


if __name__ == "__main__":
    main()
