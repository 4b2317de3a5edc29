"""Plain data containers: one labelled text, and the splits of a data set."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence


@dataclass(frozen=True)
class Example:
    """One text with its (possibly empty) list of label names."""

    text: str
    labels: tuple[str, ...] = ()
    id: str | None = None


@dataclass
class DatasetSplits:
    """A data set's splits (``train``, ``validation``, ``test``) and its declared labels.

    ``labels`` lists every label the data set declares, in a stable order, including labels
    that may have no training example (they get training frequency 0).
    """

    name: str
    train: list[Example]
    validation: list[Example] = field(default_factory=list)
    test: list[Example] = field(default_factory=list)
    labels: list[str] | None = None
    info: dict = field(default_factory=dict)

    def split(self, name: str) -> list[Example]:
        key = {"val": "validation", "dev": "validation", "valid": "validation"}.get(name, name)
        if key not in ("train", "validation", "test"):
            raise ValueError(f"unknown split {name!r}; choose train, validation or test")
        return getattr(self, key)


def texts_of(examples: Iterable[Example]) -> list[str]:
    return [e.text for e in examples]


def labels_of(examples: Iterable[Example]) -> list[tuple[str, ...]]:
    return [e.labels for e in examples]


def make_examples(texts: Sequence[str], labels: Sequence[Sequence[str]] | None = None) -> list[Example]:
    if labels is None:
        return [Example(t) for t in texts]
    if len(texts) != len(labels):
        raise ValueError(f"{len(texts)} texts but {len(labels)} label lists")
    return [Example(t, tuple(l)) for t, l in zip(texts, labels)]
