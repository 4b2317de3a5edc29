"""Featurizers: fitted on training texts, saved as JSON (never pickled).

Each featurizer has ``fit(texts)``, ``encode(texts)`` (the whole list, to a compact
representation) and ``batch(encoded, rows)`` (a dict of tensors a model's ``forward``
accepts), plus ``to_dict()``; :func:`featurizer_from_dict` rebuilds any of them.

- :class:`TfidfFeaturizer` (:mod:`.tfidf`): scikit-learn's ``TfidfVectorizer``; word 1-2
  grams, or character n-grams for unsegmented text (Chinese, Japanese) chosen automatically.
- :class:`HashedNgramFeaturizer` (:mod:`.vocab`): fastText-style word ids plus hashed word
  bigrams (Joulin et al., "Bag of Tricks for Efficient Text Classification", EACL 2017).
- :class:`VocabFeaturizer` (:mod:`.vocab`): token ids padded to a maximum length, for
  TextCNN / BiLSTM.
- :class:`TransformerTokenizer` (:mod:`.transformer`) and :class:`FrozenEncoderFeaturizer`
  (:mod:`.frozen`): pretrained Hugging Face tokenizers and encoders.

The base class lives in :mod:`.featurizer_base`; each featurizer module registers a loader
for its kinds there, and this module imports them all so every kind can be rebuilt — the two
pretrained ones (which import torch) on first use only.
"""
from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..modelcheck import MACHINE_OPTIONS, ModelFormatError
from .featurizer_base import FEATURIZER_LOADERS, PAD, UNK, Featurizer, bag_batch, register_featurizer
from .tfidf import TFIDF_KEYS, TfidfFeaturizer, check_plain_tfidf_options
from .vocab import HashedNgramFeaturizer, VocabFeaturizer

if TYPE_CHECKING:  # pragma: no cover
    from .frozen import FrozenEncoderFeaturizer
    from .transformer import TransformerTokenizer

#: the featurizers that import torch (and transformers): class name and kind -> their module
_PRETRAINED = {"FrozenEncoderFeaturizer": ".frozen", "TransformerTokenizer": ".transformer"}
_PRETRAINED_KINDS = {"frozen-encoder": ".frozen", "transformer-tokenizer": ".transformer"}

__all__ = [
    "FEATURIZER_LOADERS", "PAD", "TFIDF_KEYS", "UNK", "Featurizer", "FrozenEncoderFeaturizer",
    "HashedNgramFeaturizer", "TfidfFeaturizer", "TransformerTokenizer", "VocabFeaturizer", "bag_batch",
    "check_plain_tfidf_options", "featurizer_from_dict", "register_featurizer",
]


def _load_pretrained(kind: str):
    """A loader for ``kind`` that imports its module (which registers the real loader) first."""
    def load(d, folder, path):
        importlib.import_module(_PRETRAINED_KINDS[kind], __package__)
        return FEATURIZER_LOADERS[kind](d, folder, path)
    return load


for _kind in _PRETRAINED_KINDS:
    FEATURIZER_LOADERS.setdefault(_kind, _load_pretrained(_kind))


def __getattr__(name: str) -> Any:
    if name in _PRETRAINED:
        return getattr(importlib.import_module(_PRETRAINED[name], __package__), name)
    if name == "FEATURIZERS":  # the featurizer classes by the ``kind`` they save
        return {cls.kind: cls for cls in (TfidfFeaturizer, VocabFeaturizer, HashedNgramFeaturizer,
                                          __getattr__("TransformerTokenizer"), __getattr__("FrozenEncoderFeaturizer"))}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
    loader = FEATURIZER_LOADERS.get(kind)
    if loader is None:
        raise ModelFormatError(path, f"unknown featurizer kind {kind!r}; known: {', '.join(sorted(FEATURIZER_LOADERS))}")
    return loader(d, folder, path)
