"""The training loop shared by every neural model, every loss and every task.

AdamW (decay on weight matrices only, not on biases, norms or 1-D parameters; lazy Adam for
sparse tables), optional warm-up and linear decay, gradient clipping, early stopping on a
validation score with best-weights keeping, seeded and resumable (``resume=True`` continues
from the last completed epoch and reaches the same final scores as an uninterrupted run).
Mixed precision (bf16 autocast on CPU/GPU, fp16 with loss scaling on GPU: one
:class:`~mltc.training.device.MixedPrecision`) and gradient accumulation; multi-process data
parallelism comes from Hugging Face Accelerate (:mod:`mltc.training.device`): under
``accelerate launch`` each process takes its share of every global batch, gradients are averaged,
and only the main process writes files.

Everything else a step may do is a hook (:mod:`mltc.training.hooks`): R-Drop, FGM and the
embedding gradient penalty are built from the config by
:func:`~mltc.training.hooks.hooks_from_config`, and ``Trainer(config, hooks=[...])`` adds yours
(an EMA, logging, another loss term) without editing the loop.

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
import scipy.sparse as sp
import torch
from tqdm.auto import tqdm

from ..classifier import Classifier, build_network
from ..io import atomic_write_text, to_json
from ..models.linear_weights import LinearWeights, is_linear_spec
from ..models.registry import ENCODER_MODELS, model_spec
from ..options import validate_train_config
from ..tasks import MultiLabelTask, Task
from ..tasks.multilabel import check_training_data  # noqa: F401 (its former home)
from .checkpoint import load_checkpoint, run_fingerprint, save_checkpoint
from .config import TrainConfig, filled
from .device import MixedPrecision, SingleProcess, make_accelerator, move_to_device  # noqa: F401 (SingleProcess: tests import it here)
from .hooks import TrainingContext, TrainingHook, hooks_from_config
from .optim import TrainingOptimizer, linear_schedule

log = logging.getLogger("mltc")


def set_seed(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % (2**32))


def build_model_parts(spec, cfg: TrainConfig, train_texts: Sequence[str], num_outputs: int,
                      double_backward: bool = False) -> tuple[Any, dict[str, Any]]:
    """Fit the model's featurizer on the training texts and describe its network (class, sizes, options).

    The model defaults are merged under the config's options; encoder models get ``encoder``
    (and eager attention when a hook needs double backward: ``double_backward``).
    """
    f_opts = {**spec.featurizer_options, **cfg.featurizer_options}
    n_opts = {**spec.network_options, **cfg.network_options}
    if cfg.model in ENCODER_MODELS:
        if not cfg.encoder:
            raise ValueError(f"model {cfg.model!r} needs an encoder: a hub id or a local folder (--encoder)")
        f_opts["encoder"] = cfg.encoder
        if cfg.model == "transformer":
            n_opts["encoder"] = cfg.encoder
            if double_backward:  # through attention
                n_opts["attn_implementation"] = "eager"
    featurizer = spec.featurizer_class(**f_opts).fit(train_texts)
    net_spec = {"class": spec.network_class.__name__, "input_size": featurizer.input_size, "num_labels": num_outputs,
                "options": {**n_opts, **featurizer.network_options()}}
    return featurizer, net_spec


def fitted_task(task: Task, train: Sequence[Any], validation: Sequence[Any], labels: Sequence[str] | None,
                cfg: TrainConfig) -> Task:
    """``task.fitted`` with the resolved config; a task class written before ``fitted`` took ``config``
    (a registered extension) is fitted without it."""
    import inspect
    params = inspect.signature(task.fitted).parameters
    if "config" in params or any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return task.fitted(train, validation, labels, config=cfg)
    return task.fitted(train, validation, labels)


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
    hooks : sequence of TrainingHook, optional
        Hooks called after those the config asks for (:func:`~mltc.training.hooks.hooks_from_config`),
        in this order (:mod:`mltc.training.hooks`).
    """

    def __init__(self, config: TrainConfig | None = None, progress: bool | None = None, task: Task | None = None,
                 hooks: Sequence[TrainingHook] = ()) -> None:
        self.config = config or TrainConfig()
        self.progress = progress
        self.task = task if task is not None else MultiLabelTask()
        self.hooks = list(hooks or ())
        wrong = [type(h).__name__ for h in self.hooks if not isinstance(h, TrainingHook)]
        if wrong:
            raise TypeError(f"hooks must be TrainingHook objects (mltc.training.hooks), got {', '.join(wrong)}")

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

        task = fitted_task(self.task, train, validation, labels, cfg)
        hooks = [*hooks_from_config(cfg), *self.hooks]
        double_backward = any(h.double_backward for h in hooks)
        featurizer, net_spec = build_model_parts(spec, cfg, [e.text for e in train], task.num_outputs, double_backward)
        X_tr, X_va = featurizer.encode([e.text for e in train]), featurizer.encode([e.text for e in validation])
        Y_tr = task.train_targets(train)
        Y_va = task.validation_targets(validation)

        network = build_network(net_spec)
        # the loss first: the output bias starts at the priors the loss reads (graded: softmax or sigmoid)
        loss_cfg = (dataclasses.replace(cfg, loss_options={**cfg.loss_options, "fused": False})  # differentiable twice
                    if double_backward else cfg)
        loss_fn = task.make_loss(loss_cfg, Y_tr).to(acc.device)  # its buffers (frequencies, NTR bias, CB weights) too
        task.init_network(network, Y_tr)
        network.to(acc.device)
        total = math.ceil(len(train) / batch_size) * epochs
        optimizer = TrainingOptimizer(network, filled(cfg.lr, "lr"), filled(cfg.weight_decay, "weight_decay"),
                                      linear_schedule(total, int(cfg.warmup_ratio * total), cfg.schedule == "linear"),
                                      filled(cfg.optimizer, "optimizer"))
        model = acc.prepare_model(network) if world > 1 else network  # DDP wrapper across processes
        precision = MixedPrecision(acc.device, cfg.precision)
        ctx = TrainingContext(cfg, task, network, model, loss_fn, optimizer, precision, acc, hooks)
        for hook in hooks:
            hook.on_fit_start(ctx)

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
        ctx.step = state["epoch"] * math.ceil(len(train) / batch_size)

        def to_device(batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
            return move_to_device(batch, acc.device)

        def val_scores() -> np.ndarray:
            network.eval()
            parts = []
            with torch.no_grad(), precision.autocast():
                for s in range(0, len(validation), cfg.eval_batch_size):
                    rows = np.arange(s, min(s + cfg.eval_batch_size, len(validation)))
                    parts.append(task.torch_scores(network(**to_device(featurizer.batch(X_va, rows))).float()).cpu().numpy())
            return np.concatenate(parts)

        started = time.time()
        n = len(train)
        stop = state["bad_epochs"] >= cfg.patience and state["epoch"] >= cfg.min_epochs
        while state["epoch"] < epochs and not stop:
            epoch = ctx.epoch = state["epoch"] + 1
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
                    # SGD steps on the sum of the loss's entries (multi-label: per (text, label))
                    scale = task.sgd_scale(len(rows)) if cfg.optimizer == "sgd" else 1.0
                    ctx.weight = scale * len(mb) / len(local)
                    with sync:
                        loss = ctx.compute_loss(batch, y)  # the hooks' (R-Drop), else one forward pass
                        for hook in hooks:
                            loss = hook.loss(ctx, batch, y, loss)  # added terms (the gradient penalty)
                        ctx.backward(loss)
                        for hook in hooks:
                            hook.after_backward(ctx, batch, y)  # e.g. FGM's adversarial pass
                    batch_loss += loss.item() * len(mb)
                optimizer.update(precision.scaler, cfg.clip_norm)  # unscale, clip, step (skipped on inf), rescale
                ctx.step += 1
                for hook in hooks:
                    hook.on_step_end(ctx)
                total_loss += batch_loss * world
                bar.set_postfix(loss=f"{total_loss / max(1, s + len(rows)):.4f}")
            bar.close()
            if acc.device.type == "cuda":  # queued kernels belong to this epoch's training time
                torch.cuda.synchronize(acc.device)
            train_seconds = time.time() - t0
            fields, score, text = task.validate(cfg, val_scores(), Y_va)
            record = {"epoch": epoch, "train_loss": total_loss / n, **fields, "lr": optimizer.lr,
                      "seconds": round(time.time() - t0, 3), "train_seconds": round(train_seconds, 3)}
            for hook in hooks:
                hook.on_epoch_end(ctx, record)
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
        for hook in hooks:
            hook.on_fit_end(ctx)
        # a plain linear network is kept as numpy weights (scored with scipy, saved and reloaded without
        # torch): its final decision is fitted on the scores it will give from now on
        linear = (LinearWeights.from_module(network.to("cpu")) if is_linear_spec(net_spec) and sp.issparse(X_va)
                  else None)
        final_scores = task.scores(linear.logits(X_va)) if linear is not None else val_scores()
        validation_metrics = task.finish(cfg, final_scores, Y_va)  # fits the final decision
        config = cfg.to_dict()
        config["loss_resolved"] = task.loss_resolved(cfg)
        metrics = {"validation": validation_metrics, "best_epoch": state["best_epoch"],
                   "epochs_run": state["epoch"], "train_seconds": round(time.time() - started, 3),
                   "processes": world, "device": str(acc.device), "history": state["history"]}
        export_options = getattr(network, "export_options", None)  # a method of the networks that have one
        if callable(export_options):
            net_spec["options"] = export_options()
        network.to("cpu").eval()
        clf = Classifier(featurizer, linear if linear is not None else network, net_spec, model_name=cfg.model,
                         config=config, metrics=metrics, task=task)
        if out is not None and main:
            clf.save(out / "model")
        acc.wait_for_everyone()
        if ckpt is not None and main and not cfg.keep_checkpoint and ckpt.exists():
            shutil.rmtree(ckpt)  # the model is saved: nothing left to resume (keep_checkpoint=True keeps it)
        return clf
