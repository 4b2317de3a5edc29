"""Where training runs: one process on a device, or several under ``accelerate launch``.

Mixed precision is applied with ``torch.autocast`` (bf16 on CPU or GPU, fp16 on GPU with loss
scaling), both held by one :class:`MixedPrecision` object; batches move to the device with pinned,
asynchronous copies towards a GPU only. A single process needs neither Accelerate nor transformers
(see :class:`SingleProcess`).

This module is the multi-process seam of the training loop: several processes are Hugging Face
Accelerate's (its ``Accelerator`` wraps the network in DDP, ``no_sync`` skips the gradient
all-reduce of all micro-batches but the last); the trainer only takes its share of each global
batch. There is no other distributed layer.
"""
from __future__ import annotations

import os
from contextlib import nullcontext

import torch

from .config import TrainConfig


class SingleProcess:
    """The few ``Accelerator`` attributes the trainer uses, for one process (no Accelerate needed).

    Parameters
    ----------
    device : torch.device
        Where the network and batches go.
    """

    is_main_process = True
    num_processes = 1
    process_index = 0

    def __init__(self, device: torch.device) -> None:
        self.device = device

    def prepare_model(self, model):
        return model

    def no_sync(self, model):
        return nullcontext()

    def wait_for_everyone(self) -> None:
        pass


def launched_world_size() -> int:
    """Processes started by ``accelerate launch`` / ``torchrun`` (``WORLD_SIZE``; 1 when not launched)."""
    try:
        return max(1, int(os.environ.get("WORLD_SIZE", "1")))
    except ValueError:
        return 1


def make_accelerator(cfg: TrainConfig):
    """The process/device handle: :class:`SingleProcess`, or an Accelerate ``Accelerator`` when launched
    as several processes (``WORLD_SIZE`` > 1), so single-process training never imports Accelerate.

    Accelerate keeps one process-wide state, so mixed precision is applied here with
    ``torch.autocast`` (see :func:`autocast`) rather than through the Accelerator: two runs
    with different precisions can then share a process.
    """
    if cfg.precision not in ("no", "bf16", "fp16"):
        raise ValueError(f"precision must be no, bf16 or fp16, got {cfg.precision!r}")
    if cfg.device not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu or cuda, got {cfg.device!r}")
    if cfg.device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' needs a CUDA GPU and none is available (a CPU build of torch, or no GPU "
                         "visible); use device 'cpu' or 'auto'")
    cpu = cfg.device == "cpu" or (cfg.device == "auto" and not torch.cuda.is_available())
    if cfg.precision == "fp16" and cpu:
        raise ValueError("fp16 needs a GPU; use precision='bf16' on CPU")
    if cfg.precision == "bf16" and not cpu and not torch.cuda.is_bf16_supported():
        raise ValueError("this GPU has no bfloat16 support; use precision='fp16' (loss scaling) or 'no'")
    if launched_world_size() == 1:
        return SingleProcess(torch.device("cpu") if cpu else torch.device("cuda", torch.cuda.current_device()))
    try:
        from accelerate import Accelerator
    except ImportError:
        raise ImportError("multi-process training (WORLD_SIZE > 1) needs Accelerate: "
                          "pip install 'mltc[transformers]' or pip install accelerate") from None
    return Accelerator(cpu=cpu, mixed_precision="no")


def move_to_device(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    """Move a batch of tensors to ``device``.

    Towards a GPU, dense CPU tensors are pinned first so that the copy is asynchronous
    (``non_blocking`` from pageable memory is a synchronous copy); on CPU nothing is pinned
    (pinning needs a CUDA runtime) and sparse tensors are never pinned.
    """
    pin = device.type == "cuda"
    out = {}
    for k, v in batch.items():
        if pin and v.device.type == "cpu" and v.layout == torch.strided:
            v = v.pin_memory()
        out[k] = v.to(device, non_blocking=pin)
    return out


def autocast(device: torch.device, precision: str):
    if precision == "no":
        return nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16 if precision == "bf16" else torch.float16)


class MixedPrecision:
    """How one run computes and back-propagates in reduced precision: autocast, and fp16 loss scaling.

    Parameters
    ----------
    device : torch.device
        Where the network runs (the autocast device type, and the ``GradScaler``'s).
    precision : {'no', 'bf16', 'fp16'}
        ``'fp16'`` also scales the loss (``torch.amp.GradScaler``): :meth:`backward` scales it and
        the optimizer's ``update(scaler)`` unscales the gradients, skips a step with inf/NaN and
        adapts the scale.
    """

    def __init__(self, device: torch.device, precision: str) -> None:
        self.device = device
        self.precision = precision
        self.scaler = torch.amp.GradScaler(device.type) if precision == "fp16" else None

    def autocast(self):
        """The forward passes' context (a no-op in full precision)."""
        return autocast(self.device, self.precision)

    def backward(self, loss: torch.Tensor) -> None:
        """``loss.backward()``, through the fp16 loss scale when there is one."""
        (self.scaler.scale(loss) if self.scaler is not None else loss).backward()
