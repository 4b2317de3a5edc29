"""Classification heads over token states ``H`` (B, L, D) with a mask (B, L).

Shared by the CPU networks (over word embeddings) and the transformer encoders (over their
last hidden states):

- ``linear``: dropout + linear on the first token ([CLS]) or the masked mean;
- ``bilstm``: a BiLSTM over the states, masked max pooling, linear;
- ``attention``: additive attention pooling (Bahdanau et al., 2015; Zhou et al., 2016), linear;
- ``textcnn``: convolutions of several widths, max over time (Kim, 2014), linear.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..registry import Registry


def masked_mean(h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    m = mask.unsqueeze(-1).to(h.dtype)
    return (h * m).sum(1) / m.sum(1).clamp(min=1.0)


class LinearHead(nn.Module):
    def __init__(self, dim: int, num_labels: int, pooling: str = "cls", dropout: float = 0.1) -> None:
        super().__init__()
        if pooling not in ("cls", "mean"):
            raise ValueError(f"pooling must be 'cls' or 'mean', got {pooling!r}")
        self.pooling = pooling
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(dim, num_labels)

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        pooled = h[:, 0] if self.pooling == "cls" else masked_mean(h, mask)
        return self.out(self.dropout(pooled))


class AttentionHead(nn.Module):
    def __init__(self, dim: int, num_labels: int, attention_dim: int = 128, dropout: float = 0.1) -> None:
        super().__init__()
        self.attn = nn.Linear(dim, attention_dim)
        self.attn_v = nn.Linear(attention_dim, 1, bias=False)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(dim, num_labels)

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        scores = self.attn_v(torch.tanh(self.attn(h))).squeeze(-1).float()
        valid = mask.clone()
        valid[:, 0] = True  # an empty text attends to its first (padding) position
        weights = torch.softmax(scores.masked_fill(~valid, float("-inf")), dim=1).to(h.dtype)
        return self.out(self.dropout((weights.unsqueeze(-1) * h).sum(1)))


class BiLSTMHead(nn.Module):
    def __init__(self, dim: int, num_labels: int, hidden: int = 128, dropout: float = 0.1, attention: bool = False) -> None:
        super().__init__()
        self.lstm = nn.LSTM(dim, hidden, batch_first=True, bidirectional=True)
        self.pool = AttentionHead(2 * hidden, num_labels, hidden, dropout) if attention else None
        self.dropout = nn.Dropout(dropout)
        self.out = None if attention else nn.Linear(2 * hidden, num_labels)

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        lengths = mask.sum(1).clamp(min=1).cpu()
        packed = nn.utils.rnn.pack_padded_sequence(h.float(), lengths, batch_first=True, enforce_sorted=False)
        states, _ = self.lstm(packed)
        states, _ = nn.utils.rnn.pad_packed_sequence(states, batch_first=True, total_length=h.shape[1])
        if self.pool is not None:
            return self.pool(states, mask)
        assert self.out is not None  # built without attention
        valid = mask.clone()
        valid[:, 0] = True
        pooled = states.masked_fill(~valid.unsqueeze(-1), float("-inf")).amax(1)
        return self.out(self.dropout(pooled))


class TextCNNHead(nn.Module):
    def __init__(self, dim: int, num_labels: int, filters: int = 128, kernel_sizes: tuple[int, ...] = (2, 3, 4, 5),
                 dropout: float = 0.5) -> None:
        super().__init__()
        self.kernel_sizes = tuple(kernel_sizes)
        self.convs = nn.ModuleList(nn.Conv1d(dim, filters, k) for k in self.kernel_sizes)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(filters * len(self.kernel_sizes), num_labels)

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = h * mask.unsqueeze(-1).to(h.dtype)
        width = max(self.kernel_sizes)
        if h.shape[1] < width:  # texts shorter than the widest kernel
            h = F.pad(h, (0, 0, 0, width - h.shape[1]))
        x = self.dropout(h).transpose(1, 2)
        pooled = [F.relu(conv(x)).amax(dim=2) for conv in self.convs]
        return self.out(self.dropout(torch.cat(pooled, dim=1)))


#: head name -> class ``(dim, num_labels, **options)``; a new head is one ``HEADS.register`` call
HEADS = Registry("head")
HEADS.register("linear", LinearHead, help="dropout + linear on [CLS] or the masked mean (--pooling)")
HEADS.register("bilstm", BiLSTMHead, help="a BiLSTM over the states, masked max pooling")
HEADS.register("attention", AttentionHead, help="additive attention pooling")
HEADS.register("textcnn", TextCNNHead, help="convolutions of several widths, max over time")


def make_head(name: str, dim: int, num_labels: int, **options) -> nn.Module:
    return HEADS[HEADS.canonical(name)](dim, num_labels, **options)
