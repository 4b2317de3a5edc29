"""Resumable checkpoints without pickle: tensors in safetensors, the rest in JSON.

A checkpoint holds the model, the best model so far, the optimiser states, the schedules,
the torch RNG and the early-stopping bookkeeping. Each epoch writes a new tensors file
atomically, then replaces ``state.json`` (which names that file) atomically, then removes
older tensors files: a process killed at any instant leaves a complete checkpoint.

``state.json`` also records the run's fingerprint (:func:`run_fingerprint`): resuming
refuses a checkpoint written for another model, loss, optimiser setting, seed, data set or
label list, and lists what differs. The tensors file it names must be a file of the
checkpoint folder itself.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
from pathlib import Path
from typing import Any, Callable, Sequence

import torch
from safetensors.torch import load_file, save

from ..io import atomic_write_bytes, write_json
from ..modelcheck import ModelFormatError, blame, inside, read_model_json, require, require_int, require_number
from .optim import TrainingOptimizer

#: the settings that must not change between a run and its resumption
FINGERPRINT_KEYS = ("model", "encoder", "loss", "loss_preset", "loss_options", "featurizer_options", "network_options",
                    "optimizer", "lr", "weight_decay", "batch_size", "warmup_ratio", "schedule", "seed")
TENSORS_NAME = re.compile(r"tensors-\d{5,}\.safetensors")


class ResumeMismatchError(ValueError):
    """The checkpoint was written by a different run (settings, data or labels)."""


def _digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, ensure_ascii=False, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def data_digest(examples: Sequence[Any], target: Callable[[Any], str] | None = None) -> str:
    """A hash over the texts and targets of ``examples`` (order included).

    ``target`` gives an example's target as one string (default: its sorted label set).
    """
    h = hashlib.sha256()
    for e in examples:
        h.update(e.text.encode("utf-8", "surrogatepass"))
        h.update(b"\x1f")
        h.update((target(e) if target else "\x1e".join(sorted(e.labels))).encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()


def run_fingerprint(cfg: Any, train: Sequence[Any], validation: Sequence[Any], labels: Sequence[str],
                    target: Callable[[Any], str] | None = None) -> dict[str, Any]:
    """What identifies a training run: its settings, its data and its label list.

    Parameters
    ----------
    cfg : TrainConfig
        The resolved configuration.
    train, validation : sequence of Example
    labels : sequence of str
        The label space's labels, in column order (a task's output names).
    target : callable, optional
        An example's target as one string (the task's; default: its sorted label set).

    Returns
    -------
    dict
        Plain JSON values: the settings in :data:`FINGERPRINT_KEYS` (plus ``epochs`` when a
        warm-up or linear decay makes the learning rate depend on it), and SHA-256 digests
        ``train_data``, ``validation_data`` and ``labels``.
    """
    d = cfg.to_dict()
    out = {k: json.loads(json.dumps(d.get(k), default=str)) for k in FINGERPRINT_KEYS}
    if d.get("schedule") == "linear" or d.get("warmup_ratio"):  # the learning-rate curve depends on the length
        out["epochs"] = d.get("epochs")
    out.update(train_data=data_digest(train, target), validation_data=data_digest(validation, target),
               labels=_digest(list(labels)))
    return out


def fingerprint_differences(saved: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Human-readable differences between a checkpoint's fingerprint and this run's."""
    diffs = []
    for key in sorted(set(saved) | set(current)):
        a, b = saved.get(key), current.get(key)
        if _digest(a) == _digest(b):
            continue
        if key in ("train_data", "validation_data", "labels"):
            diffs.append(f"{key.replace('_', ' ')} differ" if key == "labels" else f"{key.replace('_', ' ')} differs")
        else:
            diffs.append(f"{key}: checkpoint {a!r}, now {b!r}")
    return diffs


def save_checkpoint(folder: Path, model: torch.nn.Module, best_state: dict[str, torch.Tensor] | None,
                    optimizer: TrainingOptimizer, state: dict[str, Any], fingerprint: dict[str, Any] | None = None) -> None:
    tensors: dict[str, torch.Tensor] = {}
    for key, v in model.state_dict().items():
        tensors[f"model.{key}"] = v.detach().cpu().contiguous()
    for key, v in (best_state or {}).items():
        tensors[f"best.{key}"] = v.detach().cpu().contiguous()
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
                                       "has_best": best_state is not None, "run": fingerprint})
    for old in folder.glob("tensors-*.safetensors"):
        if old.name != name:
            old.unlink(missing_ok=True)


def check_run(meta: dict[str, Any], fingerprint: dict[str, Any], path: Path) -> None:
    """Refuse a checkpoint whose recorded run differs from ``fingerprint`` (listing what differs)."""
    saved = meta.get("run")
    if not isinstance(saved, dict):
        raise ResumeMismatchError(f"{path}: the checkpoint does not record its run (written by an older mltc?), "
                                  f"so it cannot be checked against this run; start afresh without --resume")
    diffs = fingerprint_differences(saved, fingerprint)
    if diffs:
        raise ResumeMismatchError(f"{path}: the checkpoint belongs to a different run; refusing to resume. "
                                  f"Differences: {'; '.join(diffs)}")


def load_checkpoint(folder: Path, model: torch.nn.Module, optimizer: TrainingOptimizer,
                    fingerprint: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, torch.Tensor] | None]:
    """Restore a checkpoint into ``model`` and ``optimizer``; returns (trainer state, best weights).

    With ``fingerprint`` (see :func:`run_fingerprint`) a checkpoint of another run is
    refused with :class:`ResumeMismatchError` before anything is loaded. A damaged
    checkpoint raises :class:`~mltc.modelcheck.ModelFormatError` naming the file.
    """
    state_path = folder / "state.json"
    meta = read_model_json(state_path)
    if fingerprint is not None:
        check_run(meta, fingerprint, state_path)
    name = meta.get("tensors")
    if not isinstance(name, str) or not TENSORS_NAME.fullmatch(name):
        raise ModelFormatError(state_path, "'tensors' must name a tensors-NNNNN.safetensors file of the checkpoint, "
                                           f"found {name!r}")
    tensors_path = inside(folder, name, state_path, "tensors")
    with blame(tensors_path, "cannot read the checkpoint tensors"):
        tensors = load_file(str(tensors_path))
    trainer = meta.get("trainer")
    if not isinstance(trainer, dict) or not isinstance(trainer.get("history"), list):
        raise ModelFormatError(state_path, "'trainer' must be an object with the run's 'history'")
    for key in ("epoch", "best_epoch", "bad_epochs"):
        require_int(trainer, key, state_path, 0, None, where="trainer.")
    require_number(trainer, "best_score", state_path, where="trainer.")
    require(meta, "has_best", state_path, bool)
    check_optimizer_state(meta, optimizer, state_path)
    with blame(state_path, "does not fit this run's model and optimiser"):
        return _restore(meta, tensors, model, optimizer)


def same_layout(stored: Any, current: Any, path: Path, where: str) -> None:
    """``stored`` (read from a checkpoint) has the structure and value types of ``current``.

    Objects have the same keys, lists the same length, numbers stay finite numbers (not
    booleans), and other scalars keep their type; the values themselves may differ.
    """
    def bad(what: str) -> ModelFormatError:
        return ModelFormatError(path, f"{where}: {what}")
    if isinstance(current, dict):
        if not isinstance(stored, dict) or set(stored) != set(map(str, current)) and set(stored) != set(current):
            raise bad("does not have the layout of this run's optimiser state")
        for k, v in current.items():
            same_layout(stored[k] if k in stored else stored[str(k)], v, path, f"{where}.{k}")
    elif isinstance(current, (list, tuple)):
        if not isinstance(stored, list) or len(stored) != len(current):
            raise bad(f"expected a list of {len(current)} values")
        for i, (a, b) in enumerate(zip(stored, current)):
            same_layout(a, b, path, f"{where}[{i}]")
    elif isinstance(current, bool) or current is None or isinstance(current, str):
        if type(stored) is not type(current):
            raise bad(f"expected {type(current).__name__}, found {type(stored).__name__}")
    elif isinstance(current, (int, float)):
        if isinstance(stored, bool) or not isinstance(stored, (int, float)) or not math.isfinite(stored) \
                or abs(stored) > 1e15 or (isinstance(current, int) and not isinstance(stored, int)):
            raise bad(f"expected a finite {'integer' if isinstance(current, int) else 'number'}, found {stored!r:.40}")


def check_optimizer_state(meta: dict[str, Any], optimizer: TrainingOptimizer, path: Path) -> None:
    """The optimiser groups, scalars and schedules in ``state.json`` fit this run's optimiser."""
    groups = [o.state_dict()["param_groups"] for o in optimizer.optimizers]
    same_layout(meta.get("optimizer_param_groups"), groups, path, "optimizer_param_groups")
    for k, (stored_groups, current_groups) in enumerate(zip(meta["optimizer_param_groups"], groups)):
        for g, (stored, current) in enumerate(zip(stored_groups, current_groups)):
            for key, value in current.items():  # settings are this run's; only the scheduled lr moves
                if key != "lr" and json.loads(json.dumps(value)) != stored[key]:
                    raise ModelFormatError(path, f"optimizer_param_groups[{k}][{g}].{key} is {stored[key]!r:.40}, "
                                                 f"this run has {value!r:.40}")
    same_layout(meta.get("schedulers"), [s.state_dict() for s in optimizer.schedulers], path, "schedulers")
    scalars = meta.get("optimizer_scalars")
    if not isinstance(scalars, dict):
        raise ModelFormatError(path, "'optimizer_scalars' must be an object")
    for key, value in scalars.items():
        parts = key.split(".", 2)
        if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit() or int(parts[0]) >= len(optimizer.optimizers) \
                or isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ModelFormatError(path, f"optimizer_scalars: bad entry {key!r}: {value!r:.40}")


def _restore(meta: dict[str, Any], tensors: dict[str, torch.Tensor], model: torch.nn.Module,
             optimizer: TrainingOptimizer) -> tuple[dict[str, Any], dict[str, torch.Tensor] | None]:
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
