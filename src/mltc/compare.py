"""``mltc compare``: train a grid of losses on one data set and write the paper's tables.

Rows are loss names (each trained with the same model, seed and decision; unless told
otherwise the decision is the paper's, one global threshold fitted on validation micro-F1
over 0.40 ... 0.60, whatever grid the model itself declares) and SVM rows:
``svm`` (LinearSVC, C=1, one global margin threshold tuned on validation micro-F1, the
configuration closest to the paper's SVM row), ``svm-zero`` (margin 0), ``svm-balanced``
and ``svm-balanced-zero`` (``class_weight='balanced'``).
"""
from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path
from typing import Any, Sequence

import torch

from .data.examples import DatasetSplits
from .io import atomic_write_text, write_json
from .losses import canonical_loss_name, loss_decision
from .report.tables import markdown_table2, markdown_table3, table2_rows, table3_rows, to_csv
from .training import TrainConfig, fitter_name, train, used_fields

log = logging.getLogger("mltc")

DEFAULT_ROWS = ("svm", "bce", "fl", "cb", "r-fl", "ntr-fl", "db-0fl", "cb-ntr", "db")
SVM_ROWS: dict[str, dict[str, Any]] = {
    "svm": dict(svm_class_weight=None, decision="global"),
    "svm-zero": dict(svm_class_weight=None, decision="zero"),
    "svm-balanced": dict(svm_class_weight="balanced", decision="global"),
    "svm-balanced-zero": dict(svm_class_weight="balanced", decision="zero"),
}


def row_config(row: str, base: TrainConfig) -> TrainConfig:
    """A row's configuration; without a decision, the paper's one global threshold (ZLPR: its logit 0).

    Options of the base that the row's fitter does not read (e.g. epochs for an SVM row) are
    reset to their defaults for that row: they belong to the other rows of the grid.
    """
    if row in SVM_ROWS:
        cfg = dataclasses.replace(base, model="svm", featurizer_options={}, decision_options={}, **SVM_ROWS[row])
    else:
        loss = canonical_loss_name(row)
        cfg = dataclasses.replace(base, loss=loss, decision=base.decision or loss_decision(loss) or "global")
    fitter = fitter_name(cfg)
    if row not in SVM_ROWS and cfg.decision == "global" and "grid" not in cfg.decision_options and fitter != "svm":
        # the paper's grid (0.40..0.60 on probabilities), whatever the model's; an SVM keeps its margin grid
        cfg = dataclasses.replace(cfg, decision_options={**cfg.decision_options, "grid": "paper"})
    used = used_fields(fitter, cfg.model)
    defaults = TrainConfig()
    return dataclasses.replace(cfg, **{f.name: getattr(defaults, f.name) for f in dataclasses.fields(cfg)
                                       if f.name not in used})


def row_fitters(rows: Sequence[str], base: TrainConfig) -> tuple[str, ...]:
    """The fitters that train the rows of a grid (an option of the base must be read by one of them)."""
    return tuple(dict.fromkeys(fitter_name(row_config(r, base)) for r in rows))


def _cuda_peak_mb(reset: bool = False) -> float | None:
    """Peak GPU memory allocated by tensors since the last reset, in MiB (``None`` without CUDA)."""
    if not torch.cuda.is_available():
        return None
    if reset:
        torch.cuda.reset_peak_memory_stats()
        return None
    return round(torch.cuda.max_memory_allocated() / 2**20, 1)


def _speed(clf, n_train: int, n_test: int, eval_seconds: float) -> dict[str, Any]:
    """Epochs run and texts per second for training (without validation) and test inference."""
    history = clf.metrics.get("history") or []
    train_s = sum(h.get("train_seconds", h.get("seconds", 0.0)) for h in history)
    return {"epochs_run": clf.metrics.get("epochs_run"),
            "train_texts_per_s": round(n_train * len(history) / train_s, 1) if train_s else None,
            "eval_seconds": round(eval_seconds, 3),
            "eval_texts_per_s": round(n_test / eval_seconds, 1) if eval_seconds else None}


def run_compare(data: DatasetSplits, rows: Sequence[str] = DEFAULT_ROWS, base: TrainConfig | None = None,
                out_dir: str | Path | None = None, save_models: bool = False, progress: bool | None = None,
                count_bounds: Sequence[int] = (1,), eval_device: str | None = None) -> dict[str, Any]:
    """Train every row, evaluate on the test split, write tables; returns the results dict.

    A trained classifier comes back on the CPU; ``eval_device`` (e.g. ``'cuda'``) moves its
    network there for the test evaluation. Every row records ``epochs_run``, training and
    test texts per second and, with CUDA, the peak GPU memory of its training and test run.
    """
    base = base or TrainConfig()
    from .options import check_options_used, validate_train_config
    validate_train_config(base)
    check_options_used(dataclasses.replace(base, loss=None), fitters=row_fitters(rows, base))
    if not data.test:
        raise ValueError(f"data set {data.name} has no test split to compare on")
    if not data.validation:  # one held-out split shared by every row, said once
        from .training.fitters import held_out_validation
        train_part, validation = held_out_validation(data.train, base)
        data = dataclasses.replace(data, train=train_part, validation=validation)
    out = Path(out_dir) if out_dir else None
    results = []
    for row in rows:
        cfg = row_config(row, base)
        _cuda_peak_mb(reset=True)
        t0 = time.time()
        clf = train(data.train, data.validation, cfg, out_dir=(out / "models" / row) if (out and save_models) else None,
                    labels=data.labels, progress=progress)
        seconds = time.time() - t0
        on_device = bool(eval_device) and row not in SVM_ROWS and clf.linear_weights is None  # linear: scipy
        if on_device:
            clf.network.to(eval_device)
        t1 = time.time()
        test = clf.evaluate(data.test, count_bounds=count_bounds)
        eval_seconds = time.time() - t1
        if on_device:
            clf.network.to("cpu")
        test.pop("per_label_scores", None)
        speed = {**_speed(clf, len(data.train), len(data.test), eval_seconds), "peak_gpu_mb": _cuda_peak_mb()}
        results.append({"name": row, "seconds": round(seconds, 2), "config": cfg.to_dict(),
                        "validation": clf.metrics.get("validation"), "best_epoch": clf.metrics.get("best_epoch"),
                        "decision": clf.decision.to_dict(), "speed": speed, "test": test})
        log.info("%s: test micro-F1 %.2f macro-F1 %.2f (%.1fs)", row, test["total"]["micro_f1"],
                 test["total"]["macro_f1"], seconds)
        if out:  # partial results survive an interrupted grid
            write_json(out / "results.json", {"dataset": data.name, "rows": results})
    summary = {"dataset": data.name, "model": base.model, "seed": base.seed, "rows": results,
               "total_seconds": round(sum(r["seconds"] for r in results), 2)}
    published = data.name == "reuters21578"
    t2, t3 = table2_rows(results, published), table3_rows(results, published)
    summary["table2"], summary["table3"] = t2, t3
    if out:
        write_json(out / "results.json", summary)
        atomic_write_text(out / "table2.md", markdown_table2(t2) + "\n")
        atomic_write_text(out / "table3.md", markdown_table3(t3) + "\n")
        atomic_write_text(out / "table2.csv", to_csv(t2))
        atomic_write_text(out / "table3.csv", to_csv(t3))
    return summary
