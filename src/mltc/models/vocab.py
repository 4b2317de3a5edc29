"""Word-id features, saved as JSON (never pickled).

- :class:`VocabFeaturizer`: token ids padded to a maximum length, for TextCNN / BiLSTM.
- :class:`HashedNgramFeaturizer`: fastText-style word ids plus hashed word bigrams
  (Joulin et al., "Bag of Tricks for Efficient Text Classification", EACL 2017).
"""
from __future__ import annotations

import zlib
from collections import Counter
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from ..modelcheck import ModelFormatError, blame, only_keys, require_int, string_list
from .featurizer_base import PAD, UNK, Featurizer, bag_batch, register_featurizer
from .text import tokenize

if TYPE_CHECKING:  # pragma: no cover
    import torch


def _stable_hash(s: str) -> int:
    return zlib.crc32(s.encode("utf-8"))


class VocabFeaturizer(Featurizer):
    """Token ids (0 = padding, 1 = unknown), truncated to ``max_len`` tokens."""

    kind = "vocab"
    input_kind = "sequence"

    def __init__(self, max_len: int = 256, min_count: int = 2, max_size: int = 50_000,
                 vocabulary: list[str] | None = None) -> None:
        self.max_len, self.min_count, self.max_size = int(max_len), int(min_count), int(max_size)
        self.vocabulary = vocabulary
        self.index_ = None if vocabulary is None else {t: i for i, t in enumerate(vocabulary)}

    def fit(self, texts: Sequence[str]) -> VocabFeaturizer:
        counts = Counter(tok for t in texts for tok in tokenize(t))
        kept = [t for t, c in counts.most_common(self.max_size) if c >= self.min_count]
        self.vocabulary = ["<pad>", "<unk>"] + sorted(kept, key=lambda t: (-counts[t], t))
        self.index_ = {t: i for i, t in enumerate(self.vocabulary)}
        return self

    def _index(self) -> dict[str, int]:
        if self.index_ is None:
            raise RuntimeError(f"{type(self).__name__} is not fitted")
        return self.index_

    def _vocabulary(self) -> list[str]:
        if self.vocabulary is None:
            raise RuntimeError(f"{type(self).__name__} is not fitted")
        return self.vocabulary

    def ids(self, text: str) -> np.ndarray:
        index = self._index()
        toks = tokenize(text)[: self.max_len]
        return np.fromiter((index.get(t, UNK) for t in toks), dtype=np.int64, count=len(toks))

    def encode(self, texts: Sequence[str]) -> list[np.ndarray]:
        self._index()
        return [self.ids(t) for t in texts]

    def batch(self, encoded: list[np.ndarray], rows: np.ndarray) -> dict[str, torch.Tensor]:
        seqs = [encoded[i] for i in rows]
        width = max(1, max((len(s) for s in seqs), default=1))
        ids = np.zeros((len(seqs), width), dtype=np.int64)
        for i, s in enumerate(seqs):
            ids[i, : len(s)] = s
        import torch
        t = torch.from_numpy(ids)
        return {"ids": t, "mask": t != PAD}

    @property
    def input_size(self) -> int:
        return len(self._vocabulary())

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "max_len": self.max_len, "min_count": self.min_count, "max_size": self.max_size,
                "vocabulary": self.vocabulary}


class HashedNgramFeaturizer(VocabFeaturizer):
    """fastText-style inputs: word ids plus word bigrams hashed into ``buckets`` slots."""

    kind = "hashed-ngrams"
    input_kind = "bag"

    def __init__(self, buckets: int = 2**16, word_ngrams: int = 2, max_len: int = 2000, min_count: int = 1,
                 max_size: int = 50_000, vocabulary: list[str] | None = None) -> None:
        super().__init__(max_len, min_count, max_size, vocabulary)
        self.buckets, self.word_ngrams = int(buckets), int(word_ngrams)

    def ids(self, text: str) -> np.ndarray:
        index = self._index()
        toks = tokenize(text)[: self.max_len]
        ids = [index.get(t, UNK) for t in toks]
        base = len(self._vocabulary())
        for n in range(2, self.word_ngrams + 1):
            ids.extend(base + _stable_hash(" ".join(toks[i:i + n])) % self.buckets for i in range(len(toks) - n + 1))
        if not ids:
            ids = [PAD]
        return np.asarray(ids, dtype=np.int64)

    def batch(self, encoded: list[np.ndarray], rows: np.ndarray) -> dict[str, torch.Tensor]:
        return bag_batch([encoded[i] for i in rows])

    @property
    def input_size(self) -> int:
        return len(self._vocabulary()) + self.buckets

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "buckets": self.buckets, "word_ngrams": self.word_ngrams}


def check_vocab_dict(d: dict[str, Any], path, hashed: bool) -> None:
    """A stored vocabulary featurizer (``kind`` removed): known keys, sizes in range, the special entries."""
    keys = ("max_len", "min_count", "max_size", "vocabulary") + (("buckets", "word_ngrams") if hashed else ())
    only_keys(d, keys, path, "a vocabulary featurizer")
    require_int(d, "max_len", path, 1, 10**7, optional=True)
    require_int(d, "min_count", path, 0, None, optional=True)
    require_int(d, "max_size", path, 0, None, optional=True)
    if hashed:
        require_int(d, "buckets", path, 1, 2**31, optional=True)
        require_int(d, "word_ngrams", path, 1, 20, optional=True)
    if len(string_list(d.get("vocabulary"), path, "vocabulary")) < 2:
        raise ModelFormatError(path, "the vocabulary needs at least the padding and unknown entries")


def load_vocab(d: dict[str, Any], folder=None, path="featurizer.json") -> VocabFeaturizer:
    check_vocab_dict(d, path, hashed=False)
    with blame(path, "cannot rebuild the featurizer"):
        return VocabFeaturizer(**d)


def load_hashed_ngrams(d: dict[str, Any], folder=None, path="featurizer.json") -> HashedNgramFeaturizer:
    check_vocab_dict(d, path, hashed=True)
    with blame(path, "cannot rebuild the featurizer"):
        return HashedNgramFeaturizer(**d)


register_featurizer("vocab", load_vocab)
register_featurizer("hashed-ngrams", load_hashed_ngrams)
