"""A validation split held out of the training texts, for data that come without one.

Many labelled corpora ship as train and test files only. Every fitter chooses its decision
(and the neural ones stop early) on validation texts, so :func:`hold_out` draws them from the
training texts: a seeded random share, except that a text stays in training when holding it
out would leave one of its labels with no training text (a label seen only in validation
could never be predicted, and would count as a miss there). LibMultiLabel's ``val_size``
and Hugging Face's ``train_test_split`` play the same part.
"""
from __future__ import annotations

from collections import Counter
from typing import Any, Callable, Iterable, Sequence, TypeVar

import numpy as np

T = TypeVar("T")


def hold_out(examples: Sequence[T], share: float, seed: int,
             labels_of: Callable[[T], Iterable[Any]] | None = None) -> tuple[list[T], list[T]]:
    """Split ``examples`` into (training, validation) with about ``share`` of them in validation.

    Parameters
    ----------
    examples : sequence
        The training texts (any objects; their order is kept in both parts).
    share : float
        0 < share < 1: the wanted validation share; at least one text is held out and at
        least one kept.
    seed : int
        Seeds the draw: the same texts, share and seed give the same split.
    labels_of : callable, optional
        The labels of one example. When given, an example is held out only while every one of
        its labels keeps at least one training example, so validation may end up smaller
        than ``share`` on a set where most labels occur once.

    Returns
    -------
    train, validation : list, list
    """
    if not 0 < share < 1:
        raise ValueError(f"the held-out validation share must lie strictly between 0 and 1, got {share}")
    n = len(examples)
    if n < 2:
        raise ValueError(f"{n} training text(s): too few to hold any out for validation; give validation texts")
    want = min(n - 1, max(1, int(round(share * n))))
    order = np.random.default_rng(seed).permutation(n)
    left: Counter = Counter()
    if labels_of is not None:
        for e in examples:
            left.update(set(labels_of(e)))
    held = np.zeros(n, dtype=bool)
    count = 0
    for i in order:
        if count == want:
            break
        if labels_of is not None:
            labels = set(labels_of(examples[i]))
            if any(left[label] <= 1 for label in labels):
                continue
            left.subtract(labels)
        held[i] = True
        count += 1
    if count == 0:
        raise ValueError("no training text can be held out for validation without leaving a label with no "
                         "training text; give validation texts")
    return ([e for e, h in zip(examples, held) if not h], [e for e, h in zip(examples, held) if h])
