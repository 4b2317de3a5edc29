"""Featurizers: fitted on training texts, saved as JSON (never pickled).

Each featurizer has ``fit(texts)``, ``encode(texts)`` (the whole list, to a compact
representation) and ``batch(encoded, rows)`` (a dict of tensors a model's ``forward``
accepts), plus ``to_dict()`` / ``from_dict()``.

- :class:`TfidfFeaturizer`: scikit-learn's ``TfidfVectorizer``; word 1-2 grams, or
  character n-grams for unsegmented text (Chinese, Japanese) chosen automatically.
- :class:`HashedNgramFeaturizer`: fastText-style word ids plus hashed word bigrams
  (Joulin et al., "Bag of Tricks for Efficient Text Classification", EACL 2017).
- :class:`VocabFeaturizer`: token ids padded to a maximum length, for TextCNN / BiLSTM.
"""
from __future__ import annotations

import zlib
from collections import Counter
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.feature_extraction.text import TfidfVectorizer

from ..modelcheck import (MACHINE_OPTIONS, SAFE_ANALYZERS, SAFE_STOP_WORDS, SAFE_TOKEN_PATTERNS, ModelFormatError,
                          blame, check_tree_inside, inside, ngram_range, number_list, only_keys, require, require_int,
                          require_number, string_list)
from .text import clip, cjk_ratio, tokenize

PAD, UNK = 0, 1


class Featurizer:
    kind = "base"
    input_kind = "bag"  # "bag" (EmbeddingBag inputs) or "sequence" (padded ids)

    def fit(self, texts: Sequence[str]) -> "Featurizer":  # pragma: no cover - abstract
        raise NotImplementedError

    def encode(self, texts: Sequence[str]) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def batch(self, encoded: Any, rows: np.ndarray) -> dict[str, torch.Tensor]:  # pragma: no cover
        raise NotImplementedError

    @property
    def input_size(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def network_options(self) -> dict[str, Any]:
        """Extra options the network needs from the fitted featurizer (e.g. a second input size)."""
        return {}

    def save_files(self, folder) -> None:
        """Write files beside ``featurizer.json`` (tokenizer, encoder); plain featurizers have none."""

    def to_dict(self) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError


def bag_batch(ids: Sequence[np.ndarray], weights: Sequence[np.ndarray] | None = None) -> dict[str, torch.Tensor]:
    """EmbeddingBag inputs (flat ids, offsets, optional per-id weights) from lists of arrays."""
    lengths = np.fromiter((len(a) for a in ids), dtype=np.int64, count=len(ids))
    offsets = np.zeros(len(ids), dtype=np.int64)
    np.cumsum(lengths[:-1], out=offsets[1:])
    flat = np.concatenate(ids) if len(ids) else np.zeros(0, np.int64)
    out = {"ids": torch.from_numpy(flat.astype(np.int64)), "offsets": torch.from_numpy(offsets)}
    if weights is not None:
        w = np.concatenate(weights) if len(weights) else np.zeros(0, np.float32)
        out["weights"] = torch.from_numpy(w.astype(np.float32))
    return out


def check_plain_tfidf_options(analyzer: Any, token_pattern: Any, stop_words: Any) -> None:
    """Only plain, known values for the TF-IDF options that scikit-learn would compile or call.

    A token pattern is a regular expression run on every text: only the known safe
    patterns are accepted (a crafted one can take exponential time).
    """
    if analyzer not in SAFE_ANALYZERS:
        raise ValueError(f"analyzer must be one of {', '.join(SAFE_ANALYZERS)}, got {analyzer!r}")
    if token_pattern not in SAFE_TOKEN_PATTERNS:
        raise ValueError(f"token_pattern must be one of {', '.join(map(repr, SAFE_TOKEN_PATTERNS))}, got {token_pattern!r}")
    if stop_words not in SAFE_STOP_WORDS and not (isinstance(stop_words, list)
                                                  and all(isinstance(w, str) for w in stop_words)):
        raise ValueError(f"stop_words must be null, 'english' or a list of words, got {stop_words!r}")


class TfidfFeaturizer(Featurizer):
    """TF-IDF over word n-grams or character n-grams (``analyzer='auto'`` decides).

    Parameters are those of :class:`sklearn.feature_extraction.text.TfidfVectorizer`
    that are plain values. ``analyzer='auto'`` uses ``word`` with ``ngram_range`` unless
    more than 30% of training characters are CJK, then ``char`` with ``char_ngram_range``.
    """

    kind = "tfidf"
    input_kind = "bag"

    def __init__(self, analyzer: str = "auto", ngram_range=(1, 2), char_ngram_range=(1, 3), min_df: int | float = 1,
                 max_df: float = 1.0, max_features: int | None = 200_000, sublinear_tf: bool = True,
                 lowercase: bool = True, norm: str = "l2", token_pattern: str = r"(?u)\b\w\w+\b",
                 stop_words: str | None = None, vocabulary: list[str] | None = None, idf: list[float] | None = None,
                 resolved_analyzer: str | None = None) -> None:
        check_plain_tfidf_options(analyzer, token_pattern, stop_words)
        self.params = dict(analyzer=analyzer, ngram_range=tuple(ngram_range), char_ngram_range=tuple(char_ngram_range),
                           min_df=min_df, max_df=max_df, max_features=max_features, sublinear_tf=sublinear_tf,
                           lowercase=lowercase, norm=norm, token_pattern=token_pattern, stop_words=stop_words)
        self.resolved_analyzer = resolved_analyzer
        self.vectorizer_: TfidfVectorizer | None = None
        if vocabulary is not None:
            if idf is None or len(idf) != len(vocabulary):
                raise ValueError("a saved TF-IDF featurizer needs idf values for every vocabulary entry")
            self.vectorizer_ = self._make(resolved_analyzer or "word", {t: i for i, t in enumerate(vocabulary)})
            self.vectorizer_.idf_ = np.asarray(idf, dtype=np.float64)

    def _make(self, analyzer: str, vocabulary=None) -> TfidfVectorizer:
        p = self.params
        char = analyzer.startswith("char")
        return TfidfVectorizer(
            analyzer=analyzer, ngram_range=p["char_ngram_range"] if char else p["ngram_range"], min_df=p["min_df"],
            max_df=p["max_df"], max_features=p["max_features"], sublinear_tf=p["sublinear_tf"],
            lowercase=p["lowercase"], norm=p["norm"], token_pattern=p["token_pattern"], stop_words=p["stop_words"],
            vocabulary=vocabulary, dtype=np.float32,
        )

    def fit(self, texts: Sequence[str]) -> "TfidfFeaturizer":
        self._fit(texts, encode=False)
        return self

    def fit_encode(self, texts: Sequence[str]) -> sp.csr_matrix:
        """Fit on ``texts`` and return their encoding (one pass over the texts, not two)."""
        X = self._fit(texts, encode=True)
        assert X is not None
        return X

    def _fit(self, texts: Sequence[str], encode: bool) -> sp.csr_matrix | None:
        texts = [clip(t) for t in texts]
        analyzer = self.params["analyzer"]
        if analyzer == "auto":
            analyzer = "char" if cjk_ratio(texts) > 0.3 else "word"
        self.resolved_analyzer = analyzer
        self.vectorizer_ = self._make(analyzer)
        try:
            if encode:
                return self.vectorizer_.fit_transform(texts).tocsr()
            self.vectorizer_.fit(texts)
        except ValueError as exc:  # e.g. "empty vocabulary"
            raise ValueError(f"cannot fit TF-IDF on the training texts: {exc}") from None
        return None

    def encode(self, texts: Sequence[str]) -> sp.csr_matrix:
        if self.vectorizer_ is None:
            raise RuntimeError("TfidfFeaturizer is not fitted")
        return self.vectorizer_.transform([clip(t) for t in texts]).tocsr()

    def batch(self, encoded: sp.csr_matrix, rows: np.ndarray) -> dict[str, torch.Tensor]:
        sub = encoded[rows]
        return {"ids": torch.from_numpy(sub.indices.astype(np.int64)),
                "offsets": torch.from_numpy(sub.indptr[:-1].astype(np.int64)),
                "weights": torch.from_numpy(sub.data.astype(np.float32))}

    @property
    def input_size(self) -> int:
        return len(self.vectorizer_.vocabulary_)

    def to_dict(self) -> dict[str, Any]:
        vocab = sorted(self.vectorizer_.vocabulary_.items(), key=lambda kv: kv[1])
        return {"kind": self.kind, **self.params, "resolved_analyzer": self.resolved_analyzer,
                "vocabulary": [t for t, _ in vocab], "idf": self.vectorizer_.idf_.tolist()}


def _stable_hash(s: str) -> int:
    return zlib.crc32(s.encode("utf-8"))


class VocabFeaturizer(Featurizer):
    """Token ids (0 = padding, 1 = unknown), truncated to ``max_len`` tokens."""

    kind = "vocab"
    input_kind = "sequence"

    def __init__(self, max_len: int = 256, min_count: int = 2, max_size: int = 50_000, vocabulary: list[str] | None = None) -> None:
        self.max_len, self.min_count, self.max_size = int(max_len), int(min_count), int(max_size)
        self.vocabulary = vocabulary
        self.index_ = None if vocabulary is None else {t: i for i, t in enumerate(vocabulary)}

    def fit(self, texts: Sequence[str]) -> "VocabFeaturizer":
        counts = Counter(tok for t in texts for tok in tokenize(t))
        kept = [t for t, c in counts.most_common(self.max_size) if c >= self.min_count]
        self.vocabulary = ["<pad>", "<unk>"] + sorted(kept, key=lambda t: (-counts[t], t))
        self.index_ = {t: i for i, t in enumerate(self.vocabulary)}
        return self

    def ids(self, text: str) -> np.ndarray:
        toks = tokenize(text)[: self.max_len]
        return np.fromiter((self.index_.get(t, UNK) for t in toks), dtype=np.int64, count=len(toks))

    def encode(self, texts: Sequence[str]) -> list[np.ndarray]:
        if self.index_ is None:
            raise RuntimeError("VocabFeaturizer is not fitted")
        return [self.ids(t) for t in texts]

    def batch(self, encoded: list[np.ndarray], rows: np.ndarray) -> dict[str, torch.Tensor]:
        seqs = [encoded[i] for i in rows]
        width = max(1, max((len(s) for s in seqs), default=1))
        ids = np.zeros((len(seqs), width), dtype=np.int64)
        for i, s in enumerate(seqs):
            ids[i, : len(s)] = s
        t = torch.from_numpy(ids)
        return {"ids": t, "mask": t != PAD}

    @property
    def input_size(self) -> int:
        return len(self.vocabulary)

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
        toks = tokenize(text)[: self.max_len]
        ids = [self.index_.get(t, UNK) for t in toks]
        base = len(self.vocabulary)
        for n in range(2, self.word_ngrams + 1):
            ids.extend(base + _stable_hash(" ".join(toks[i:i + n])) % self.buckets for i in range(len(toks) - n + 1))
        if not ids:
            ids = [PAD]
        return np.asarray(ids, dtype=np.int64)

    def batch(self, encoded: list[np.ndarray], rows: np.ndarray) -> dict[str, torch.Tensor]:
        return bag_batch([encoded[i] for i in rows])

    @property
    def input_size(self) -> int:
        return len(self.vocabulary) + self.buckets

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "buckets": self.buckets, "word_ngrams": self.word_ngrams}


FEATURIZERS: dict[str, type[Featurizer]] = {
    "tfidf": TfidfFeaturizer, "vocab": VocabFeaturizer, "hashed-ngrams": HashedNgramFeaturizer,
}


TFIDF_KEYS = ("analyzer", "ngram_range", "char_ngram_range", "min_df", "max_df", "max_features", "sublinear_tf",
              "lowercase", "norm", "token_pattern", "stop_words", "vocabulary", "idf", "resolved_analyzer")


def _check_tfidf(d: dict[str, Any], path) -> None:
    only_keys(d, TFIDF_KEYS, path, "a TF-IDF featurizer")
    with blame(path, "unsafe TF-IDF option"):
        check_plain_tfidf_options(d.get("analyzer", "auto"), d.get("token_pattern", SAFE_TOKEN_PATTERNS[0]),
                                  d.get("stop_words"))
    for key in ("ngram_range", "char_ngram_range"):
        if key in d:
            ngram_range(d, key, path)
    for key in ("min_df", "max_df"):
        require_number(d, key, path, 0, None, optional=True)
    require_int(d, "max_features", path, 1, None, optional=True)
    for key in ("sublinear_tf", "lowercase"):
        require(d, key, path, bool, optional=True)
    if d.get("norm", "l2") not in ("l1", "l2", None):
        raise ModelFormatError(path, f"'norm' must be 'l1', 'l2' or null, found {d.get('norm')!r}")
    if d.get("resolved_analyzer") not in ("word", "char", "char_wb"):
        raise ModelFormatError(path, f"'resolved_analyzer' must be 'word', 'char' or 'char_wb', found {d.get('resolved_analyzer')!r}")
    vocab = string_list(d.get("vocabulary"), path, "vocabulary", nonempty=False)
    if not vocab:
        raise ModelFormatError(path, "the vocabulary is empty")
    number_list(d.get("idf"), path, "idf", len(vocab))


def _check_vocab(d: dict[str, Any], path, hashed: bool) -> None:
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


def _encoder_folder(d: dict[str, Any], folder, path, key: str) -> str:
    """The stored encoder/tokenizer sub-folder, resolved inside the model folder (never the ``encoder`` name)."""
    if folder is None:
        raise ModelFormatError(path, "a pretrained encoder or tokenizer loads only from its model folder")
    sub = inside(folder, d.get(key, "tokenizer" if key == "tokenizer_dir" else "encoder"), path, key)
    check_tree_inside(folder, sub, path, key)
    require(d, "encoder", path, str, optional=True)
    require_int(d, "max_len", path, 1, 10**6, optional=True)
    return str(sub)


def featurizer_from_dict(d: dict[str, Any], folder=None, path=None) -> Featurizer:
    """Rebuild a fitted featurizer from its (untrusted) dict.

    Parameters
    ----------
    d : dict
        What :meth:`Featurizer.to_dict` wrote.
    folder : path-like, optional
        The model folder; stored sub-folders (tokenizer, encoder) resolve inside it and
        nowhere else.
    path : path-like, optional
        The file ``d`` was read from (for messages).

    Raises
    ------
    ModelFormatError
        An unknown kind, a missing or ill-typed value, an unsafe option, a stored path
        leading outside the folder, or a machine setting such as ``cache_dir``.
    """
    path = path or (Path(folder) / "featurizer.json" if folder is not None else "featurizer.json")
    if not isinstance(d, dict):
        raise ModelFormatError(path, "the featurizer must be a JSON object")
    d = dict(d)
    kind = d.pop("kind", None)
    if not isinstance(kind, str):
        raise ModelFormatError(path, f"'kind' must name a featurizer kind, found {kind!r:.60}")
    for key in MACHINE_OPTIONS:
        if key in d:
            raise ModelFormatError(path, f"{key!r} is not allowed in a model file: caches are set by the user "
                                         f"(env MLTC_CACHE_DIR), never by the model")
    if kind == "transformer-tokenizer":
        from .transformer import TransformerTokenizer
        only_keys(d, ("encoder", "max_len", "tokenizer_dir"), path, "a transformer tokenizer")
        d["tokenizer_dir"] = _encoder_folder(d, folder, path, "tokenizer_dir")
        with blame(d["tokenizer_dir"], "cannot load the tokenizer"):
            return TransformerTokenizer(**d)
    if kind == "frozen-encoder":
        from .frozen import FrozenEncoderFeaturizer
        only_keys(d, ("encoder", "max_len", "batch_size", "encoder_dir", "tfidf_state"), path, "a frozen encoder")
        require_int(d, "batch_size", path, 1, 10**6, optional=True)
        d["encoder_dir"] = _encoder_folder(d, folder, path, "encoder_dir")
        state = d.get("tfidf_state")
        if state is not None:
            if not isinstance(state, dict) or state.get("kind") != "tfidf":
                raise ModelFormatError(path, "'tfidf_state' must be null or a TF-IDF featurizer")
            _check_tfidf({k: v for k, v in state.items() if k != "kind"}, path)
        with blame(d["encoder_dir"], "cannot load the encoder"):
            return FrozenEncoderFeaturizer(**d)
    if kind not in FEATURIZERS:
        raise ModelFormatError(path, f"unknown featurizer kind {kind!r}; known: {', '.join(FEATURIZERS)}")
    if kind == "tfidf":
        _check_tfidf(d, path)
    else:
        _check_vocab(d, path, hashed=kind == "hashed-ngrams")
    with blame(path, "cannot rebuild the featurizer"):
        return FEATURIZERS[kind](**d)
