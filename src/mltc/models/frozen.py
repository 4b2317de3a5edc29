"""Frozen-encoder features: encode texts once with a pretrained encoder, cache the vectors.

The text vector is the attention-masked mean of the last hidden states, L2-normalised (the
sentence-transformers recipe for all-MiniLM-L6-v2). Vectors are cached on disk in an SQLite
file keyed by a hash of (encoder weights, max_len, text), so repeated runs and other losses
reuse them. The cache's place and size are the user's settings (env ``MLTC_CACHE_DIR``,
``MLTC_CACHE_MAX_MB``; the oldest vectors are evicted first), never the model file's.
Optionally TF-IDF features are concatenated (as a sparse linear term of the head). This gives
CPU users pretrained knowledge in minutes: the encoder runs once per text.
"""
from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from ..modelcheck import ModelFormatError, blame, only_keys, public_name, require_int
from .featurizer_base import Featurizer, encoder_folder, register_featurizer
from .heads import masked_mean
from .text import clip
from .tfidf import TfidfFeaturizer, check_tfidf_dict, load_tfidf
from .transformer import _auto, position_limit

DEFAULT_CACHE_MAX_MB = 2048.0


def default_cache_dir() -> Path:
    return Path(os.environ.get("MLTC_CACHE_DIR", Path.home() / ".cache" / "mltc"))


def cache_max_bytes() -> int:
    """The vector cache's size bound: env ``MLTC_CACHE_MAX_MB`` (default 2048 MB)."""
    raw = os.environ.get("MLTC_CACHE_MAX_MB", "")
    try:
        mb = float(raw) if raw.strip() else DEFAULT_CACHE_MAX_MB
    except ValueError:
        raise ValueError(f"MLTC_CACHE_MAX_MB must be a number of megabytes, got {raw!r}") from None
    if not mb >= 0:
        raise ValueError(f"MLTC_CACHE_MAX_MB must be a non-negative number, got {raw!r}")
    return int(min(mb, 2.0**40) * 1024 * 1024)  # "inf": no practical bound


class VectorCache:
    """text hash -> float32 vector, in one SQLite file (safe to interrupt; no pickle).

    Parameters
    ----------
    path : Path
        The SQLite file.
    max_bytes : int, optional
        Bound on the stored vector bytes (default :func:`cache_max_bytes`); after each
        write the oldest vectors are evicted until the cache fits.
    """

    def __init__(self, path: Path, max_bytes: int | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.max_bytes = cache_max_bytes() if max_bytes is None else int(max_bytes)
        self.db = sqlite3.connect(str(path))
        self.db.execute("CREATE TABLE IF NOT EXISTS v (k TEXT PRIMARY KEY, dim INTEGER, data BLOB)")

    def size_bytes(self) -> int:
        return int(self.db.execute("SELECT COALESCE(SUM(dim), 0) FROM v").fetchone()[0]) * 4

    def evict(self) -> None:
        """Drop the oldest vectors (lowest rowid: replaced rows count as new) until within the bound."""
        excess = self.size_bytes() - self.max_bytes
        if excess <= 0:
            return
        freed, cutoff = 0, None
        for rowid, dim in self.db.execute("SELECT rowid, dim FROM v ORDER BY rowid"):
            freed, cutoff = freed + 4 * int(dim), rowid
            if freed >= excess:
                break
        with self.db:
            self.db.execute("DELETE FROM v WHERE rowid <= ?", (cutoff,))

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for i in range(0, len(keys), 500):
            chunk = list(keys[i:i + 500])
            q = f"SELECT k, data FROM v WHERE k IN ({','.join('?' * len(chunk))})"
            for k, data in self.db.execute(q, chunk):
                out[k] = np.frombuffer(data, dtype=np.float32)
        return out

    def put_many(self, items: dict[str, np.ndarray]) -> None:
        with self.db:
            self.db.executemany("INSERT OR REPLACE INTO v VALUES (?, ?, ?)",
                                [(k, int(v.size), v.astype(np.float32).tobytes()) for k, v in items.items()])
        self.evict()


class FrozenEncoderFeaturizer(Featurizer):
    kind = "frozen-encoder"
    input_kind = "dense"

    def __init__(self, encoder: str | None = None, max_len: int = 256, batch_size: int = 32, tfidf: bool | dict = False,
                 cache_dir: str | None = None, encoder_dir: str | None = None, tfidf_state: dict | None = None,
                 device: str | None = None) -> None:
        self.encoder, self.max_len, self.batch_size = encoder, int(max_len), int(batch_size)
        self.tfidf_options = ({} if tfidf is True else dict(tfidf)) if tfidf else None
        self.cache_dir = cache_dir
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.tfidf = _tfidf_from_state(tfidf_state) if tfidf_state else None
        self._model: Any = None  # the Hugging Face encoder and tokenizer once loaded
        self._tokenizer: Any = None
        source = encoder_dir or encoder
        if source is not None:
            tf = _auto()
            self._tokenizer = tf.AutoTokenizer.from_pretrained(source)
            self._model = tf.AutoModel.from_pretrained(source).eval().to(self.device)
            self.max_len = min(self.max_len, position_limit(source, self._tokenizer) or self.max_len)
        self.key_prefix = f"{self._weights_digest()}|{self.max_len}|mean-l2"

    def _weights_digest(self) -> str:
        """A hash of the encoder's weights: cached vectors never mix two encoders sharing a name."""
        if self._model is None:
            return str(self.encoder)
        h = hashlib.sha256()
        for name, t in self._model.state_dict().items():
            h.update(name.encode("utf-8"))
            h.update(t.detach().to("cpu", torch.float32).contiguous().numpy().tobytes())
        return h.hexdigest()[:32]

    @property
    def dim(self) -> int:
        return int(self._model.config.hidden_size)

    def fit(self, texts: Sequence[str]) -> "FrozenEncoderFeaturizer":
        if self._model is None:
            raise ValueError("the frozen-encoder model needs an encoder: a hub id or a local folder")
        if self.tfidf_options is not None:
            self.tfidf = TfidfFeaturizer(**self.tfidf_options).fit(texts)
        return self

    @torch.no_grad()
    def _embed(self, texts: list[str]) -> np.ndarray:
        out = []
        for i in range(0, len(texts), self.batch_size):
            enc = self._tokenizer(texts[i:i + self.batch_size], truncation=True, max_length=self.max_len,
                                  padding=True, return_tensors="pt").to(self.device)
            with torch.autocast(self.device if self.device != "cpu" else "cpu", dtype=torch.bfloat16,
                                enabled=self.device == "cpu"):
                h = self._model(**enc).last_hidden_state
            v = masked_mean(h.float(), enc["attention_mask"].bool())
            out.append(torch.nn.functional.normalize(v, dim=-1).cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, self.dim), np.float32)

    def vectors(self, texts: Sequence[str]) -> np.ndarray:
        texts = [clip(t) for t in texts]
        keys = [hashlib.sha256(f"{self.key_prefix}\x00{t}".encode("utf-8")).hexdigest() for t in texts]
        cache = VectorCache(Path(self.cache_dir or default_cache_dir()) / "vectors.sqlite") if self.cache_dir != "" else None
        found = cache.get_many(keys) if cache else {}
        missing = [i for i, k in enumerate(keys) if k not in found]
        if missing:
            fresh = self._embed([texts[i] for i in missing])
            new = {keys[i]: fresh[j] for j, i in enumerate(missing)}
            if cache:
                cache.put_many(new)
            found.update(new)
        return np.stack([found[k] for k in keys]).astype(np.float32) if keys else np.zeros((0, self.dim), np.float32)

    def encode(self, texts: Sequence[str]) -> tuple[np.ndarray, Any]:
        return self.vectors(texts), (self.tfidf.encode(texts) if self.tfidf is not None else None)

    def batch(self, encoded: tuple[np.ndarray, Any], rows: np.ndarray) -> dict[str, torch.Tensor]:
        dense, sparse = encoded
        out = {"dense": torch.from_numpy(dense[rows])}
        if sparse is not None and self.tfidf is not None:
            out.update(self.tfidf.batch(sparse, rows))
        return out

    @property
    def input_size(self) -> int:
        return self.dim

    def network_options(self) -> dict[str, Any]:
        return {"sparse_size": self.tfidf.input_size if self.tfidf is not None else 0}

    def save_files(self, folder: Path) -> None:
        self._model.save_pretrained(str(folder / "encoder"), safe_serialization=True)
        self._tokenizer.save_pretrained(str(folder / "encoder"))

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "encoder": public_name(self.encoder), "max_len": self.max_len, "batch_size": self.batch_size,
                "encoder_dir": "encoder", "tfidf_state": self.tfidf.to_dict() if self.tfidf is not None else None}


def _tfidf_from_state(state: Any, path: Any = "featurizer.json") -> TfidfFeaturizer:
    """The TF-IDF part of a frozen-encoder featurizer from its (untrusted) stored state."""
    if not isinstance(state, dict) or state.get("kind") != "tfidf":
        raise ModelFormatError(path, "'tfidf_state' must be null or a TF-IDF featurizer")
    return load_tfidf({k: v for k, v in state.items() if k != "kind"}, None, path)


def load_frozen(d: dict[str, Any], folder=None, path="featurizer.json") -> FrozenEncoderFeaturizer:
    """A :class:`FrozenEncoderFeaturizer` from its stored dict (``kind`` removed); the encoder comes from the folder."""
    only_keys(d, ("encoder", "max_len", "batch_size", "encoder_dir", "tfidf_state"), path, "a frozen encoder")
    require_int(d, "batch_size", path, 1, 10**6, optional=True)
    d = {**d, "encoder_dir": encoder_folder(d, folder, path, "encoder_dir")}
    state = d.get("tfidf_state")
    if state is not None:
        if not isinstance(state, dict) or state.get("kind") != "tfidf":
            raise ModelFormatError(path, "'tfidf_state' must be null or a TF-IDF featurizer")
        check_tfidf_dict({k: v for k, v in state.items() if k != "kind"}, path)
    with blame(d["encoder_dir"], "cannot load the encoder"):
        return FrozenEncoderFeaturizer(**d)


register_featurizer("frozen-encoder", load_frozen)
