"""Fold assignments for the cross-validated thresholds: random, and stratified label by label."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from mltc.data.folds import assign_folds, random_folds, stratified_folds


def zipf_labels(n: int = 3000, L: int = 300, seed: int = 0) -> sp.csr_matrix:
    """Long-tailed labels: label l on about 1000 / (l + 1) texts (at least one), some texts with none."""
    rng = np.random.default_rng(seed)
    rows, cols = [], []
    for label in range(L):
        k = min(n, max(1, 1000 // (label + 1)))
        rows += list(rng.choice(n, k, replace=False))
        cols += [label] * k
    return sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, L))


def positives_per_fold(Y: sp.csr_matrix, fold_of: np.ndarray, folds: int) -> np.ndarray:
    return np.stack([np.asarray(Y[fold_of == k].sum(0)).ravel() for k in range(folds)])


@pytest.mark.parametrize("folds", [2, 3, 5])
def test_stratified_spreads_every_label_and_keeps_fold_sizes(folds):
    Y = zipf_labels()
    fold_of = stratified_folds(Y, folds, seed=1)
    assert fold_of.shape == (Y.shape[0],) and set(fold_of.tolist()) == set(range(folds))
    sizes = np.bincount(fold_of, minlength=folds)
    assert sizes.max() - sizes.min() <= 1
    spread = np.ptp(positives_per_fold(Y, fold_of, folds), axis=0)
    spread_random = np.ptp(positives_per_fold(Y, random_folds(Y.shape[0], folds, 1), folds), axis=0)
    # a rare label's positives differ by at most one between folds unless rarer labels already placed its
    # texts (a few here); the random draw of the same sizes leaves most labels uneven
    rare = np.asarray(Y.sum(0)).ravel() < 10
    assert (spread[rare] <= 1).mean() >= 0.95 and (spread_random[rare] <= 1).mean() < 0.6
    assert (spread <= 1).mean() >= 0.85 and (spread_random <= 1).mean() < 0.5
    assert spread.max() * 3 < spread_random.max()


def test_labels_with_two_positives_land_in_two_folds():
    Y = zipf_labels(L=600)
    counts = np.asarray(Y.sum(0)).ravel()
    twos = np.flatnonzero(counts == 2)
    assert len(twos) > 10
    fold_of = stratified_folds(Y, 3, seed=7)
    per = positives_per_fold(Y, fold_of, 3)
    assert (per[:, twos].max(0) == 1).all()


def test_seeded_and_deterministic():
    Y = zipf_labels(seed=3)
    a, b = stratified_folds(Y, 3, seed=5), stratified_folds(Y.toarray(), 3, seed=5)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, stratified_folds(Y, 3, seed=6))


def test_texts_without_labels_fill_the_folds():
    Y = np.zeros((10, 3))
    Y[0, 0] = Y[1, 0] = Y[2, 1] = 1
    fold_of = stratified_folds(Y, 3, seed=0)
    assert sorted(np.bincount(fold_of, minlength=3).tolist()) == [3, 3, 4]
    assert fold_of[0] != fold_of[1]


def test_random_is_the_historical_draw_and_bad_values_are_refused():
    Y = zipf_labels(n=100, L=5)
    assert np.array_equal(assign_folds(Y, 3, 42), np.random.default_rng(42).permutation(100) % 3)
    with pytest.raises(ValueError, match="unknown fold split"):
        assign_folds(Y, 3, 42, "by-date")
    with pytest.raises(ValueError, match="folds must be"):
        stratified_folds(Y, 1, 0)
