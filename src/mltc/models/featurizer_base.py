"""The featurizer interface, and the registry that rebuilds saved featurizers by kind.

Each featurizer module defines its classes and registers one loader per ``kind`` it writes
(:func:`register_featurizer`); :func:`mltc.models.featurizers.featurizer_from_dict`
dispatches on ``kind``. This base never imports its subclasses.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import torch

from ..modelcheck import ModelFormatError, check_tree_inside, inside, require, require_int

PAD, UNK = 0, 1


class Featurizer:
    kind = "base"
    input_kind = "bag"  # "bag" (EmbeddingBag inputs) or "sequence" (padded ids)

    def fit(self, texts: Sequence[str]) -> Featurizer:  # pragma: no cover - abstract
        raise NotImplementedError

    def encode(self, texts: Sequence[str]) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def batch(self, encoded: Any, rows: np.ndarray) -> dict[str, torch.Tensor]:  # pragma: no cover
        raise NotImplementedError

    @property
    def input_size(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def network_options(self) -> dict[str, Any]:
        """Extra options the network needs from the fitted featurizer (e.g. a second input size)."""
        return {}

    def save_files(self, folder) -> None:
        """Write files beside ``featurizer.json`` (tokenizer, encoder); plain featurizers have none."""

    def to_dict(self) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError


#: rebuilds a fitted featurizer from its stored dict (``kind`` removed), the model folder (or
#: None) and the file the dict was read from (for messages); it checks what it reads
FeaturizerLoader = Callable[[dict[str, Any], Any, Any], Featurizer]

#: featurizer kind -> loader; filled by the featurizer modules as they are imported
FEATURIZER_LOADERS: dict[str, FeaturizerLoader] = {}


def register_featurizer(kind: str, loader: FeaturizerLoader) -> None:
    """Make ``featurizer_from_dict`` rebuild featurizers whose ``kind`` is ``kind`` with ``loader``."""
    FEATURIZER_LOADERS[kind] = loader


def bag_batch(ids: Sequence[np.ndarray], weights: Sequence[np.ndarray] | None = None) -> dict[str, torch.Tensor]:
    """EmbeddingBag inputs (flat ids, offsets, optional per-id weights) from lists of arrays."""
    import torch
    lengths = np.fromiter((len(a) for a in ids), dtype=np.int64, count=len(ids))
    offsets = np.zeros(len(ids), dtype=np.int64)
    np.cumsum(lengths[:-1], out=offsets[1:])
    flat = np.concatenate(ids) if len(ids) else np.zeros(0, np.int64)
    out = {"ids": torch.from_numpy(flat.astype(np.int64)), "offsets": torch.from_numpy(offsets)}
    if weights is not None:
        w = np.concatenate(weights) if len(weights) else np.zeros(0, np.float32)
        out["weights"] = torch.from_numpy(w.astype(np.float32))
    return out


def encoder_folder(d: dict[str, Any], folder, path, key: str) -> str:
    """The stored encoder/tokenizer sub-folder, resolved inside the model folder (never the ``encoder`` name)."""
    if folder is None:
        raise ModelFormatError(path, "a pretrained encoder or tokenizer loads only from its model folder")
    sub = inside(folder, d.get(key, "tokenizer" if key == "tokenizer_dir" else "encoder"), path, key)
    check_tree_inside(folder, sub, path, key)
    require(d, "encoder", path, str, optional=True)
    require_int(d, "max_len", path, 1, 10**6, optional=True)
    return str(sub)
