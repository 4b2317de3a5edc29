"""Hugging Face encoders (BERT, ALBERT, RoBERTa, MiniLM, Chinese BERTs, ...) with a head.

Loading is real: ``encoder`` is a hub id or a local folder, passed to
``AutoTokenizer/AutoModel.from_pretrained`` (set ``HF_HUB_OFFLINE=1`` where there is no
network). A saved model carries the tokenizer files and the encoder's config in its folder
and its weights in ``model.safetensors``, so it reloads offline from the folder alone.
Batches are padded dynamically to their longest text (truncated to ``max_len``).
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from ..modelcheck import blame, only_keys, public_name
from .featurizer_base import Featurizer, encoder_folder, register_featurizer
from .heads import make_head
from .text import clip


def _auto():
    import transformers  # heavy import: only when a transformer model is used
    transformers.logging.set_verbosity_error()
    return transformers


def position_limit(source: str, tokenizer) -> int | None:
    """The longest input the encoder takes: the tokenizer's model_max_length when set, else
    the config's max_position_embeddings."""
    if getattr(tokenizer, "model_max_length", None) and tokenizer.model_max_length < 100_000:
        return int(tokenizer.model_max_length)
    try:
        config = _auto().AutoConfig.from_pretrained(source)
    except (OSError, ValueError):
        return None
    return getattr(config, "max_position_embeddings", None)


class TransformerTokenizer(Featurizer):
    """A Hugging Face (fast) tokenizer; nothing is fitted."""

    kind = "transformer-tokenizer"
    input_kind = "sequence"

    def __init__(self, encoder: str | None = None, max_len: int = 128, tokenizer_dir: str | None = None) -> None:
        self.encoder, self.max_len = encoder, int(max_len)
        self.tokenizer: Any = None  # a Hugging Face tokenizer once loaded
        source = tokenizer_dir or encoder
        if source is not None:
            self.tokenizer = _auto().AutoTokenizer.from_pretrained(source)
            limit = position_limit(source, self.tokenizer)
            if limit is not None and self.max_len > limit:
                warnings.warn(f"max_len {self.max_len} exceeds what the encoder accepts; using {limit}", UserWarning,
                              stacklevel=2)
                self.max_len = limit

    def fit(self, texts: Sequence[str]) -> "TransformerTokenizer":
        if self.tokenizer is None:
            raise ValueError("a transformer model needs an encoder: a hub id or a local folder "
                             "(featurizer/network option 'encoder')")
        return self

    def encode(self, texts: Sequence[str]) -> list[np.ndarray]:
        enc = self.tokenizer([clip(t) for t in texts], truncation=True, max_length=self.max_len)["input_ids"]
        return [np.asarray(ids, dtype=np.int64) for ids in enc]

    def batch(self, encoded: list[np.ndarray], rows: np.ndarray) -> dict[str, torch.Tensor]:
        seqs = [encoded[i] for i in rows]
        width = max(1, max(len(s) for s in seqs))
        pad = self.tokenizer.pad_token_id or 0
        ids = np.full((len(seqs), width), pad, dtype=np.int64)
        mask = np.zeros((len(seqs), width), dtype=bool)
        for i, s in enumerate(seqs):
            ids[i, : len(s)] = s
            mask[i, : len(s)] = True
        return {"input_ids": torch.from_numpy(ids), "attention_mask": torch.from_numpy(mask)}

    @property
    def input_size(self) -> int:
        return len(self.tokenizer)

    def save_files(self, folder: Path) -> None:
        self.tokenizer.save_pretrained(str(folder / "tokenizer"))

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "encoder": public_name(self.encoder), "max_len": self.max_len,
                "tokenizer_dir": "tokenizer"}


def load_tokenizer(d: dict[str, Any], folder=None, path="featurizer.json") -> TransformerTokenizer:
    """A :class:`TransformerTokenizer` from its stored dict (``kind`` removed); the files come from the folder."""
    only_keys(d, ("encoder", "max_len", "tokenizer_dir"), path, "a transformer tokenizer")
    d = {**d, "tokenizer_dir": encoder_folder(d, folder, path, "tokenizer_dir")}
    with blame(d["tokenizer_dir"], "cannot load the tokenizer"):
        return TransformerTokenizer(**d)


register_featurizer("transformer-tokenizer", load_tokenizer)


class TransformerClassifier(nn.Module):
    """Encoder + head. ``encoder`` loads pretrained weights; ``encoder_config`` (a saved
    config dict) builds the architecture only, for reloading from a model folder."""

    def __init__(self, input_size: int, num_labels: int, encoder: str | None = None, encoder_config: dict | None = None,
                 head: str = "linear", head_options: dict | None = None, freeze_encoder: bool = False,
                 attn_implementation: str | None = None) -> None:
        super().__init__()
        tf = _auto()
        # "eager" attention supports double backward (needed by the embedding gradient penalty); SDPA does not
        extra = {"attn_implementation": attn_implementation} if attn_implementation else {}
        if encoder_config is not None:
            cfg = dict(encoder_config)
            cfg.pop("_attn_implementation_autoset", None)
            self.encoder = tf.AutoModel.from_config(tf.AutoConfig.for_model(cfg.pop("model_type"), **cfg), **extra)
        elif encoder is not None:
            self.encoder = tf.AutoModel.from_pretrained(encoder, **extra)
        else:
            raise ValueError("TransformerClassifier needs an encoder (hub id or folder) or an encoder_config")
        if self.encoder.get_input_embeddings().num_embeddings < input_size:
            self.encoder.resize_token_embeddings(input_size)
        self.head_name, self.head_options = head, dict(head_options or {})
        self.head = make_head(head, self.encoder.config.hidden_size, num_labels, **self.head_options)
        self.freeze_encoder = bool(freeze_encoder)
        if freeze_encoder:
            for p in self.encoder.parameters():
                p.requires_grad_(False)

    @property
    def embedding(self) -> nn.Module:
        """The word-embedding table (perturbed by FGM, penalised by the gradient penalty)."""
        return self.encoder.get_input_embeddings()

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, **_) -> torch.Tensor:
        h = self.encoder(input_ids=input_ids, attention_mask=attention_mask.long()).last_hidden_state
        return self.head(h, attention_mask)

    def output_bias(self) -> nn.Parameter:
        head: Any = self.head
        out = getattr(head, "out", None) or head.pool.out
        return out.bias

    def export_options(self) -> dict[str, Any]:
        """Options that rebuild this network without the hub: the encoder's config, not its name."""
        config = json.loads(self.encoder.config.to_json_string())
        config.pop("_name_or_path", None)  # a local folder of the training machine: never stored
        return {"encoder_config": config, "head": self.head_name, "head_options": self.head_options,
                "freeze_encoder": self.freeze_encoder}
