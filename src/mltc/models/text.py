"""Text normalisation and tokenisation shared by the featurizers.

One regex tokenizer serves English and Chinese alike: every CJK character is a token of
its own (Chinese is not segmented), runs of other letters form words, digits form
numbers. Texts longer than ``MAX_CHARS`` are cut before featurizing (documented limit).
"""
from __future__ import annotations

import re

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


def cjk_ratio(texts: list[str], sample: int = 2000) -> float:
    """Share of CJK characters among non-space characters in (a sample of) texts."""
    chars = cjk = 0
    for t in texts[:sample]:
        t = clip(t, 5000)
        chars += len(t) - len(_SPACE.findall(t))
        cjk += len(_CJK_CHAR.findall(t))
    return cjk / chars if chars else 0.0
