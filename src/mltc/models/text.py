"""Text normalisation and tokenisation shared by the featurizers.

One regex tokenizer serves English and Chinese alike: every CJK character is a token of
its own (Chinese is not segmented), runs of other letters form words, digits form
numbers. Texts longer than ``MAX_CHARS`` are cut before featurizing (documented limit).
"""
from __future__ import annotations

import re
from typing import Iterator

MAX_CHARS = 100_000
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af"
_TOKEN = re.compile(rf"[{_CJK}]|[^\W\d_{_CJK}]+|\d+", re.UNICODE)
_CJK_CHAR = re.compile(rf"[{_CJK}]")
_SPACE = re.compile(r"\s")


def clip(text: str, max_chars: int = MAX_CHARS) -> str:
    if not isinstance(text, str):
        raise TypeError(f"texts must be str, got {type(text).__name__}")
    return text[:max_chars]


def tokenize(text: str) -> list[str]:
    """Lower-cased tokens; each CJK character is one token."""
    return _TOKEN.findall(clip(text).lower())


#: mean characters per whitespace-separated token above which a text is taken as written without spaces
#: between words (Thai, Lao, Khmer, Burmese, ...): words of spaced languages average 4-9 characters
UNSPACED_TOKEN_LENGTH = 15.0


def _sampled(texts: list[str], sample: int) -> Iterator[str]:
    """The first ``sample`` texts, each cut to 5,000 characters: enough to tell how a corpus is written."""
    return (clip(t, 5000) for t in texts[:sample])


def mean_token_length(texts: list[str], sample: int = 2000) -> float:
    """Non-space characters per whitespace-separated token in (a sample of) texts (0 for no text)."""
    chars = tokens = 0
    for t in _sampled(texts, sample):
        parts = t.split()
        tokens += len(parts)
        chars += sum(len(p) for p in parts)
    return chars / tokens if tokens else 0.0


def needs_char_ngrams(texts: list[str]) -> bool:
    """Whether words cannot be told apart by spaces: mostly CJK characters (more than 30%), or tokens
    between spaces longer than :data:`UNSPACED_TOKEN_LENGTH` characters on average."""
    return cjk_ratio(texts) > 0.3 or mean_token_length(texts) > UNSPACED_TOKEN_LENGTH


def cjk_ratio(texts: list[str], sample: int = 2000) -> float:
    """Share of CJK characters among non-space characters in (a sample of) texts."""
    chars = cjk = 0
    for t in _sampled(texts, sample):
        chars += len(t) - len(_SPACE.findall(t))
        cjk += len(_CJK_CHAR.findall(t))
    return cjk / chars if chars else 0.0
