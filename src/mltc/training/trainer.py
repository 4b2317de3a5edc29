"""The training loop shared by every neural model, every loss and every task.

AdamW (decay on weight matrices only, not on biases, norms or 1-D parameters; lazy Adam for
sparse tables), optional warm-up and linear decay, gradient clipping, early stopping on a
validation score with best-weights keeping, seeded and resumable (``resume=True`` continues
from the last completed epoch and reaches the same final scores as an uninterrupted run).
Mixed precision (bf16 autocast on CPU/GPU, fp16 with loss scaling on GPU), gradient
accumulation, R-Drop, FGM and the embedding gradient penalty; multi-process data parallelism
comes from Hugging Face Accelerate (:mod:`mltc.training.device`): under ``accelerate launch``
each process takes its share of every global batch, gradients are averaged, and only the main
process writes files.

What the outputs mean is the task's (:mod:`mltc.tasks`): it encodes the targets, builds the
loss (and the R-Drop term), starts the output bias, turns logits into scores, gives the
validation score early stopping follows (multi-label: micro-F1 under the fitted decision;
graded: mean per-aspect macro-F1) and fits the final decision.
"""
from __future__ import annotations

import dataclasses
import logging
import math
import os
import shutil
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from ..classifier import Classifier, build_network
from ..io import atomic_write_text, to_json
from ..losses import FGM, gradient_penalty
from ..models.registry import ENCODER_MODELS, model_spec
from ..options import validate_train_config
from ..tasks import MultiLabelTask, Task
from ..tasks.multilabel import check_training_data  # noqa: F401 (its former home)
from .checkpoint import load_checkpoint, run_fingerprint, save_checkpoint
from .config import TrainConfig, filled
from .device import SingleProcess, autocast, launched_world_size, make_accelerator, move_to_device  # noqa: F401
from .optim import TrainingOptimizer, linear_schedule

log = logging.getLogger("mltc")


def set_seed(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % (2**32))


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


def embedding_weight(network: torch.nn.Module, what: str) -> torch.Tensor:
    """The network's word-embedding matrix (``network.embedding.weight``), which FGM and the gradient
    penalty act on; ``ValueError`` naming ``what`` needs it when the network has none."""
    weight = getattr(getattr(network, "embedding", None), "weight", None)
    if not isinstance(weight, torch.Tensor):
        raise ValueError(f"{what} needs a network with an embedding table (network.embedding.weight); "
                         f"{type(network).__name__} has none")
    return weight


class Trainer:
    """Train a :class:`~mltc.classifier.Classifier` from examples.

    >>> clf = Trainer(TrainConfig(model="tfidf-linear", loss="db")).fit(train, validation)
    >>> clf = Trainer(TrainConfig(model="textcnn"), task=GradedTask(aspects, levels)).fit(train, validation)

    Parameters
    ----------
    config : TrainConfig
    progress : bool, optional
        A progress bar (default: when on a terminal).
    task : Task, optional
        What the model predicts (default multi-label); options the task cannot honour are
        refused before any work (:meth:`~mltc.tasks.Task.check_config`).
    """

    def __init__(self, config: TrainConfig | None = None, progress: bool | None = None, task: Task | None = None) -> None:
        self.config = config or TrainConfig()
        self.progress = progress
        self.task = task if task is not None else MultiLabelTask()

    def fit(self, train: Sequence[Any], validation: Sequence[Any], out_dir: str | Path | None = None,
            resume: bool = False, labels: Sequence[str] | None = None) -> Classifier:
        validate_train_config(self.config)
        self.task.check_config(self.config)
        spec = model_spec(self.config.model)
        # the task's own settings (graded: its loss, ce when left out) before the model's and fitter's defaults
        cfg: TrainConfig = self.task.resolve(self.config).resolved(spec.training)
        launched = os.environ.get("ACCELERATE_MIXED_PRECISION", "no")
        if cfg.precision == "no" and launched in ("bf16", "fp16"):  # `accelerate launch --mixed_precision ...`
            cfg = dataclasses.replace(cfg, precision=launched)
        self.task.check_data(train, validation)
        if cfg.grad_accum < 1:
            raise ValueError("grad_accum must be at least 1")
        # filled by the resolution (the model's or the neural fitter's defaults)
        epochs, batch_size = filled(cfg.epochs, "epochs"), filled(cfg.batch_size, "batch_size")
        set_seed(cfg.seed)
        if cfg.threads:
            torch.set_num_threads(int(cfg.threads))
        acc = make_accelerator(cfg)
        main, world, rank = acc.is_main_process, acc.num_processes, acc.process_index
        out = Path(out_dir) if out_dir else None

        task = self.task.fitted(train, validation, labels)
        featurizer, net_spec = build_model_parts(spec, cfg, [e.text for e in train], task.num_outputs)
        X_tr, X_va = featurizer.encode([e.text for e in train]), featurizer.encode([e.text for e in validation])
        Y_tr = task.train_targets(train)
        Y_va = task.validation_targets(validation)

        network = build_network(net_spec)
        # the loss first: the output bias starts at the priors the loss reads (graded: softmax or sigmoid)
        loss_fn = task.make_loss(cfg, Y_tr).to(acc.device)  # its buffers (frequencies, NTR bias, CB weights) too
        task.init_network(network, Y_tr)
        network.to(acc.device)
        total = math.ceil(len(train) / batch_size) * epochs
        optimizer = TrainingOptimizer(network, filled(cfg.lr, "lr"), filled(cfg.weight_decay, "weight_decay"),
                                      linear_schedule(total, int(cfg.warmup_ratio * total), cfg.schedule == "linear"),
                                      filled(cfg.optimizer, "optimizer"))
        model = acc.prepare_model(network) if world > 1 else network  # DDP wrapper across processes
        scaler = torch.amp.GradScaler(acc.device.type) if cfg.precision == "fp16" else None
        fgm = FGM(embedding_weight(network, "FGM"), cfg.fgm_epsilon) if cfg.fgm_epsilon > 0 else None
        gp_weight = embedding_weight(network, "the gradient penalty") if cfg.gp_epsilon > 0 else None

        state: dict[str, Any] = {"epoch": 0, "best_score": -1.0, "best_epoch": 0, "bad_epochs": 0, "history": []}
        best_state: dict[str, torch.Tensor] | None = None
        ckpt = out / "checkpoint" if out else None
        # resume refuses another run's checkpoint
        run = run_fingerprint(cfg, train, validation, task.fingerprint_names(), target=task.target_text)
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
                    parts.append(task.torch_scores(network(**to_device(featurizer.batch(X_va, rows))).float()).cpu().numpy())
            return np.concatenate(parts)

        def compute_loss(batch, y) -> torch.Tensor:
            with autocast(acc.device, cfg.precision):
                logits = model(**batch)
                if cfg.rdrop_alpha <= 0:
                    return loss_fn(logits.float(), y)
                logits2 = model(**batch)  # a second dropout pass (R-Drop)
            return (0.5 * (loss_fn(logits.float(), y) + loss_fn(logits2.float(), y))
                    + cfg.rdrop_alpha * task.rdrop_kl(logits, logits2))

        def backward(loss: torch.Tensor) -> None:
            (scaler.scale(loss) if scaler is not None else loss).backward()

        started = time.time()
        n = len(train)
        stop = state["bad_epochs"] >= cfg.patience and state["epoch"] >= cfg.min_epochs
        while state["epoch"] < epochs and not stop:
            epoch = state["epoch"] + 1
            network.train()
            order = torch.randperm(n, generator=torch.Generator().manual_seed(cfg.seed * 100_003 + epoch)).numpy()
            total_loss, t0 = 0.0, time.time()
            bar = tqdm(range(0, n, batch_size), desc=f"epoch {epoch}/{epochs}", leave=False,
                       disable=(not main) or ((not self.progress) if self.progress is not None else None))
            for s in bar:
                rows = order[s:s + batch_size]
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
                        if gp_weight is not None:
                            loss = loss + gradient_penalty(loss, gp_weight, cfg.gp_epsilon)
                        # SGD steps on the sum of the loss's entries (multi-label: per (text, label))
                        scale = task.sgd_scale(len(rows)) if cfg.optimizer == "sgd" else 1.0
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
            fields, score, text = task.validate(cfg, val_scores(), Y_va)
            record = {"epoch": epoch, "train_loss": total_loss / n, **fields, "lr": optimizer.lr,
                      "seconds": round(time.time() - t0, 3), "train_seconds": round(train_seconds, 3)}
            state["history"].append(record)
            if score > state["best_score"]:
                state.update(best_score=score, best_epoch=epoch, bad_epochs=0)
                best_state = {k: v.detach().cpu().clone() for k, v in network.state_dict().items()}
            else:
                state["bad_epochs"] += 1
            state["epoch"] = epoch
            log.info("epoch %d loss %.5f %s", epoch, record["train_loss"], text)
            if self.progress and main:
                tqdm.write(f"epoch {epoch}: loss {record['train_loss']:.5f}  {text}")
            if ckpt is not None and main:  # ckpt is OUT/checkpoint
                save_checkpoint(ckpt, network, best_state, optimizer, state, run)
                atomic_write_text(ckpt.parent / "log.jsonl", "".join(to_json(r, None) + "\n" for r in state["history"]))
            stop = state["bad_epochs"] >= cfg.patience and epoch >= cfg.min_epochs

        if best_state is not None:
            network.load_state_dict(best_state)
        validation_metrics = task.finish(cfg, val_scores(), Y_va)  # fits the final decision
        config = cfg.to_dict()
        config["loss_resolved"] = task.loss_resolved(cfg)
        metrics = {"validation": validation_metrics, "best_epoch": state["best_epoch"],
                   "epochs_run": state["epoch"], "train_seconds": round(time.time() - started, 3),
                   "processes": world, "device": str(acc.device), "history": state["history"]}
        export_options = getattr(network, "export_options", None)  # a method of the networks that have one
        if callable(export_options):
            net_spec["options"] = export_options()
        network.to("cpu").eval()
        clf = Classifier(featurizer, network, net_spec, model_name=cfg.model, config=config, metrics=metrics, task=task)
        if out is not None and main:
            clf.save(out / "model")
        acc.wait_for_everyone()
        if ckpt is not None and main and not cfg.keep_checkpoint and ckpt.exists():
            shutil.rmtree(ckpt)  # the model is saved: nothing left to resume (keep_checkpoint=True keeps it)
        return clf
