"""k-fold assignments of multi-label training texts: random, or stratified label by label.

The cross-validated thresholds of the linear fitter (:mod:`mltc.decision.cv`) learn a label's
cut from the folds whose training part holds a positive of it and whose held-out part is
scored. For a label with a handful of positives a random assignment often puts two of them in
one fold: that fold's model never saw the label, and the other folds have no held-out positive
to place a cut at. :func:`stratified_folds` spreads each label's positives over the folds as
evenly as the other labels allow, with the iterative stratification of Sechidis, Tsoumakas and
Vlahavas, *On the Stratification of Multi-Label Data* (ECML PKDD 2011), as scikit-multilearn's
``IterativeStratification`` implements it: labels are visited from the rarest, and each of a
label's texts not yet placed goes to the fold that still wants most of that label's positives
(ties: the fold that wants most texts, then at random); texts without a label fill the folds
to equal sizes. (The paper re-picks the rarest label among the texts still unplaced after each
label; visiting labels once in order of training frequency is the usual simplification and
gives the same result for the rare labels, which are placed first either way.)
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

FOLD_SPLITS = ("random", "stratified")


def random_folds(n: int, folds: int, seed: int) -> np.ndarray:
    """Fold of each of ``n`` texts (``0 .. folds-1``), a seeded random assignment of equal sizes."""
    return np.random.default_rng(seed).permutation(n) % folds


def stratified_folds(Y: sp.spmatrix | np.ndarray, folds: int, seed: int) -> np.ndarray:
    """Fold of each text (rows of ``Y``, texts × labels, non-zero = positive), stratified per label.

    Parameters
    ----------
    Y : sparse matrix or ndarray, shape (n, L)
        The training labels.
    folds : int
        At least 2, at most ``n``.
    seed : int
        Seeds the tie breaks and the order of texts within a label: the same labels, folds and
        seed give the same assignment.

    Returns
    -------
    ndarray of int, shape (n,)
        Every fold holds ``n // folds`` or ``n // folds + 1`` texts give or take what the labelled
        texts force, and each label's positives differ by at most one between folds wherever
        the texts it shares with rarer labels allow it.
    """
    Y = sp.csr_matrix(Y, dtype=bool)
    Y.eliminate_zeros()
    n, L = Y.shape
    if not 2 <= folds <= n:
        raise ValueError(f"folds must be in [2, {n}] for {n} texts, got {folds}")
    rng = np.random.default_rng(seed)
    Yc = Y.tocsc()
    counts = np.diff(Yc.indptr)
    want_label = np.tile(counts / folds, (folds, 1))  # positives of each label each fold still wants
    want_texts = np.full(folds, n / folds)
    fold_of = np.full(n, -1, np.int64)
    for label in np.lexsort((rng.random(L), counts)):  # rarest first, ties at random
        if counts[label] == 0:
            continue
        rows = Yc.indices[Yc.indptr[label]:Yc.indptr[label + 1]]
        for i in rng.permutation(rows[fold_of[rows] < 0]):
            w = want_label[:, label]
            best = np.flatnonzero(w == w.max())
            if len(best) > 1:
                t = want_texts[best]
                best = best[t == t.max()]
            k = int(best[0] if len(best) == 1 else rng.choice(best))
            fold_of[i] = k
            want_label[k, Y.indices[Y.indptr[i]:Y.indptr[i + 1]]] -= 1
            want_texts[k] -= 1
    rest = rng.permutation(np.flatnonzero(fold_of < 0))
    if len(rest):  # texts without a label: fill the folds that still want texts, largest want first
        sizes = np.bincount(fold_of[fold_of >= 0], minlength=folds)
        target = np.full(folds, n // folds) + (np.arange(folds) < n % folds)
        need = np.maximum(target - sizes, 0)
        while need.sum() < len(rest):  # labelled texts overfilled some folds: the others take the remainder
            need[np.argmin(sizes + need)] += 1
        while need.sum() > len(rest):
            need[np.argmax(need)] -= 1
        fold_of[rest] = np.repeat(np.arange(folds), need)
    return fold_of


def assign_folds(Y: sp.spmatrix | np.ndarray, folds: int, seed: int, split: str = "random") -> np.ndarray:
    """Fold of each text by ``split`` (one of :data:`FOLD_SPLITS`)."""
    if split == "random":
        return random_folds(Y.shape[0], folds, seed)
    if split == "stratified":
        return stratified_folds(Y, folds, seed)
    raise ValueError(f"unknown fold split {split!r}; choose one of {', '.join(FOLD_SPLITS)}")
