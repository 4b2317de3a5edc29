"""Resumable checkpoints without pickle: tensors in safetensors, the rest in JSON.

A checkpoint holds the model, the best model so far, the optimiser states, the schedules,
the torch RNG and the early-stopping bookkeeping. Each epoch writes a new tensors file
atomically, then replaces ``state.json`` (which names that file) atomically, then removes
older tensors files: a process killed at any instant leaves a complete checkpoint.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save

from ..io import atomic_write_bytes, read_json, write_json
from .optim import TrainingOptimizer


def save_checkpoint(folder: Path, model: torch.nn.Module, best_state: dict[str, torch.Tensor] | None,
                    optimizer: TrainingOptimizer, state: dict[str, Any]) -> None:
    tensors: dict[str, torch.Tensor] = {}
    for k, v in model.state_dict().items():
        tensors[f"model.{k}"] = v.detach().cpu().contiguous()
    for k, v in (best_state or {}).items():
        tensors[f"best.{k}"] = v.detach().cpu().contiguous()
    scalars: dict[str, Any] = {}
    groups = []
    for k, o in enumerate(optimizer.optimizers):
        opt = o.state_dict()
        groups.append(opt["param_groups"])
        for pid, st in opt["state"].items():
            for name, value in st.items():
                if torch.is_tensor(value) and value.ndim > 0:
                    tensors[f"optim{k}.{pid}.{name}"] = value.detach().cpu().contiguous()
                else:
                    scalars[f"{k}.{pid}.{name}"] = float(value.item() if torch.is_tensor(value) else value)
    tensors["rng.torch"] = torch.get_rng_state()
    folder.mkdir(parents=True, exist_ok=True)
    name = f"tensors-{int(state['epoch']):05d}.safetensors"
    atomic_write_bytes(folder / name, save(tensors))
    write_json(folder / "state.json", {"trainer": state, "tensors": name, "optimizer_param_groups": groups,
                                       "optimizer_scalars": scalars,
                                       "schedulers": [s.state_dict() for s in optimizer.schedulers],
                                       "has_best": best_state is not None})
    for old in folder.glob("tensors-*.safetensors"):
        if old.name != name:
            old.unlink(missing_ok=True)


def load_checkpoint(folder: Path, model: torch.nn.Module,
                    optimizer: TrainingOptimizer) -> tuple[dict[str, Any], dict[str, torch.Tensor] | None]:
    meta = read_json(folder / "state.json")
    tensors = load_file(str(folder / meta["tensors"]))
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    best = {k[5:]: v for k, v in tensors.items() if k.startswith("best.")} if meta["has_best"] else None
    for k, (o, s) in enumerate(zip(optimizer.optimizers, optimizer.schedulers)):
        state: dict[int, dict[str, Any]] = {}
        for key, v in tensors.items():
            if key.startswith(f"optim{k}."):
                _, pid, name = key.split(".", 2)
                state.setdefault(int(pid), {})[name] = v
        for key, v in meta["optimizer_scalars"].items():
            kk, pid, name = key.split(".", 2)
            if int(kk) == k:
                state.setdefault(int(pid), {})[name] = torch.tensor(v)
        o.load_state_dict({"state": state, "param_groups": meta["optimizer_param_groups"][k]})
        s.load_state_dict(meta["schedulers"][k])
    torch.set_rng_state(tensors["rng.torch"])
    return meta["trainer"], best
