"""The training loop shared by every neural model and every loss.

AdamW (decay on weight matrices only, not on biases, norms or 1-D parameters), optional
warm-up and linear decay, gradient clipping, early stopping on validation micro-F1 with a
fitted decision, best-weights keeping, seeded and resumable (``resume=True`` continues from
the last completed epoch and reaches the same final scores as an uninterrupted run).
"""
from __future__ import annotations

import logging
import math
import time
import warnings
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from ..classifier import Classifier, build_network
from ..data.examples import Example
from ..data.labels import LabelSpace
from ..decision import make_decision
from ..io import to_json, atomic_write_text
from ..losses import FGM, gradient_penalty, loss_config, make_loss, rdrop_kl
from ..metrics import micro_macro
from ..models.registry import model_spec
from ..models.networks import prior_logits
from .checkpoint import load_checkpoint, save_checkpoint
from .optim import TrainingOptimizer, linear_schedule
from .config import TrainConfig

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
        warnings.warn(f"{empty} training text(s) are empty; they are kept (they teach the label priors)", UserWarning, stacklevel=3)
    unlabelled = sum(1 for e in train if not e.labels)
    if unlabelled:
        log.info("%d training text(s) carry no label; kept as all-negative examples", unlabelled)


class Trainer:
    """Train a :class:`~mltc.classifier.Classifier` from examples.

    >>> clf = Trainer(TrainConfig(model="tfidf-linear", loss="db")).fit(train, validation)
    """

    def __init__(self, config: TrainConfig | None = None, progress: bool | None = None) -> None:
        self.config = config or TrainConfig()
        self.progress = progress

    def fit(self, train: Sequence[Example], validation: Sequence[Example], out_dir: str | Path | None = None,
            resume: bool = False, labels: Sequence[str] | None = None) -> Classifier:
        spec = model_spec(self.config.model)
        cfg = self.config.resolved(spec.training)
        check_training_data(train, validation)
        set_seed(cfg.seed)
        out = Path(out_dir) if out_dir else None

        space = LabelSpace(labels).fit(e.labels for e in train)
        featurizer = spec.featurizer(**{**spec.featurizer_options, **cfg.featurizer_options}).fit([e.text for e in train])
        X_tr, X_va = featurizer.encode([e.text for e in train]), featurizer.encode([e.text for e in validation])
        Y_tr = torch.from_numpy(space.encode(e.labels for e in train).Y.astype(np.float32))
        val_enc = space.encode(e.labels for e in validation)
        if val_enc.unseen:
            warnings.warn(f"validation labels unseen in training are ignored for model selection: "
                          f"{dict(val_enc.unseen)}", UserWarning, stacklevel=2)
        Y_va = val_enc.Y

        net_spec = {"class": spec.network.__name__, "input_size": featurizer.input_size, "num_labels": space.num_labels,
                    "options": {**spec.network_options, **cfg.network_options}}
        network = build_network(net_spec)
        loss_options = dict(cfg.loss_options)
        if cfg.gp_epsilon > 0:  # the gradient penalty differentiates through the loss's backward
            loss_options["fused"] = False
        loss_fn = make_loss(cfg.loss, space.class_freq_, space.train_num_, cfg.loss_preset, train_targets=Y_tr,
                            **loss_options)
        activation = "sigmoid"
        if hasattr(network, "output_bias"):
            with torch.no_grad():
                network.output_bias().copy_(prior_logits(space.class_freq_, space.train_num_))
        total = math.ceil(len(train) / cfg.batch_size) * cfg.epochs
        optimizer = TrainingOptimizer(network, cfg.lr, cfg.weight_decay,
                                      linear_schedule(total, int(cfg.warmup_ratio * total), cfg.schedule == "linear"),
                                      cfg.optimizer)
        fgm = FGM(network.embedding, cfg.fgm_epsilon) if cfg.fgm_epsilon > 0 else None

        trainer_state: dict[str, Any] = {"epoch": 0, "best_score": -1.0, "best_epoch": 0, "bad_epochs": 0, "history": []}
        best_state: dict[str, torch.Tensor] | None = None
        ckpt = out / "checkpoint" if out else None
        if resume:
            if ckpt is None or not (ckpt / "state.json").exists():
                raise FileNotFoundError(f"nothing to resume: no checkpoint under {ckpt}")
            trainer_state, best_state = load_checkpoint(ckpt, network, optimizer)
            log.info("resumed after epoch %d", trainer_state["epoch"])

        def scores_of(X) -> np.ndarray:
            network.eval()
            parts = []
            with torch.no_grad():
                for s in range(0, len(validation), cfg.eval_batch_size):
                    rows = np.arange(s, min(s + cfg.eval_batch_size, len(validation)))
                    parts.append(torch.sigmoid(network(**featurizer.batch(X, rows)).float()).numpy())
            return np.concatenate(parts)

        def compute_loss(batch, y) -> torch.Tensor:
            logits = network(**batch)
            if cfg.rdrop_alpha <= 0:
                return loss_fn(logits, y)
            logits2 = network(**batch)  # a second dropout pass (R-Drop)
            return 0.5 * (loss_fn(logits, y) + loss_fn(logits2, y)) + cfg.rdrop_alpha * rdrop_kl(logits, logits2)

        started = time.time()
        n = len(train)
        stop = trainer_state["bad_epochs"] >= cfg.patience and trainer_state["epoch"] >= cfg.min_epochs
        while trainer_state["epoch"] < cfg.epochs and not stop:
            epoch = trainer_state["epoch"] + 1
            network.train()
            order = torch.randperm(n, generator=torch.Generator().manual_seed(cfg.seed * 100_003 + epoch)).numpy()
            total_loss, t0 = 0.0, time.time()
            bar = tqdm(range(0, n, cfg.batch_size), desc=f"epoch {epoch}/{cfg.epochs}", leave=False,
                       disable=(not self.progress) if self.progress is not None else None)
            for s in bar:
                rows = order[s:s + cfg.batch_size]
                batch = featurizer.batch(X_tr, rows)
                y = Y_tr[rows]
                optimizer.zero_grad()
                loss = compute_loss(batch, y)
                if cfg.gp_epsilon > 0:
                    loss = loss + gradient_penalty(loss, network.embedding.weight, cfg.gp_epsilon)
                # SGD steps on the sum over the batch's entries, so its lr is per (text, label)
                scale = y.numel() if cfg.optimizer == "sgd" else 1.0
                (loss * scale).backward()
                if fgm is not None and fgm.attack():
                    (compute_loss(batch, y) * scale).backward()
                    fgm.restore()
                if cfg.clip_norm:
                    optimizer.clip_grad_norm(cfg.clip_norm)
                optimizer.step()
                total_loss += loss.item() * len(rows)
                bar.set_postfix(loss=f"{total_loss / max(1, s + len(rows)):.4f}")
            bar.close()
            val_scores = scores_of(X_va)
            decision = make_decision(cfg.decision, activation, **cfg.decision_options).fit(val_scores, Y_va)
            val = micro_macro(Y_va, decision.predict(val_scores))
            record = {"epoch": epoch, "train_loss": total_loss / n, "val_micro_f1": val["micro_f1"],
                      "val_macro_f1": val["macro_f1"], "lr": optimizer.lr,
                      "seconds": round(time.time() - t0, 3)}
            trainer_state["history"].append(record)
            if val["micro_f1"] > trainer_state["best_score"]:
                trainer_state.update(best_score=val["micro_f1"], best_epoch=epoch, bad_epochs=0)
                best_state = {k: v.detach().clone() for k, v in network.state_dict().items()}
            else:
                trainer_state["bad_epochs"] += 1
            trainer_state["epoch"] = epoch
            log.info("epoch %d loss %.5f val micro-F1 %.2f macro-F1 %.2f", epoch, record["train_loss"],
                     val["micro_f1"], val["macro_f1"])
            if self.progress:
                tqdm.write(f"epoch {epoch}: loss {record['train_loss']:.5f}  val micro-F1 {val['micro_f1']:.2f}  "
                           f"macro-F1 {val['macro_f1']:.2f}")
            if out is not None:
                save_checkpoint(ckpt, network, best_state, optimizer, trainer_state)
                atomic_write_text(out / "log.jsonl", "".join(to_json(r, None) + "\n" for r in trainer_state["history"]))
            stop = trainer_state["bad_epochs"] >= cfg.patience and epoch >= cfg.min_epochs

        if best_state is not None:
            network.load_state_dict(best_state)
        val_scores = scores_of(X_va)
        decision = make_decision(cfg.decision, activation, **cfg.decision_options).fit(val_scores, Y_va)
        config = cfg.to_dict()
        config["loss_resolved"] = loss_config(cfg.loss, cfg.loss_preset, **cfg.loss_options)
        metrics = {"validation": micro_macro(Y_va, decision.predict(val_scores)),
                   "best_epoch": trainer_state["best_epoch"], "epochs_run": trainer_state["epoch"],
                   "train_seconds": round(time.time() - started, 3), "history": trainer_state["history"]}
        clf = Classifier(featurizer, network, net_spec, space, decision, cfg.model, activation, config, metrics)
        if out is not None:
            clf.save(out / "model")
        return clf
