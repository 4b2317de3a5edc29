"""Fine-grained multi-label classification: each of K aspects takes one of L ordered levels.

REFERENCE.md section 4 (the seed example: 6 emotions, each 0 none, 1 weak, 2 medium, 3 strong,
written ``"0,1,0,0,2,0"``). The network is any mltc network with K*L outputs, read as one
softmax over the L levels per aspect; the loss is cross-entropy summed over aspects.
Evaluation reports per-aspect accuracy and macro-F1 (over levels) and RMSE over level
values, plus a confusion matrix per aspect. Saved like any mltc model (JSON + safetensors).
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .classifier import batched, build_network, check_featurizer_fits, load_network, model_folder
from .data.readers import DataFormatError, decoded_lines
from .io import atomic_directory, write_json
from .metrics.classification import prf_from_counts
from .modelcheck import ModelFormatError, open_model_meta, read_model_json, scrub_config, string_list
from .models.featurizers import featurizer_from_dict
from .models.registry import NETWORKS, model_spec
from .training.config import TrainConfig
from .training.optim import TrainingOptimizer, linear_schedule
from .training.trainer import build_model_parts

FORMAT = "mltc-fine-grained"


@dataclass(frozen=True)
class GradedExample:
    text: str
    levels: tuple[int, ...]


def read_graded(path: str | os.PathLike, aspects: Sequence[str] | None = None,
                num_levels: int | None = None) -> tuple[list[GradedExample], list[str]]:
    """Read ``text<TAB>l1,l2,...,lK`` rows (the last tab separates the levels).

    A first row whose level field is not all integers is a header naming the aspects
    (``text<TAB>love,joy,surprise,anger,fear,sorrow``). Errors name file and line.
    """
    out: list[GradedExample] = []
    names = list(aspects) if aspects else None
    for lineno, line in enumerate(decoded_lines(path), 1):
        line = line.rstrip("\r\n")
        if not line.strip():
            continue
        if "\t" not in line:
            raise DataFormatError(path, lineno, "expected text<TAB>levels")
        text, field = line.rsplit("\t", 1)
        parts = [p.strip() for p in field.split(",")]
        if not all(p.lstrip("-").isdigit() for p in parts):
            if lineno == 1 and not out:  # a header naming the aspects
                if names is not None and parts != names:
                    raise DataFormatError(path, lineno, f"aspects {parts} differ from the expected {names}")
                names = parts
                continue
            raise DataFormatError(path, lineno, f"levels must be comma-separated integers, got {field!r}")
        levels = tuple(int(p) for p in parts)
        if names is not None and len(levels) != len(names):
            raise DataFormatError(path, lineno, f"expected {len(names)} levels (one per aspect), found {len(levels)}")
        if out and len(levels) != len(out[0].levels):
            raise DataFormatError(path, lineno, f"expected {len(out[0].levels)} levels, found {len(levels)}")
        bad = [l for l in levels if l < 0 or (num_levels is not None and l >= num_levels)]
        if bad:
            raise DataFormatError(path, lineno, f"level {bad[0]} out of range 0..{(num_levels or 1) - 1}")
        out.append(GradedExample(text, levels))
    if not out:
        raise DataFormatError(path, None, "no rows")
    return out, names or [f"aspect_{k}" for k in range(len(out[0].levels))]


def graded_metrics(gold: np.ndarray, pred: np.ndarray, aspects: Sequence[str], num_levels: int) -> dict[str, Any]:
    """Per-aspect accuracy, macro-F1 over levels (zero_division 0) and RMSE; means over aspects."""
    per = {}
    for k, name in enumerate(aspects):
        g, p = gold[:, k], pred[:, k]
        M = np.zeros((num_levels, num_levels), dtype=np.int64)
        np.add.at(M, (g, p), 1)
        tp = np.diag(M)
        f1 = prf_from_counts(tp, M.sum(0) - tp, M.sum(1) - tp, "macro")["f1"]
        per[name] = {"accuracy": 100 * float((g == p).mean()), "macro_f1": 100 * f1,
                     "rmse": float(np.sqrt(np.mean((g - p) ** 2))), "confusion": M.tolist()}
    mean = {m: float(np.mean([v[m] for v in per.values()])) for m in ("accuracy", "macro_f1", "rmse")}
    return {"num_texts": int(len(gold)), "aspects": per, "mean": mean,
            "rmse_all": float(np.sqrt(np.mean((gold - pred) ** 2)))}


class GradedClassifier:
    """K aspects x L levels on top of any mltc featurizer + network."""

    def __init__(self, featurizer, network, network_spec, aspects, level_names, model_name, config=None, metrics=None):
        self.featurizer, self.network, self.network_spec = featurizer, network, network_spec
        self.aspects, self.level_names, self.model_name = list(aspects), list(level_names), model_name
        self.config, self.metrics = dict(config or {}), dict(metrics or {})

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.aspects), len(self.level_names)

    @torch.no_grad()
    def probabilities(self, texts: Sequence[str], batch_size: int = 256) -> np.ndarray:
        """(texts, aspects, levels) softmax probabilities."""
        if isinstance(texts, str):
            raise TypeError("predict takes a list of texts, not one string")
        self.network.eval()
        K, L = self.shape
        out = [np.zeros((0, K, L), np.float32)]
        for s in range(0, len(texts), batch_size):
            chunk = list(texts[s:s + batch_size])
            batch = self.featurizer.batch(self.featurizer.encode(chunk), np.arange(len(chunk)))
            out.append(torch.softmax(self.network(**batch).float().view(-1, K, L), -1).numpy())
        return np.concatenate(out)

    def predict(self, texts: Sequence[str], batch_size: int = 256, **_) -> list[dict[str, Any]]:
        """One dict per text: the level name, value and probability for every aspect."""
        P = self.probabilities(texts, batch_size)
        best = P.argmax(-1)
        return [{"levels": {a: self.level_names[best[i, k]] for k, a in enumerate(self.aspects)},
                 "values": {a: int(best[i, k]) for k, a in enumerate(self.aspects)},
                 "confidence": {a: round(float(P[i, k, best[i, k]]), 6) for k, a in enumerate(self.aspects)}}
                for i in range(len(P))]

    def predict_stream(self, texts, batch_size: int = 256, **options):
        for chunk in batched(texts, batch_size):
            yield from self.predict(chunk, batch_size)

    def evaluate(self, examples: Sequence[GradedExample], **_) -> dict[str, Any]:
        gold = np.array([e.levels for e in examples])
        pred = self.probabilities([e.text for e in examples]).argmax(-1)
        return graded_metrics(gold, pred, self.aspects, len(self.level_names))

    def save(self, folder: str | os.PathLike) -> Path:
        from safetensors.torch import save_model
        folder = Path(folder)
        with atomic_directory(folder) as tmp:
            write_json(tmp / "mltc.json", {"format": FORMAT, "version": 1, "model": self.model_name,
                                           "network": self.network_spec, "aspects": self.aspects,
                                           "levels": self.level_names})
            write_json(tmp / "featurizer.json", self.featurizer.to_dict(), indent=None)
            self.featurizer.save_files(tmp)
            write_json(tmp / "config.json", scrub_config(self.config))
            write_json(tmp / "metrics.json", self.metrics)
            save_model(self.network, str(tmp / "model.safetensors"))
        return folder

    @classmethod
    def load(cls, folder: str | os.PathLike) -> "GradedClassifier":
        """Load a folder written by :meth:`save`; every file is checked as in :meth:`Classifier.load`.

        Raises
        ------
        ModelFormatError
            A file is missing, damaged or disagrees with another; the message names it.
        """
        folder = model_folder(folder)
        meta_path, meta = open_model_meta(folder, FORMAT, 1, list(NETWORKS))
        aspects = string_list(meta.get("aspects"), meta_path, "aspects")
        levels = string_list(meta.get("levels"), meta_path, "levels")
        spec = meta["network"]
        if not aspects or not levels or len(aspects) * len(levels) != spec["num_labels"]:
            raise ModelFormatError(meta_path, f"{len(aspects)} aspects x {len(levels)} levels do not match the "
                                              f"network's {spec['num_labels']} outputs")
        config, metrics = read_model_json(folder / "config.json"), read_model_json(folder / "metrics.json")
        feat_path = folder / "featurizer.json"
        featurizer = featurizer_from_dict(read_model_json(feat_path), folder, feat_path)
        check_featurizer_fits(featurizer, spec, feat_path, meta_path)
        network = load_network(spec, folder, meta_path)
        return cls(featurizer, network, spec, aspects, levels, meta["model"], config, metrics)


def train_graded(train: Sequence[GradedExample], validation: Sequence[GradedExample], aspects: Sequence[str],
                 config: TrainConfig | None = None, level_names: Sequence[str] | None = None,
                 out_dir: str | os.PathLike | None = None) -> GradedClassifier:
    """Train K softmaxes (one per aspect); early stopping on mean per-aspect macro-F1."""
    spec = model_spec((config or TrainConfig()).model)
    cfg = (config or TrainConfig()).resolved(spec.training)
    if not train or not validation:
        raise ValueError("fine-grained training needs training and validation rows")
    torch.manual_seed(cfg.seed)
    K = len(aspects)
    L = len(level_names) if level_names else 1 + max(max(e.levels) for e in list(train) + list(validation))
    levels = list(level_names) if level_names else [str(i) for i in range(L)]
    featurizer, net_spec = build_model_parts(spec, cfg, [e.text for e in train], K * L)
    X_tr, X_va = featurizer.encode([e.text for e in train]), featurizer.encode([e.text for e in validation])
    G_tr = torch.tensor([e.levels for e in train], dtype=torch.long)
    G_va = np.array([e.levels for e in validation])
    network = build_network(net_spec)
    total = math.ceil(len(train) / cfg.batch_size) * cfg.epochs
    optimizer = TrainingOptimizer(network, cfg.lr, cfg.weight_decay,
                                  linear_schedule(total, int(cfg.warmup_ratio * total), cfg.schedule == "linear"), cfg.optimizer)
    clf = GradedClassifier(featurizer, network, net_spec, aspects, levels, cfg.model)
    best, best_state, bad, history, started = -1.0, None, 0, [], time.time()
    for epoch in range(1, cfg.epochs + 1):
        network.train()
        order = torch.randperm(len(train), generator=torch.Generator().manual_seed(cfg.seed * 100_003 + epoch)).numpy()
        total_loss = 0.0
        for s in range(0, len(train), cfg.batch_size):
            rows = order[s:s + cfg.batch_size]
            logits = network(**featurizer.batch(X_tr, rows)).view(-1, K, L)
            loss = F.cross_entropy(logits.reshape(-1, L).float(), G_tr[rows].reshape(-1), reduction="sum") / len(rows)
            optimizer.zero_grad()
            (loss * (len(rows) if cfg.optimizer == "sgd" else 1.0)).backward()
            if cfg.clip_norm:
                optimizer.clip_grad_norm(cfg.clip_norm)
            optimizer.step()
            total_loss += loss.item() * len(rows)
        network.eval()
        with torch.no_grad():
            parts = [network(**featurizer.batch(X_va, np.arange(s, min(s + 256, len(validation))))).view(-1, K, L)
                     for s in range(0, len(validation), 256)]
        val = graded_metrics(G_va, torch.cat(parts).argmax(-1).numpy(), aspects, L)
        history.append({"epoch": epoch, "train_loss": total_loss / len(train), **{f"val_{k}": v for k, v in val["mean"].items()}})
        if val["mean"]["macro_f1"] > best:
            best, bad = val["mean"]["macro_f1"], 0
            best_state = {k: v.detach().clone() for k, v in network.state_dict().items()}
        else:
            bad += 1
            if bad >= cfg.patience:
                break
    if best_state is not None:
        network.load_state_dict(best_state)
    if hasattr(network, "export_options"):
        net_spec["options"] = network.export_options()
    clf.config = cfg.to_dict()
    clf.metrics = {"validation": clf.evaluate(validation), "history": history, "train_seconds": round(time.time() - started, 3)}
    if out_dir is not None:
        clf.save(Path(out_dir) / "model")
    return clf
