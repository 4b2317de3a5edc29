"""CAIL2019 legal element recognition (Chinese, sentence level), domains divorce/labor/loan.

Each line of ``data_small_selected.json`` is one court document: a JSON array of
``{"labels": [...], "sentence": "..."}``. There is no official split: documents are
shuffled with a seed and cut into train/validation/test so that no document straddles two
splits. ``tags.txt`` declares the 20 labels, so a label absent from training gets
frequency 0.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .examples import DatasetSplits, Example
from .readers import DataFormatError, decoded_lines, json_lines

DOMAINS = ("divorce", "labor", "loan")


def read_cail_documents(path: Path) -> list[list[Example]]:
    docs = []
    for lineno, sentences in json_lines(decoded_lines(path), path):
        if not isinstance(sentences, list):
            raise DataFormatError(path, lineno, "each line must be a JSON array of sentence objects")
        doc = []
        for k, s in enumerate(sentences):
            if not isinstance(s, dict) or not isinstance(s.get("sentence"), str) or not isinstance(s.get("labels", []), list):
                raise DataFormatError(path, lineno, f"sentence {k}: expected {{'sentence': str, 'labels': [str]}}")
            doc.append(Example(s["sentence"], tuple(dict.fromkeys(s.get("labels", []))), f"{lineno}-{k}"))
        docs.append(doc)
    return docs


def load_cail(data_dir: str | Path, domain: str, seed: int = 42, fractions: tuple[float, float] = (0.8, 0.1)) -> DatasetSplits:
    if domain not in DOMAINS:
        raise ValueError(f"unknown CAIL2019 domain {domain!r}; choose one of {', '.join(DOMAINS)}")
    root = Path(data_dir)
    if (root / "cail2019_elements").is_dir():
        root = root / "cail2019_elements"
    folder = root / domain
    docs = read_cail_documents(folder / "data_small_selected.json")
    tags = [t.strip() for t in (folder / "tags.txt").read_text(encoding="utf-8").splitlines() if t.strip()]
    order = np.random.default_rng(seed).permutation(len(docs))
    n_train = int(round(fractions[0] * len(docs)))
    n_val = int(round(fractions[1] * len(docs)))
    parts = np.split(order, [n_train, n_train + n_val])
    train, val, test = ([e for i in idx for e in docs[i]] for idx in parts)
    names = {}
    sel = folder / "selectedtags.txt"
    if sel.exists():
        names = dict(zip(tags, [l.strip() for l in sel.read_text(encoding="utf-8").splitlines()]))
    info = {"domain": domain, "split": f"by document, seed {seed}, fractions {fractions}",
            "documents": {"train": len(parts[0]), "validation": len(parts[1]), "test": len(parts[2])},
            "label_names": names}
    return DatasetSplits(f"cail2019-{domain}", train, val, test, labels=tags, info=info)
