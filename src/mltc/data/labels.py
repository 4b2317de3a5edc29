"""The label space: names to indices and back, multi-hot matrices, training frequencies."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np

#: The paper's cut-offs on training frequency: head n >= 35, tail n <= 8, medium between.
DEFAULT_GROUP_CUTS = {"head": 35, "tail": 8}


@dataclass
class EncodedLabels:
    """A multi-hot matrix plus what could not be encoded."""

    Y: np.ndarray  # (n_texts, n_labels) uint8
    unseen: Counter = field(default_factory=Counter)  # label name -> occurrences
    texts_with_unseen: int = 0


class LabelSpace:
    """Maps label names to column indices and keeps training statistics.

    Fit it on the *training* labels only: ``class_freq_`` counts training texts per label
    and ``train_num_`` the training texts (including texts with no label, which are kept
    and counted in ``n_unlabelled_``). Labels declared by the data set but absent from
    training get frequency 0.
    """

    def __init__(self, labels: Sequence[str] | None = None) -> None:
        self._has_labels = labels is not None  # declared, or fixed by the first fit()
        self.labels: list[str] = list(labels) if labels is not None else []
        self.index_: dict[str, int] = {}
        if self._has_labels:
            self._check_unique(self.labels)
            self.index_ = {l: i for i, l in enumerate(self.labels)}

    @staticmethod
    def _check_unique(labels: Sequence[str]) -> None:
        dup = [l for l, c in Counter(labels).items() if c > 1]
        if dup:
            raise ValueError(f"duplicate label name(s): {', '.join(dup[:5])}")
        bad = [l for l in labels if not isinstance(l, str) or not l.strip()]
        if bad:
            raise ValueError("label names must be non-empty strings")

    def fit(self, train_labels: Iterable[Sequence[str]]) -> "LabelSpace":
        train_labels = [tuple(l) for l in train_labels]
        counts = Counter(l for labels in train_labels for l in set(labels))
        if not self._has_labels:
            self._check_unique(sorted(counts))
            self.labels, self._has_labels = sorted(counts), True
            self.index_ = {l: i for i, l in enumerate(self.labels)}
        unknown = set(counts) - set(self.index_)
        if unknown:
            raise ValueError(f"training labels not in the declared label list: {', '.join(sorted(unknown)[:10])}")
        if not self.labels:
            raise ValueError("no labels: the training data carries no label at all")
        self.class_freq_ = np.array([counts.get(l, 0) for l in self.labels], dtype=np.int64)
        self.train_num_ = len(train_labels)
        self.n_unlabelled_ = sum(1 for labels in train_labels if not labels)
        return self

    @property
    def num_labels(self) -> int:
        return len(self.labels)

    @property
    def zero_frequency_labels(self) -> list[str]:
        return [l for l, n in zip(self.labels, self.class_freq_) if n == 0]

    def encode(self, label_lists: Iterable[Sequence[str]]) -> EncodedLabels:
        """Multi-hot encode; labels unknown to the space are counted, not dropped silently."""
        label_lists = list(label_lists)
        Y = np.zeros((len(label_lists), self.num_labels), dtype=np.uint8)
        unseen: Counter = Counter()
        texts_with_unseen = 0
        for i, labels in enumerate(label_lists):
            missing = False
            for l in labels:
                j = self.index_.get(l)
                if j is None:
                    unseen[l] += 1
                    missing = True
                else:
                    Y[i, j] = 1
            texts_with_unseen += missing
        return EncodedLabels(Y, unseen, texts_with_unseen)

    def decode(self, row: Sequence[int] | np.ndarray) -> list[str]:
        return [self.labels[j] for j in np.flatnonzero(np.asarray(row))]

    def groups(self, head: int = DEFAULT_GROUP_CUTS["head"], tail: int = DEFAULT_GROUP_CUTS["tail"]) -> dict[str, np.ndarray]:
        """Column indices of the head (n >= head), medium and tail (n <= tail) labels."""
        return label_groups(self.class_freq_, head, tail)

    def to_dict(self) -> dict:
        return {
            "labels": self.labels,
            "class_freq": self.class_freq_.tolist(),
            "train_num": int(self.train_num_),
            "n_unlabelled": int(self.n_unlabelled_),
        }

    @classmethod
    def from_dict(cls, d: dict) -> "LabelSpace":
        space = cls(d["labels"])
        freq = np.asarray(d["class_freq"], dtype=np.int64)
        if freq.shape != (len(space.labels),):
            raise ValueError("class_freq does not match the label list")
        space.class_freq_ = freq
        space.train_num_ = int(d["train_num"])
        space.n_unlabelled_ = int(d.get("n_unlabelled", 0))
        return space


def label_groups(class_freq: np.ndarray, head: int = 35, tail: int = 8) -> dict[str, np.ndarray]:
    """Split label columns by training frequency: head ``n >= head``, tail ``n <= tail``."""
    if tail >= head:
        raise ValueError(f"tail cut-off ({tail}) must be below the head cut-off ({head})")
    freq = np.asarray(class_freq)
    return {
        "head": np.flatnonzero(freq >= head),
        "medium": np.flatnonzero((freq > tail) & (freq < head)),
        "tail": np.flatnonzero(freq <= tail),
    }
