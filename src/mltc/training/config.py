"""Training configuration: one dataclass, loadable from YAML/TOML/JSON and saved with the model."""
from __future__ import annotations

import dataclasses
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


@dataclass
class TrainConfig:
    """Everything a training run needs besides data. ``None`` means the model's default.

    Parameters mirror the CLI flags of ``mltc train``.
    """

    model: str = "tfidf-linear"
    encoder: str | None = None  # hub id or local folder, for transformer / frozen-encoder models
    loss: str | None = None  # None: the fitter's default (linear: see LINEAR_DEFAULT_LOSS; neural: db)
    loss_preset: str = "reuters"
    loss_options: dict[str, Any] = field(default_factory=dict)
    decision: str | None = None  # auto, cv, global, per-label, top-k, zero, fixed (None: the fitter's default)
    decision_options: dict[str, Any] = field(default_factory=dict)
    featurizer_options: dict[str, Any] = field(default_factory=dict)
    network_options: dict[str, Any] = field(default_factory=dict)
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    optimizer: str | None = None  # lbfgs (tfidf-linear's full-batch fitter), adamw, sgd or adagrad (None: the model's default)
    weight_decay: float | None = None
    warmup_ratio: float = 0.0
    schedule: str = "constant"  # or "linear" (decay to 0 after warm-up)
    clip_norm: float | None = None
    patience: int = 5
    min_epochs: int = 1
    seed: int = 42
    eval_batch_size: int = 256
    precision: str = "no"  # "bf16" (CPU or GPU autocast) or "fp16" (GPU, with loss scaling)
    grad_accum: int = 1  # split each batch into this many micro-batches (same update, less memory)
    device: str = "auto"  # "cpu", "cuda" or "auto"
    rdrop_alpha: float = 0.0
    fgm_epsilon: float = 0.0
    gp_epsilon: float = 0.0
    threads: int | None = None  # torch CPU threads (None: all cores)
    # full-batch linear fitter (tfidf-linear with optimizer lbfgs)
    solver_options: dict[str, Any] = field(default_factory=dict)  # C, tol, max_iter, memory, block_size, prune
    cv_folds: int = 3  # folds for cross-validated per-label thresholds (0: none)
    cv_objective: str = "micro+macro"  # or "f1" (SCut with the FBR fallback)
    # SVM baseline only
    svm_c: float = 1.0
    svm_class_weight: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown configuration key(s): {', '.join(sorted(unknown))}")
        return cls(**d)

    def resolved(self, defaults: dict[str, Any]) -> "TrainConfig":
        """A copy with ``None`` fields filled from a model's defaults."""
        d = self.to_dict()
        if d["loss"] is None:
            d["loss"] = "db"
        if d["decision"] is None:
            d["decision"] = "zero" if str(d["loss"]).lower() == "zlpr" else "global"
        for k, v in defaults.items():
            if k == "decision_options":  # the model's grid for its global threshold
                if d["decision"] == "global":
                    d[k] = {**v, **d[k]}
            elif d.get(k) is None:
                d[k] = v
        for k, v in {"weight_decay": 0.01, "optimizer": "adamw", "lr": 1e-3, "epochs": 20, "batch_size": 32,
                     "clip_norm": 5.0}.items():
            if d.get(k) is None:
                d[k] = v
        return TrainConfig.from_dict(d)


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Read a YAML, TOML or JSON config file into a dict (keys as in :class:`TrainConfig`)."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            data = tomllib.loads(text)
        elif suffix == ".json":
            data = json.loads(text)
        else:
            data = yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError, yaml.YAMLError, RecursionError) as exc:
        raise ValueError(f"{path}: cannot parse config: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a config file must hold a mapping of options")
    from ..options import coerce_numbers, validate_train_options
    data = coerce_numbers(data)
    validate_train_options(data, source=str(path))
    return data
