"""Label statistics of a data set: cardinality, density, groups, co-occurrence."""
from __future__ import annotations

from collections import Counter
from typing import Sequence

import numpy as np

from .examples import DatasetSplits
from .labels import LabelSpace, label_groups


def cooccurrence(Y: np.ndarray) -> np.ndarray:
    """Conditional co-occurrence ``P[i, j] = p(label i | label j)`` = ``|i and j| / |j|``.

    Columns of labels that never occur are 0.
    """
    Yf = np.asarray(Y, dtype=np.float64)
    joint = Yf.T @ Yf
    count = np.diag(joint).copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        P = np.where(count[None, :] > 0, joint / count[None, :], 0.0)
    return P


def split_statistics(Y: np.ndarray, n_empty_texts: int = 0) -> dict:
    n = Y.shape[0]
    per_text = Y.sum(1) if n else np.zeros(0)
    return {
        "texts": int(n),
        "empty_texts": int(n_empty_texts),
        "texts_without_labels": int((per_text == 0).sum()),
        "cardinality": float(per_text.mean()) if n else 0.0,
        "density": float(per_text.mean() / Y.shape[1]) if n and Y.shape[1] else 0.0,
        "max_labels_per_text": int(per_text.max()) if n else 0,
        "texts_per_label_count": {int(k): int(v) for k, v in sorted(Counter(per_text.tolist()).items())},
        "label_counts": Y.sum(0).astype(int).tolist(),
    }


def dataset_statistics(
    data: DatasetSplits, head: int = 35, tail: int = 8, top_cooccurrence: int = 10
) -> dict:
    """Everything ``mltc stats`` prints, as one JSON-ready dict."""
    space = LabelSpace(data.labels).fit(e.labels for e in data.train)
    out: dict = {
        "dataset": data.name,
        "num_labels": space.num_labels,
        "labels": space.labels,
        "train_frequency": dict(zip(space.labels, space.class_freq_.tolist())),
        "zero_frequency_labels": space.zero_frequency_labels,
        "group_cutoffs": {"head": f"n >= {head}", "medium": f"{tail} < n < {head}", "tail": f"n <= {tail}"},
        "splits": {},
        "info": data.info,
    }
    groups = label_groups(space.class_freq_, head, tail)
    out["groups"] = {g: {"num_labels": int(len(idx)), "labels": [space.labels[i] for i in idx]} for g, idx in groups.items()}
    for split in ("train", "validation", "test"):
        ex = data.split(split)
        if not ex:
            continue
        enc = space.encode(e.labels for e in ex)
        st = split_statistics(enc.Y, sum(1 for e in ex if not e.text.strip()))
        st["label_counts"] = dict(zip(space.labels, st["label_counts"]))
        st["unseen_labels"] = dict(enc.unseen)
        st["texts_with_unseen_labels"] = enc.texts_with_unseen
        out["splits"][split] = st
    Ytr = space.encode(e.labels for e in data.train).Y
    order = np.argsort(-space.class_freq_, kind="stable")[:top_cooccurrence]
    P = cooccurrence(Ytr)[np.ix_(order, order)]
    out["cooccurrence_top"] = {"labels": [space.labels[i] for i in order], "p_i_given_j": np.round(P, 4).tolist()}
    return out


def format_statistics(st: dict) -> str:
    """Human-readable rendering of :func:`dataset_statistics`."""
    lines = [f"data set: {st['dataset']}    labels: {st['num_labels']}"]
    lines.append(f"{'split':<11}{'texts':>8}{'no label':>10}{'empty':>7}{'card.':>8}{'density':>9}{'max':>5}  unseen labels")
    for name, s in st["splits"].items():
        unseen = sum(s["unseen_labels"].values())
        lines.append(
            f"{name:<11}{s['texts']:>8,}{s['texts_without_labels']:>10,}{s['empty_texts']:>7,}"
            f"{s['cardinality']:>8.3f}{s['density']:>9.4f}{s['max_labels_per_text']:>5}  "
            f"{len(s['unseen_labels'])} ({unseen} occurrences)"
        )
    cuts = st["group_cutoffs"]
    lines.append("label groups by training frequency:")
    for g, v in st["groups"].items():
        lines.append(f"  {g:<7} ({cuts[g]}): {v['num_labels']} labels")
    if st["zero_frequency_labels"]:
        lines.append(f"labels with zero training frequency: {', '.join(st['zero_frequency_labels'])}")
    freq = sorted(st["train_frequency"].items(), key=lambda kv: -kv[1])
    lines.append("most frequent: " + ", ".join(f"{l} {n}" for l, n in freq[:8]))
    lines.append("rarest: " + ", ".join(f"{l} {n}" for l, n in freq[-8:]))
    tr = st["splits"].get("train")
    if tr:
        per_count = ", ".join(f"{k}: {v}" for k, v in tr["texts_per_label_count"].items())
        lines.append("train texts per number of labels: " + per_count)
    co = st["cooccurrence_top"]
    if co["labels"]:
        w = max(len(l) for l in co["labels"]) + 1
        lines.append("co-occurrence p(row | column) of the most frequent labels:")
        lines.append(" " * w + "".join(f"{l[:6]:>7}" for l in co["labels"]))
        for l, row in zip(co["labels"], co["p_i_given_j"]):
            lines.append(f"{l:<{w}}" + "".join(f"{v:>7.2f}" for v in row))
    return "\n".join(lines)


def label_count_groups(Y: np.ndarray, bounds: Sequence[int] = (1,)) -> dict[str, np.ndarray]:
    """Row indices grouped by number of gold labels.

    ``bounds`` are the upper edges of the groups: ``(1,)`` gives ``'1'`` and ``'>1'``
    (Reuters in the paper), ``(9, 14)`` gives ``'1-9'``, ``'10-14'``, ``'>14'`` (PubMed).
    Texts with no gold label form a group ``'0'`` when there are any.
    """
    per_text = np.asarray(Y).sum(1)
    out: dict[str, np.ndarray] = {}
    if (per_text == 0).any():
        out["0"] = np.flatnonzero(per_text == 0)
    lo = 1
    for b in bounds:
        out[str(b) if lo == b else f"{lo}-{b}"] = np.flatnonzero((per_text >= lo) & (per_text <= b))
        lo = b + 1
    out[f">{bounds[-1]}"] = np.flatnonzero(per_text > bounds[-1])
    return out
