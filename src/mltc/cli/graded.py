"""The fine-grained branches of ``mltc train`` and ``mltc evaluate`` (files of ``text<TAB>l1,...,lK``)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

import click


def _level_names(level_names: str | None) -> list[str] | None:
    return [x.strip() for x in level_names.split(",")] if level_names else None


def _labelled_file(data_kw: dict[str, Any], what: str) -> str:
    if data_kw.get("data_name"):
        raise click.UsageError(f"{what} reads files of text<TAB>levels (--train, --validation, --test), not --data")
    path = data_kw.get("test_file") or data_kw.get("val_file") or data_kw.get("train_file")
    if not path:
        raise click.UsageError("give the labelled file with --test")
    return path


def refuse_given_for_graded(cfg: Any, given: Iterable[str]) -> None:
    """Refuse an option given for a fine-grained run that its task does not read, even at its default value.

    Parameters
    ----------
    cfg : TrainConfig
        The merged config.
    given : iterable of str
        What was given explicitly (config file keys, flags the user typed; nested flags as dotted
        paths, e.g. ``solver_options.C``).

    Raises
    ------
    UnusedOptionError
        The first given option in :data:`mltc.tasks.graded.NOT_APPLICABLE` (``--cv-folds 3``
        included, though 3 is its default: the task itself can only compare values with the
        defaults, :meth:`~mltc.tasks.GradedTask.check_config`).
    """
    from ..options import UnusedOptionError
    from ..tasks.graded import NOT_APPLICABLE
    from ..tasks.graded_loss import CE_REFUSES, graded_loss_name
    ce = graded_loss_name(cfg.loss) == "ce"
    for name in sorted(given):
        top = name.split(".")[0]
        if top in NOT_APPLICABLE:
            raise UnusedOptionError(name, f"is not used by a fine-grained model ({NOT_APPLICABLE[top]})",
                                    getattr(cfg, top))
        if ce and top in CE_REFUSES:
            raise UnusedOptionError(name, f"is not used by a fine-grained model trained with loss ce "
                                          f"({CE_REFUSES[top]})", getattr(cfg, top))


def train_graded(data_kw: dict[str, Any], level_names: str | None, out: str, cfg, resume: bool,
                 progress: bool | None) -> None:
    """Train a fine-grained model through the shared trainer; options it cannot honour are refused first."""
    from ..data.graded import read_graded
    from ..io import write_json
    from ..tasks import GradedTask
    from ..training import train as run_train
    names = _level_names(level_names)
    GradedTask(levels=names).check_config(cfg)  # before any data is read
    if data_kw.get("data_name") or not data_kw.get("train_file"):
        raise click.UsageError("--fine-grained needs a --train file (and --validation, --test: text<TAB>levels), "
                               "not --data")
    num_levels = len(names) if names else None
    tr, aspects = read_graded(data_kw["train_file"], num_levels=num_levels)
    va = read_graded(data_kw["val_file"], aspects, num_levels)[0] if data_kw.get("val_file") else []
    clf = run_train(tr, va, cfg, out_dir=out, resume=resume, progress=progress, task=GradedTask(aspects, names))
    click.echo(format_graded(clf.metrics["validation"], "validation"))
    if data_kw.get("test_file"):
        rep = clf.evaluate(read_graded(data_kw["test_file"], aspects, len(clf.task.levels))[0])
        clf.metrics["test"] = {"mean": rep["mean"], "rmse_all": rep["rmse_all"], "num_texts": rep["num_texts"]}
        clf.save(Path(out) / "model")
        write_json(Path(out) / "evaluation.json", rep)
        click.echo(format_graded(rep, "test"))
    click.echo(f"model saved in {Path(out) / 'model'}")


def evaluate_graded(clf, data_kw: dict[str, Any], per_label: int, as_json: bool, out: str | None,
                    report: str | None) -> None:
    """Evaluate a fine-grained model on a file of ``text<TAB>levels`` rows."""
    from ..data.graded import read_graded
    from ..io import to_json, write_json
    if per_label:
        raise click.UsageError("--per-label applies to multi-label models; a fine-grained report is per aspect")
    path = _labelled_file(data_kw, "evaluating a fine-grained model")
    result = clf.evaluate(read_graded(path, clf.task.aspects, len(clf.task.levels))[0])
    if out:
        write_json(out, result)
    click.echo(to_json(result) if as_json else format_graded(result, "evaluation"))
    if report:
        from ..report.builders import graded_report
        click.echo(f"report: {graded_report(clf, result, report)}", err=True)


def format_graded(rep: dict, name: str) -> str:
    """A fine-grained report as a small table: means, then one row per aspect."""
    lines = [f"{name}: {rep['num_texts']} texts; mean accuracy {rep['mean']['accuracy']:.2f}, "
             f"macro-F1 {rep['mean']['macro_f1']:.2f}, RMSE {rep['rmse_all']:.3f}",
             f"{'aspect':<16}{'acc':>8}{'macro-F1':>10}{'RMSE':>8}"]
    lines += [f"{a[:15]:<16}{v['accuracy']:>8.2f}{v['macro_f1']:>10.2f}{v['rmse']:>8.3f}" for a, v in rep["aspects"].items()]
    return "\n".join(lines)
