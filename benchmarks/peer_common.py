"""Shared pieces of the peer contenders (``peer_svm.py``, ``peer_libmultilabel.py``).

Reading the JSON Lines splits the harness writes, the one TF-IDF every peer uses
(word TF-IDF with scikit-learn defaults; character 1-3-grams for Chinese text), the
global decision-value shift tuned on validation micro-F1, and the prediction file
format the harness scores (one JSON object per test text, in file order)::

    {"labels": [predicted labels], "top": [[label, score], ...]}   # best scores first
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

CHUNK_ROWS = 2000  # rows of dense decision values held at once


def read_jsonl(path: str | Path) -> tuple[list[str], list[list[str]]]:
    """Texts and label lists of a ``{"text": ..., "labels": [...]}`` JSON Lines file."""
    texts, labels = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                obj = json.loads(line)
                texts.append(obj["text"])
                labels.append(list(obj.get("labels") or []))
    return texts, labels


def cjk_ratio(texts: Sequence[str], max_chars: int = 200_000) -> float:
    """Share of CJK unified ideographs among the non-space characters of (a prefix of) the texts."""
    seen = cjk = 0
    for t in texts:
        for ch in t:
            if ch.isspace():
                continue
            seen += 1
            cjk += "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf"
        if seen >= max_chars:
            break
    return cjk / seen if seen else 0.0


def make_tfidf(train_texts: Sequence[str], cjk_threshold: float = 0.3) -> tuple[TfidfVectorizer, dict]:
    """The peers' TF-IDF: scikit-learn defaults, or character 1-3-grams when the text is mostly CJK."""
    ratio = cjk_ratio(train_texts)
    if ratio >= cjk_threshold:
        vec, kind = TfidfVectorizer(analyzer="char", ngram_range=(1, 3)), "char 1-3-gram"
    else:
        vec, kind = TfidfVectorizer(), "word (scikit-learn defaults)"
    return vec, {"tfidf": kind, "cjk_ratio": round(ratio, 3)}


def label_matrix(label_lists: Sequence[Sequence[str]], labels: Sequence[str]) -> sp.csr_matrix:
    """Sparse int32 0/1 matrix (texts x labels); labels outside ``labels`` are dropped."""
    index = {l: j for j, l in enumerate(labels)}
    rows, cols = [], []
    for i, ls in enumerate(label_lists):
        for l in set(ls):
            if l in index:
                rows.append(i)
                cols.append(index[l])
    data = np.ones(len(rows), dtype=np.int32)
    return sp.csr_matrix((data, (rows, cols)), shape=(len(label_lists), len(labels)), dtype=np.int32)


def iter_chunks(n: int, size: int = CHUNK_ROWS) -> Iterator[slice]:
    for start in range(0, n, size):
        yield slice(start, min(n, start + size))


def shift_grid(low: float = -1.0, high: float = 1.0, step: float = 0.1) -> np.ndarray:
    return np.round(np.arange(low, high + step / 2, step), 10)


def tune_global_shift(decision_fn, X_val, Y_val: sp.csr_matrix, grid: np.ndarray) -> tuple[float, dict]:
    """The shift ``s`` maximising validation micro-F1 of ``decision + s > 0``.

    ``decision_fn(X_rows)`` returns dense decision values; rows are scored in chunks so
    that texts x labels never sits in memory at once. Ties go to the shift nearest 0.
    """
    tp = np.zeros(len(grid))
    npred = np.zeros(len(grid))
    ngold = Y_val.sum()
    for rows in iter_chunks(X_val.shape[0]):
        D = decision_fn(X_val[rows])
        G = Y_val[rows].toarray().astype(bool)
        for k, s in enumerate(grid):
            P = D + s > 0
            tp[k] += np.count_nonzero(P & G)
            npred[k] += np.count_nonzero(P)
    f1 = np.where(npred + ngold > 0, 2 * tp / np.maximum(npred + ngold, 1), 0.0)
    best = max(range(len(grid)), key=lambda k: (round(f1[k], 12), -abs(grid[k])))
    return float(grid[best]), {"validation_micro_f1_by_shift": {f"{s:+.1f}": round(100 * f, 3) for s, f in zip(grid, f1)}}


def write_predictions(path: str | Path, decision_fn, X, labels: Sequence[str], shift: float | np.ndarray = 0.0,
                      top: int = 20) -> None:
    """Predicted labels (``decision + shift > 0``) and the ``top`` best shifted decision values per text."""
    names = np.asarray(labels, dtype=object)
    top = min(top, len(labels))
    with open(path, "w", encoding="utf-8") as f:
        for rows in iter_chunks(X.shape[0]):
            D = np.asarray(decision_fn(X[rows]), dtype=np.float64) + shift
            if top < D.shape[1]:
                best = np.argpartition(-D, top - 1, axis=1)[:, :top]
            else:
                best = np.tile(np.arange(D.shape[1]), (D.shape[0], 1))
            for i in range(D.shape[0]):
                idx = best[i][np.argsort(-D[i, best[i]], kind="stable")]
                pos = np.flatnonzero(D[i] > 0)
                pos = pos[np.argsort(-D[i, pos], kind="stable")]
                f.write(json.dumps({"labels": names[pos].tolist(),
                                    "top": [[names[j], round(float(D[i, j]), 6)] for j in idx]},
                                   ensure_ascii=False) + "\n")


def data_arguments(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--train", required=True, help="Training JSON Lines file.")
    p.add_argument("--validation", required=True, help="Validation JSON Lines file.")
    p.add_argument("--test", required=True, help="Test JSON Lines file (labels are not read).")
    p.add_argument("--out", required=True, help="Predictions (JSON Lines) for the test texts.")
    p.add_argument("--info", help="Also write a JSON file of what was fitted (shift, TF-IDF kind, sizes).")
    p.add_argument("--top", type=int, default=20, help="Decision values kept per text (for P@k).")
    return p


def write_info(path: str | None, info: dict) -> None:
    if path:
        Path(path).write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
