"""Reuters-21578 "ApteMod" 90-category subset, read from the original SGML files.

The protocol of Huang et al. (2021), REFERENCE.md section 3: ModApte split
(``LEWISSPLIT`` TRAIN/TEST with ``TOPICS="YES"``), keep the TOPICS categories with at least
one training and one test text (90), drop texts with none of them (7,770 / 3,019), text =
title + body (a BRIEF text has a title only; an UNPROC text has neither, so the whole TEXT
content is used), SGML entities unescaped. Validation = 1,000 training texts drawn with
``numpy.random.default_rng(123)``; the remaining 6,770 define the training statistics.
"""
from __future__ import annotations

import html
import re
from pathlib import Path

import numpy as np

from .examples import DatasetSplits, Example
from .readers import DataFormatError

_DOC = re.compile(r"<REUTERS\b([^>]*)>(.*?)</REUTERS>", re.S)
_ATTR = re.compile(r'(\w+)="([^"]*)"')
_TOPICS = re.compile(r"<TOPICS>(.*?)</TOPICS>", re.S)
_D = re.compile(r"<D>(.*?)</D>", re.S)
_TEXT = re.compile(r"<TEXT\b[^>]*>(.*?)</TEXT>", re.S)
_TITLE = re.compile(r"<TITLE>(.*?)</TITLE>", re.S)
_BODY = re.compile(r"<BODY>(.*?)</BODY>", re.S)
_TAG = re.compile(r"<[^>]+>")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

VALIDATION_SIZE = 1000
VALIDATION_SEED = 123


def _clean(fragment: str) -> str:
    return _CONTROL.sub("", html.unescape(fragment)).strip()


def parse_sgml_file(path: Path) -> list[dict]:
    """All ``<REUTERS>`` documents of one file as dicts (attributes, topics, text)."""
    raw = path.read_bytes().decode("latin-1")
    docs = []
    for m in _DOC.finditer(raw):
        attrs = dict(_ATTR.findall(m.group(1)))
        body = m.group(2)
        topics_m = _TOPICS.search(body)
        topics = [_clean(t) for t in _D.findall(topics_m.group(1))] if topics_m else []
        text_m = _TEXT.search(body)
        if text_m is None:
            line = raw.count("\n", 0, m.start()) + 1
            raise DataFormatError(path, line, f"document NEWID={attrs.get('NEWID')} has no <TEXT> element")
        inner = text_m.group(1)
        title = _TITLE.search(inner)
        main = _BODY.search(inner)
        parts = [_clean(x.group(1)) for x in (title, main) if x is not None]
        text = "\n".join(p for p in parts if p) if parts else _clean(_TAG.sub(" ", inner))
        docs.append({"newid": attrs.get("NEWID"), "split": attrs.get("LEWISSPLIT"),
                     "topics_attr": attrs.get("TOPICS"), "topics": topics, "text": text})
    return docs


def load_reuters(data_dir: str | Path, validation_size: int = VALIDATION_SIZE, seed: int = VALIDATION_SEED) -> DatasetSplits:
    """Load ApteMod-90 from ``data_dir/reuters21578/*.sgm`` (or ``data_dir`` itself)."""
    root = Path(data_dir)
    if (root / "reuters21578").is_dir():
        root = root / "reuters21578"
    files = sorted(root.glob("reut2-*.sgm"))
    if not files:
        raise FileNotFoundError(
            f"no reut2-*.sgm files under {root}; run `mltc datasets download reuters21578` "
            "or point --data-dir / MLTC_DATA_DIR at a folder holding reuters21578/"
        )
    docs = [d for f in files for d in parse_sgml_file(f)]
    train = [d for d in docs if d["split"] == "TRAIN" and d["topics_attr"] == "YES"]
    test = [d for d in docs if d["split"] == "TEST" and d["topics_attr"] == "YES"]
    in_train = {t for d in train for t in d["topics"]}
    in_test = {t for d in test for t in d["topics"]}
    keep = sorted(in_train & in_test)

    def examples(ds: list[dict]) -> list[Example]:
        out = []
        for d in ds:
            labels = tuple(t for t in dict.fromkeys(d["topics"]) if t in keep)
            if labels:
                out.append(Example(d["text"], labels, d["newid"]))
        return out

    full_train, test_ex = examples(train), examples(test)
    if validation_size >= len(full_train):
        raise ValueError(f"validation_size {validation_size} leaves no training text")
    rng = np.random.default_rng(seed)
    val_idx = set(rng.choice(len(full_train), size=validation_size, replace=False).tolist())
    tr = [e for i, e in enumerate(full_train) if i not in val_idx]
    va = [e for i, e in enumerate(full_train) if i in val_idx]
    info = {"protocol": "ApteMod-90 (ModApte, categories with >=1 train and >=1 test text)",
            "train_full": len(full_train), "validation_seed": seed, "files": len(files)}
    return DatasetSplits("reuters21578", tr, va, test_ex, labels=keep, info=info)
