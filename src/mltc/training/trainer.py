"""The training loop shared by every neural model and every loss.

AdamW (decay on weight matrices only, not on biases, norms or 1-D parameters; lazy Adam for
sparse tables), optional warm-up and linear decay, gradient clipping, early stopping on
validation micro-F1 with a fitted decision, best-weights keeping, seeded and resumable
(``resume=True`` continues from the last completed epoch and reaches the same final scores
as an uninterrupted run). Mixed precision (bf16 autocast on CPU/GPU, fp16 with loss scaling
on GPU), gradient accumulation; multi-process data parallelism comes from Hugging Face
Accelerate: under ``accelerate launch`` each process takes its share of every global batch,
gradients are averaged, and only the main process writes files. A single process needs
neither Accelerate nor transformers (see :class:`SingleProcess`).
"""
from __future__ import annotations

import dataclasses
import logging
import math
import os
import time
import warnings
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from ..classifier import Classifier, build_network
from ..data.examples import Example
from ..data.labels import LabelSpace
from ..decision import make_decision
from ..io import atomic_write_text, summarize_names, to_json
from ..losses import FGM, gradient_penalty, loss_config, make_loss, rdrop_kl
from ..metrics import micro_macro
from ..models.networks import prior_logits
from ..models.registry import ENCODER_MODELS, model_spec
from ..options import validate_train_config
from .checkpoint import load_checkpoint, run_fingerprint, save_checkpoint
from .config import TrainConfig
from .optim import TrainingOptimizer, linear_schedule

log = logging.getLogger("mltc")


def set_seed(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % (2**32))


def check_training_data(train: Sequence[Example], validation: Sequence[Example]) -> None:
    if not train:
        raise ValueError("no training texts")
    if not validation:
        raise ValueError("no validation texts: thresholds and early stopping need a validation split")
    empty = sum(1 for e in train if not e.text.strip())
    if empty:
        warnings.warn(f"{empty} training text(s) are empty; they are kept (they teach the label priors)", UserWarning,
                      stacklevel=3)
    unlabelled = sum(1 for e in train if not e.labels)
    if unlabelled:
        log.info("%d training text(s) carry no label; kept as all-negative examples", unlabelled)


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


def build_model_parts(spec, cfg: TrainConfig, train_texts: Sequence[str], num_outputs: int) -> tuple[Any, dict[str, Any]]:
    """Fit the model's featurizer on the training texts and describe its network (class, sizes, options).

    The model defaults are merged under the config's options; encoder models get ``encoder``
    (and eager attention when the gradient penalty needs double backward).
    """
    f_opts = {**spec.featurizer_options, **cfg.featurizer_options}
    n_opts = {**spec.network_options, **cfg.network_options}
    if cfg.model in ENCODER_MODELS:
        if not cfg.encoder:
            raise ValueError(f"model {cfg.model!r} needs an encoder: a hub id or a local folder (--encoder)")
        f_opts["encoder"] = cfg.encoder
        if cfg.model == "transformer":
            n_opts["encoder"] = cfg.encoder
            if cfg.gp_epsilon > 0:  # double backward through attention
                n_opts["attn_implementation"] = "eager"
    featurizer = spec.featurizer(**f_opts).fit(train_texts)
    net_spec = {"class": spec.network.__name__, "input_size": featurizer.input_size, "num_labels": num_outputs,
                "options": {**n_opts, **featurizer.network_options()}}
    return featurizer, net_spec


class Trainer:
    """Train a :class:`~mltc.classifier.Classifier` from examples.

    >>> clf = Trainer(TrainConfig(model="tfidf-linear", loss="db")).fit(train, validation)
    """

    def __init__(self, config: TrainConfig | None = None, progress: bool | None = None) -> None:
        self.config = config or TrainConfig()
        self.progress = progress

    def fit(self, train: Sequence[Example], validation: Sequence[Example], out_dir: str | Path | None = None,
            resume: bool = False, labels: Sequence[str] | None = None) -> Classifier:
        validate_train_config(self.config)
        spec = model_spec(self.config.model)
        cfg = self.config.resolved(spec.training)
        launched = os.environ.get("ACCELERATE_MIXED_PRECISION", "no")
        if cfg.precision == "no" and launched in ("bf16", "fp16"):  # `accelerate launch --mixed_precision ...`
            cfg = dataclasses.replace(cfg, precision=launched)
        check_training_data(train, validation)
        if cfg.grad_accum < 1:
            raise ValueError("grad_accum must be at least 1")
        set_seed(cfg.seed)
        if cfg.threads:
            torch.set_num_threads(int(cfg.threads))
        acc = make_accelerator(cfg)
        main, world, rank = acc.is_main_process, acc.num_processes, acc.process_index
        out = Path(out_dir) if out_dir else None

        space = LabelSpace(labels).fit(e.labels for e in train)
        featurizer, net_spec = build_model_parts(spec, cfg, [e.text for e in train], space.num_labels)
        X_tr, X_va = featurizer.encode([e.text for e in train]), featurizer.encode([e.text for e in validation])
        Y_tr = torch.from_numpy(space.encode(e.labels for e in train).Y.astype(np.float32))
        val_enc = space.encode(e.labels for e in validation)
        if val_enc.unseen:
            warnings.warn(f"{summarize_names(val_enc.unseen)} validation label(s) unseen in training are ignored "
                          "for model selection", UserWarning, stacklevel=2)
        Y_va = val_enc.Y

        network = build_network(net_spec)
        if hasattr(network, "output_bias"):
            with torch.no_grad():
                network.output_bias().copy_(prior_logits(space.class_freq_, space.train_num_))
        network.to(acc.device)
        loss_options = dict(cfg.loss_options)
        if cfg.gp_epsilon > 0:  # the gradient penalty differentiates through the loss's backward
            loss_options["fused"] = False
        loss_fn = make_loss(cfg.loss, space.class_freq_, space.train_num_, cfg.loss_preset, train_targets=Y_tr,
                            **loss_options).to(acc.device)  # its buffers (frequencies, NTR bias, CB weights) too
        activation = "sigmoid"
        total = math.ceil(len(train) / cfg.batch_size) * cfg.epochs
        optimizer = TrainingOptimizer(network, cfg.lr, cfg.weight_decay,
                                      linear_schedule(total, int(cfg.warmup_ratio * total), cfg.schedule == "linear"),
                                      cfg.optimizer)
        model = acc.prepare_model(network) if world > 1 else network  # DDP wrapper across processes
        scaler = torch.amp.GradScaler(acc.device.type) if cfg.precision == "fp16" else None
        fgm = FGM(network.embedding, cfg.fgm_epsilon) if cfg.fgm_epsilon > 0 else None

        state: dict[str, Any] = {"epoch": 0, "best_score": -1.0, "best_epoch": 0, "bad_epochs": 0, "history": []}
        best_state: dict[str, torch.Tensor] | None = None
        ckpt = out / "checkpoint" if out else None
        run = run_fingerprint(cfg, train, validation, space.labels)  # resume refuses another run's checkpoint
        if resume:
            if ckpt is None or not (ckpt / "state.json").exists():
                raise FileNotFoundError(f"nothing to resume: no checkpoint under {ckpt}")
            state, best_state = load_checkpoint(ckpt, network, optimizer, run)
            network.to(acc.device)
            log.info("resumed after epoch %d", state["epoch"])

        def to_device(batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
            return move_to_device(batch, acc.device)

        def val_scores() -> np.ndarray:
            network.eval()
            parts = []
            with torch.no_grad(), autocast(acc.device, cfg.precision):
                for s in range(0, len(validation), cfg.eval_batch_size):
                    rows = np.arange(s, min(s + cfg.eval_batch_size, len(validation)))
                    parts.append(torch.sigmoid(network(**to_device(featurizer.batch(X_va, rows))).float()).cpu().numpy())
            return np.concatenate(parts)

        def compute_loss(batch, y) -> torch.Tensor:
            with autocast(acc.device, cfg.precision):
                logits = model(**batch)
                if cfg.rdrop_alpha <= 0:
                    return loss_fn(logits.float(), y)
                logits2 = model(**batch)  # a second dropout pass (R-Drop)
            return 0.5 * (loss_fn(logits.float(), y) + loss_fn(logits2.float(), y)) + cfg.rdrop_alpha * rdrop_kl(logits, logits2)

        def backward(loss: torch.Tensor) -> None:
            (scaler.scale(loss) if scaler is not None else loss).backward()

        started = time.time()
        n = len(train)
        stop = state["bad_epochs"] >= cfg.patience and state["epoch"] >= cfg.min_epochs
        while state["epoch"] < cfg.epochs and not stop:
            epoch = state["epoch"] + 1
            network.train()
            order = torch.randperm(n, generator=torch.Generator().manual_seed(cfg.seed * 100_003 + epoch)).numpy()
            total_loss, t0 = 0.0, time.time()
            bar = tqdm(range(0, n, cfg.batch_size), desc=f"epoch {epoch}/{cfg.epochs}", leave=False,
                       disable=(not main) or ((not self.progress) if self.progress is not None else None))
            for s in bar:
                rows = order[s:s + cfg.batch_size]
                local = rows[rank::world]  # this process's share of the global batch
                micro = [m for m in np.array_split(local, min(cfg.grad_accum, len(local))) if len(m)]
                optimizer.zero_grad()
                batch_loss = 0.0
                for k, mb in enumerate(micro):
                    sync = acc.no_sync(model) if (world > 1 and k < len(micro) - 1) else nullcontext()
                    batch = to_device(featurizer.batch(X_tr, mb))
                    y = move_to_device({"y": Y_tr[mb]}, acc.device)["y"]
                    with sync:
                        loss = compute_loss(batch, y)
                        if cfg.gp_epsilon > 0:
                            loss = loss + gradient_penalty(loss, network.embedding.weight, cfg.gp_epsilon)
                        # SGD steps on the sum over the batch's entries, so its lr is per (text, label)
                        scale = (len(rows) * space.num_labels) if cfg.optimizer == "sgd" else 1.0
                        backward(loss * (scale * len(mb) / len(local)))
                        if fgm is not None and fgm.attack():
                            backward(compute_loss(batch, y) * (scale * len(mb) / len(local)))
                            fgm.restore()
                    batch_loss += loss.item() * len(mb)
                optimizer.update(scaler, cfg.clip_norm)  # unscale, clip, step (skipped on inf), rescale
                total_loss += batch_loss * world
                bar.set_postfix(loss=f"{total_loss / max(1, s + len(rows)):.4f}")
            bar.close()
            if acc.device.type == "cuda":  # queued kernels belong to this epoch's training time
                torch.cuda.synchronize(acc.device)
            train_seconds = time.time() - t0
            scores = val_scores()
            decision = make_decision(cfg.decision, activation, **cfg.decision_options).fit(scores, Y_va)
            val = micro_macro(Y_va, decision.predict(scores))
            record = {"epoch": epoch, "train_loss": total_loss / n, "val_micro_f1": val["micro_f1"],
                      "val_macro_f1": val["macro_f1"], "lr": optimizer.lr, "seconds": round(time.time() - t0, 3),
                      "train_seconds": round(train_seconds, 3)}
            state["history"].append(record)
            if val["micro_f1"] > state["best_score"]:
                state.update(best_score=val["micro_f1"], best_epoch=epoch, bad_epochs=0)
                best_state = {k: v.detach().cpu().clone() for k, v in network.state_dict().items()}
            else:
                state["bad_epochs"] += 1
            state["epoch"] = epoch
            log.info("epoch %d loss %.5f val micro-F1 %.2f macro-F1 %.2f", epoch, record["train_loss"],
                     val["micro_f1"], val["macro_f1"])
            if self.progress and main:
                tqdm.write(f"epoch {epoch}: loss {record['train_loss']:.5f}  val micro-F1 {val['micro_f1']:.2f}  "
                           f"macro-F1 {val['macro_f1']:.2f}")
            if out is not None and main:
                save_checkpoint(ckpt, network, best_state, optimizer, state, run)
                atomic_write_text(out / "log.jsonl", "".join(to_json(r, None) + "\n" for r in state["history"]))
            stop = state["bad_epochs"] >= cfg.patience and epoch >= cfg.min_epochs

        if best_state is not None:
            network.load_state_dict(best_state)
        scores = val_scores()
        decision = make_decision(cfg.decision, activation, **cfg.decision_options).fit(scores, Y_va)
        config = cfg.to_dict()
        config["loss_resolved"] = loss_config(cfg.loss, cfg.loss_preset, **cfg.loss_options)
        metrics = {"validation": micro_macro(Y_va, decision.predict(scores)), "best_epoch": state["best_epoch"],
                   "epochs_run": state["epoch"], "train_seconds": round(time.time() - started, 3),
                   "processes": world, "device": str(acc.device), "history": state["history"]}
        if hasattr(network, "export_options"):
            net_spec["options"] = network.export_options()
        network.to("cpu").eval()
        clf = Classifier(featurizer, network, net_spec, space, decision, cfg.model, activation, config, metrics)
        if out is not None and main:
            clf.save(out / "model")
        acc.wait_for_everyone()
        return clf
