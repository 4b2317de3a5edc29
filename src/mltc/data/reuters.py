"""Reuters-21578 "ApteMod" 90-category subset, read from the original SGML files.

The protocol of Huang et al. (2021), REFERENCE.md section 3: ModApte split
(``LEWISSPLIT`` TRAIN/TEST with ``TOPICS="YES"``), keep the TOPICS categories with at least
one training and one test text (90), drop texts with none of them (7,770 / 3,019), text =
title + body (a BRIEF text has a title only; an UNPROC text has neither, so the whole TEXT
content is used), SGML entities unescaped. Validation = 1,000 training texts drawn exactly as
the paper's code draws them, ``sklearn.model_selection.train_test_split(train, random_state=123,
test_size=1000)`` over the training texts in NEWID order; the remaining 6,770 define the
training statistics (every one of the 90 labels occurs in them; groups 30 head / 29 medium /
31 tail).

``load_reuters_all`` is a harder, longer-tailed variant on the same ModApte documents: the
labels are every category of all five fields (TOPICS, PLACES, PEOPLE, ORGS, EXCHANGES) that
occurs in the ModApte training texts, prefixed with the field (``places:usa``): 368 labels.
"""
from __future__ import annotations

import html
import re
from pathlib import Path

from .examples import DatasetSplits, Example
from .readers import DataFormatError

_DOC = re.compile(r"<REUTERS\b([^>]*)>(.*?)</REUTERS>", re.S)
_ATTR = re.compile(r'(\w+)="([^"]*)"')
_TOPICS = re.compile(r"<TOPICS>(.*?)</TOPICS>", re.S)
FIELDS = ("TOPICS", "PLACES", "PEOPLE", "ORGS", "EXCHANGES")
_FIELD = {f: re.compile(rf"<{f}>(.*?)</{f}>", re.S) for f in FIELDS}
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
        cats = {}
        for f, rx in _FIELD.items():
            fm = rx.search(body)
            cats[f.lower()] = [_clean(t) for t in _D.findall(fm.group(1))] if fm else []
        topics = cats["topics"]
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
                     "topics_attr": attrs.get("TOPICS"), "topics": topics, "categories": cats, "text": text})
    return docs


def _read_docs(data_dir: str | Path) -> tuple[list[dict], int]:
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
    docs.sort(key=lambda d: int(d["newid"] or 0))  # NEWID order, as the paper's split assumes
    return docs, len(files)


def paper_validation_split(full_train: list[Example], validation_size: int, seed: int) -> tuple[list[Example], list[Example]]:
    """The paper's draw: ``train_test_split(full_train, random_state=seed, test_size=validation_size)``."""
    from sklearn.model_selection import train_test_split
    if validation_size >= len(full_train):
        raise ValueError(f"validation_size {validation_size} leaves no training text")
    tr, va = train_test_split(full_train, random_state=seed, test_size=validation_size)
    return list(tr), list(va)


def _splits(name: str, docs: list[dict], labels_of, keep: list[str], validation_size: int, seed: int,
            info: dict) -> DatasetSplits:
    keep_set = set(keep)

    def examples(ds: list[dict]) -> list[Example]:
        out = []
        for d in ds:
            labels = tuple(t for t in dict.fromkeys(labels_of(d)) if t in keep_set)
            if labels:
                out.append(Example(d["text"], labels, d["newid"]))
        return out

    train = [d for d in docs if d["split"] == "TRAIN" and d["topics_attr"] == "YES"]
    test = [d for d in docs if d["split"] == "TEST" and d["topics_attr"] == "YES"]
    full_train, test_ex = examples(train), examples(test)
    tr, va = paper_validation_split(full_train, validation_size, seed)
    info = {**info, "train_full": len(full_train), "validation_seed": seed,
            "validation_draw": "sklearn train_test_split over training texts in NEWID order"}
    return DatasetSplits(name, tr, va, test_ex, labels=keep, info=info)


def load_reuters(data_dir: str | Path, validation_size: int = VALIDATION_SIZE, seed: int = VALIDATION_SEED) -> DatasetSplits:
    """Load ApteMod-90 from ``data_dir/reuters21578/*.sgm`` (or ``data_dir`` itself)."""
    docs, n_files = _read_docs(data_dir)
    train = [d for d in docs if d["split"] == "TRAIN" and d["topics_attr"] == "YES"]
    test = [d for d in docs if d["split"] == "TEST" and d["topics_attr"] == "YES"]
    keep = sorted({t for d in train for t in d["topics"]} & {t for d in test for t in d["topics"]})
    info = {"protocol": "ApteMod-90 (ModApte, categories with >=1 train and >=1 test text)", "files": n_files}
    return _splits("reuters21578", docs, lambda d: d["topics"], keep, validation_size, seed, info)


def load_reuters_all(data_dir: str | Path, validation_size: int = VALIDATION_SIZE,
                     seed: int = VALIDATION_SEED) -> DatasetSplits:
    """ModApte documents labelled with all five category fields (368 labels, long-tailed)."""
    docs, n_files = _read_docs(data_dir)

    def labels_of(d: dict) -> list[str]:
        return [f"{f}:{c}" for f, cs in d["categories"].items() for c in cs]

    train = [d for d in docs if d["split"] == "TRAIN" and d["topics_attr"] == "YES"]
    keep = sorted({lab for d in train for lab in labels_of(d)})
    info = {"protocol": "ModApte documents, all TOPICS/PLACES/PEOPLE/ORGS/EXCHANGES categories seen in training",
            "files": n_files}
    return _splits("reuters21578-all", docs, labels_of, keep, validation_size, seed, info)
