"""Peer contender: TF-IDF + one-vs-rest LinearSVC(C=1) with one global shift tuned on validation.

Fits TF-IDF (see ``peer_common.make_tfidf``) and ``OneVsRestClassifier(LinearSVC(C=1))`` on
the training file only, over the labels seen in training. The validation file picks ONE shift
``s`` of all decision values (``-1.0 ... 1.0`` step ``0.1``) for the best micro-F1; a test text
gets every label with ``decision + s > 0``. No fallback: a text may get no label and a label
that is never above the cut stays unpredicted.

    python benchmarks/peer_svm.py --train tr.jsonl --validation va.jsonl --test te.jsonl --out pred.jsonl
"""
from __future__ import annotations

import time

import numpy as np
from sklearn.multiclass import OneVsRestClassifier
from sklearn.svm import LinearSVC

from peer_common import (data_arguments, label_matrix, make_tfidf, read_jsonl, shift_grid, tune_global_shift,
                         write_info, write_predictions)


def main() -> None:
    p = data_arguments(__doc__.split("\n")[0])
    p.add_argument("--C", type=float, default=1.0, help="LinearSVC C.")
    p.add_argument("--seed", type=int, default=0, help="LinearSVC random_state (its coordinate-descent order).")
    args = p.parse_args()
    t0 = time.perf_counter()
    tr_x, tr_y = read_jsonl(args.train)
    va_x, va_y = read_jsonl(args.validation)
    te_x, _ = read_jsonl(args.test)
    labels = sorted({l for ls in tr_y for l in ls})
    vec, info = make_tfidf(tr_x)
    X_tr = vec.fit_transform(tr_x)
    # int32 labels: with int8 and more than 128 columns scikit-learn 1.9 reorders the columns.
    Y_tr = label_matrix(tr_y, labels)
    clf = OneVsRestClassifier(LinearSVC(C=args.C, random_state=args.seed)).fit(X_tr, Y_tr)
    t_fit = time.perf_counter()

    # Stack the per-label linear models so decision values are one sparse product; each estimator's
    # copy is dropped as it is taken, so the weights are held about once, not twice.
    W = np.empty((X_tr.shape[1], len(labels)))
    for j, e in enumerate(clf.estimators_):
        W[:, j] = e.coef_.ravel() if hasattr(e, "coef_") else 0.0
    # A label positive on every training text gets scikit-learn's constant predictor (no coef_).
    b = np.array([float(np.ravel(e.intercept_)[0]) if hasattr(e, "coef_") else 2.0 * float(np.ravel(e.y_)[0]) - 1.0
                  for e in clf.estimators_])
    for e in clf.estimators_:
        e.__dict__.pop("coef_", None)
    decision = lambda X: np.asarray(X @ W) + b  # noqa: E731
    shift, tuning = tune_global_shift(decision, vec.transform(va_x), label_matrix(va_y, labels), shift_grid())
    write_predictions(args.out, decision, vec.transform(te_x), labels, shift, args.top)
    info.update(contender="svm", C=args.C, seed=args.seed, shift=shift, num_labels=len(labels), num_features=X_tr.shape[1],
                fit_seconds=round(t_fit - t0, 2), total_seconds=round(time.perf_counter() - t0, 2), **tuning)
    write_info(args.info, info)


if __name__ == "__main__":
    main()
