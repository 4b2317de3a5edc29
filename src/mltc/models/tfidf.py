"""TF-IDF features: scikit-learn's ``TfidfVectorizer``, saved as JSON (never pickled).

Word 1-2 grams, or character n-grams for unsegmented text (Chinese, Japanese) chosen
automatically.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from ..modelcheck import (SAFE_ANALYZERS, SAFE_STOP_WORDS, SAFE_TOKEN_PATTERNS, ModelFormatError, blame, ngram_range,
                          number_list, only_keys, require, require_int, require_number, string_list)
from .featurizer_base import Featurizer, register_featurizer
from .text import clip, needs_char_ngrams

if TYPE_CHECKING:  # pragma: no cover
    import torch


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
    that are plain values. ``analyzer='auto'`` uses ``word`` with ``ngram_range`` unless the
    training texts do not separate words by spaces (more than 30% CJK characters, or Thai-like
    runs of over 15 characters between spaces on average: :func:`~mltc.models.text.needs_char_ngrams`),
    then ``char`` with ``char_ngram_range``.
    """

    kind = "tfidf"
    input_kind = "bag"

    def __init__(self, analyzer: str = "auto", ngram_range=(1, 2), char_ngram_range=(1, 3), min_df: int | float = 1,
                 max_df: float = 1.0, max_features: int | None = 200_000, sublinear_tf: bool = True,
                 lowercase: bool = True, norm: str = "l2", token_pattern: str = r"(?u)\b\w\w+\b",
                 stop_words: str | None = None, vocabulary: list[str] | None = None, idf: list[float] | None = None,
                 resolved_analyzer: str | None = None) -> None:
        check_plain_tfidf_options(analyzer, token_pattern, stop_words)
        self.params: dict[str, Any] = dict(
            analyzer=analyzer, ngram_range=tuple(ngram_range), char_ngram_range=tuple(char_ngram_range), min_df=min_df,
            max_df=max_df, max_features=max_features, sublinear_tf=sublinear_tf, lowercase=lowercase, norm=norm,
            token_pattern=token_pattern, stop_words=stop_words)
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

    def _fitted(self) -> TfidfVectorizer:
        if self.vectorizer_ is None:
            raise RuntimeError("TfidfFeaturizer is not fitted")
        return self.vectorizer_

    def fit(self, texts: Sequence[str]) -> TfidfFeaturizer:
        self._fit(texts, encode=False)
        return self

    def fit_encode(self, texts: Sequence[str]) -> sp.csr_matrix:
        """Fit on ``texts`` and return their encoding (one pass over the texts, not two)."""
        X = self._fit(texts, encode=True)
        assert X is not None
        return X

    def _fit(self, texts: Sequence[str], encode: bool) -> sp.csr_matrix | None:
        texts = [clip(t) for t in texts]
        analyzer: str = self.params["analyzer"]
        if analyzer == "auto":
            analyzer = "char" if needs_char_ngrams(texts) else "word"
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
        return self._fitted().transform([clip(t) for t in texts]).tocsr()

    def batch(self, encoded: sp.csr_matrix, rows: np.ndarray) -> dict[str, torch.Tensor]:
        import torch
        sub = encoded[rows]
        return {"ids": torch.from_numpy(sub.indices.astype(np.int64)),
                "offsets": torch.from_numpy(sub.indptr[:-1].astype(np.int64)),
                "weights": torch.from_numpy(sub.data.astype(np.float32))}

    @property
    def input_size(self) -> int:
        return len(self._fitted().vocabulary_)

    def to_dict(self) -> dict[str, Any]:
        vectorizer = self._fitted()
        vocab = sorted(vectorizer.vocabulary_.items(), key=lambda kv: kv[1])
        return {"kind": self.kind, **self.params, "resolved_analyzer": self.resolved_analyzer,
                "vocabulary": [t for t, _ in vocab], "idf": vectorizer.idf_.tolist()}


#: the largest idf value a saved TF-IDF featurizer may hold
MAX_IDF = 1e4

TFIDF_KEYS = ("analyzer", "ngram_range", "char_ngram_range", "min_df", "max_df", "max_features", "sublinear_tf",
              "lowercase", "norm", "token_pattern", "stop_words", "vocabulary", "idf", "resolved_analyzer")


def check_tfidf_dict(d: dict[str, Any], path) -> None:
    """A stored TF-IDF featurizer (``kind`` removed): known keys, safe options, a vocabulary with its idf."""
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
        raise ModelFormatError(path, "'resolved_analyzer' must be 'word', 'char' or 'char_wb', "
                                     f"found {d.get('resolved_analyzer')!r}")
    vocab = string_list(d.get("vocabulary"), path, "vocabulary", nonempty=False)
    if not vocab:
        raise ModelFormatError(path, "the vocabulary is empty")
    idf = number_list(d.get("idf"), path, "idf", len(vocab))
    # scikit-learn's idf is 1 + ln((1 + n) / (1 + df)) >= 1: below 60 for any corpus that fits on a disk;
    # a value beyond float32's range would overflow the float32 features
    bad = next((i for i, v in enumerate(idf) if not 0.0 < v <= MAX_IDF), None)
    if bad is not None:
        raise ModelFormatError(path, f"idf/{bad} must lie in (0, {MAX_IDF:g}], found {idf[bad]!r}")


def load_tfidf(d: dict[str, Any], folder=None, path="featurizer.json") -> TfidfFeaturizer:
    """A fitted :class:`TfidfFeaturizer` from its checked stored dict (``kind`` removed)."""
    check_tfidf_dict(d, path)
    with blame(path, "cannot rebuild the featurizer"):
        return TfidfFeaturizer(**d)


register_featurizer("tfidf", load_tfidf)
