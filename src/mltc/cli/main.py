"""``mltc``: train, evaluate, predict, compare, stats, datasets, serve, registries."""
from __future__ import annotations

import logging
import warnings
from pathlib import Path

import click

from ..data.readers import DataFormatError
from ..modelcheck import ModelFormatError
from ..options import OptionError
from .data import REPORT_OPTION, data_options, datasets, load_data, pop_data_options, registries, stats
from .serve import openapi, serve
from .train_options import TRAIN_FLAGS, build_config, compare_options, train_options  # noqa: F401


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(message)s")
    if not verbose:
        warnings.filterwarnings("once")


class MltcGroup(click.Group):
    """Turns data and input errors into one clear line and exit code 2."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except OptionError as exc:
            click.echo(f"error: {exc.cli_message()}", err=True)
            ctx.exit(2)
        except (DataFormatError, ModelFormatError, FileNotFoundError, FileExistsError, ValueError) as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(2)


@click.group(cls=MltcGroup)
@click.version_option(package_name="mltc")
@click.option("-v", "--verbose", is_flag=True, help="Log progress and per-epoch scores.")
def cli(verbose: bool) -> None:
    """Multi-label text classification for long-tailed labels."""
    _setup_logging(verbose)


cli.add_command(stats)
cli.add_command(datasets)
cli.add_command(serve)
cli.add_command(openapi)
cli.add_command(registries)


# ------------------------------------------------------------------------------ train
@cli.command()
@data_options
@train_options
@click.option("--out", type=click.Path(file_okay=False), required=True, help="Run folder (model in OUT/model).")
@click.option("--resume", is_flag=True, help="Continue from OUT/checkpoint after an interruption.")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: when on a terminal).")
@click.option("--fine-grained", is_flag=True, help="Files hold text<TAB>l1,...,lK levels per aspect (one softmax per aspect).")
@click.option("--level-names", help="Comma-separated names of the levels 0..L-1 (fine-grained), e.g. none,weak,medium,strong.")
def train(out, resume, progress, fine_grained, level_names, config_file, **kw):
    """Train a model, tune its decision on validation data, evaluate on test."""
    from ..io import write_json
    from ..report.tables import format_evaluation
    from ..training import train as run_train
    data_kw = pop_data_options(kw)
    cfg = build_config(config_file, **kw)  # every option is checked before any data is read
    if fine_grained:
        from .graded import train_graded
        return train_graded(data_kw, level_names, out, cfg, resume, progress)
    if level_names:
        raise click.UsageError("--level-names names the levels of a --fine-grained model")
    data = load_data(**data_kw)
    if not data.train:
        raise click.UsageError("training needs --data or --train")
    clf = run_train(data.train, data.validation, cfg, out_dir=out, resume=resume, labels=data.labels, progress=progress)
    val = clf.metrics["validation"]
    click.echo(f"validation micro-F1 {val['micro_f1']:.2f} macro-F1 {val['macro_f1']:.2f}   decision: {clf.decision!r}")
    cands = clf.metrics.get("decision_candidates") or {}
    if "chosen" in cands:
        scored = ", ".join(f"{k} {v['micro_f1']:.2f}/{v['macro_f1']:.2f}" for k, v in cands.items() if "micro_f1" in v)
        from ..decision.choose import TIER_SE
        rule = cands.get("tier_rule") or {}
        why = (f" (preferred to {rule['best']}: within {TIER_SE:g} standard errors, one is "
               f"{rule['difference_se']:.2f})"
               if rule.get("best") and rule["best"] != cands["chosen"] else "")
        minimum = _minimum_note(cands.get("min_labels"))
        click.echo(f"decision chosen on validation (micro/macro-F1, cross-fitted where fitted on it): "
                   f"{cands['chosen']}{why}  [{scored}]{minimum}")
    if data.test:
        report = clf.evaluate(data.test)
        clf.metrics["test"] = {"total": report["total"], "groups": report.get("groups"),
                               "by_num_labels": report["by_num_labels"]}
        write_json(Path(out) / "model" / "metrics.json", clf.metrics)  # the fitter saved the rest
        write_json(Path(out) / "evaluation.json", report)
        click.echo(format_evaluation(report))
    click.echo(f"model saved in {Path(out) / 'model'}")


def _minimum_note(info: dict | None) -> str:
    """What the decision's choice said of at least one label per text (``decision_candidates['min_labels']``)."""
    if not info:
        return ""
    share = info.get("labelled_share", 1.0)
    who = "every training text has one" if share >= 1 else f"{share:.1%} of the training texts have one"
    if info.get("value"):
        return f"; then at least one label per text ({who})"
    a, b = info["with_minimum"], info["without"]
    return (f"; no minimum of one label per text, though {who}: validation scores "
            f"{b['micro_f1']:.2f}/{b['macro_f1']:.2f} without it, {a['micro_f1']:.2f}/{a['macro_f1']:.2f} with it "
            f"(more than two standard errors of {info['difference_se']:.2f} apart)")


# --------------------------------------------------------------------------- evaluate
@cli.command()
@click.argument("model_dir", type=click.Path(exists=True, file_okay=False))
@data_options
@click.option("--split", default="test", show_default=True, help="Split of a named data set.")
@click.option("--threshold", type=float, help="Override the fitted decision with this threshold.")
@click.option("--top-k", type=int, help="Override the fitted decision with top-k.")
@click.option("--per-label", default=0, help="Print this many per-label rows.")
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
@click.option("--out", type=click.Path(dir_okay=False), help="Also write the JSON report here.")
@REPORT_OPTION
def evaluate(model_dir, split, threshold, top_k, per_label, as_json, out, report, **data_kw):
    """Evaluate a saved model: total, head/medium/tail, by number of gold labels, per label."""
    from ..classifier import load
    from ..io import to_json, write_json
    from ..options import Rule, check_model_override, check_value
    from ..report.tables import format_evaluation
    check_value("per_label", per_label, Rule(int, low=0))
    clf = load(model_dir)
    check_model_override(clf, threshold, top_k)  # a fine-grained model refuses both
    if clf.task.name == "graded":
        from .graded import evaluate_graded
        return evaluate_graded(clf, data_kw, per_label, as_json, out, report)
    data = load_data(**data_kw)
    examples = data.split(split) if data_kw.get("data_name") else (data.test or data.validation or data.train)
    result = clf.evaluate(examples, threshold=threshold, top_k=top_k)
    if out:
        write_json(out, result)
    click.echo(to_json(result) if as_json else format_evaluation(result, per_label))
    if report:
        from ..report.builders import evaluation_report
        click.echo(f"report: {evaluation_report(clf, result, report)}", err=True)


# ---------------------------------------------------------------------------- predict
@cli.command()
@click.argument("model_dir", type=click.Path(exists=True, file_okay=False))
@click.argument("input", default="-")
@click.option("--input-format", type=click.Choice(["text", "jsonl", "csv", "tsv"]), default="text", show_default=True,
              help="text: one text per line; jsonl: objects with 'text'; csv/tsv: a header with --text-column.")
@click.option("--text-column", default="text", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write JSON Lines here (default stdout).")
@click.option("--threshold", type=float, help="Override the fitted decision with this threshold.")
@click.option("--top-k", type=int, help="Override the fitted decision with top-k.")
@click.option("--all-scores", is_flag=True, help="Include every label's score.")
@click.option("--batch-size", default=256, show_default=True)
def predict(model_dir, input, input_format, text_column, output, threshold, top_k, all_scores, batch_size):
    """Predict labels for texts from INPUT (a file or - for stdin) as JSON Lines."""
    from ..classifier import load
    from ..options import check_batch_size, check_model_override
    from ..serving.batch import iter_input_texts, write_predictions
    check_batch_size(batch_size)
    clf = load(model_dir)
    check_model_override(clf, threshold, top_k)
    texts = iter_input_texts(input, input_format, text_column)
    n = write_predictions(clf, texts, output, threshold=threshold, top_k=top_k,
                          return_scores="all" if all_scores else "predicted", batch_size=batch_size)
    if output:
        click.echo(f"{n} predictions written to {output}", err=True)


# ---------------------------------------------------------------------------- compare
@cli.command()
@data_options
@compare_options
@click.option("--rows", help="Comma-separated rows: registered losses (see mltc train --help) and svm, svm-zero, "
                             "svm-balanced, svm-balanced-zero. Default: svm and the paper's eight losses.")
@click.option("--out", type=click.Path(file_okay=False), required=True, help="Folder for tables and results.json.")
@click.option("--save-models", is_flag=True, help="Also save every row's model.")
@click.option("--progress/--no-progress", default=None)
@click.option("--eval-device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
              help="Where each row's test evaluation runs (auto: the GPU when training used one).")
@REPORT_OPTION
def compare(rows, out, save_models, progress, eval_device, report, config_file, **kw):
    """Train a grid of losses and write the paper's Table 2 and 3 (Markdown, CSV, JSON)."""
    from ..compare import DEFAULT_ROWS, row_fitters, run_compare
    from ..report.tables import markdown_table2, markdown_table3
    data_kw = pop_data_options(kw)
    row_list = [r.strip() for r in rows.split(",") if r.strip()] if rows else list(DEFAULT_ROWS)
    base = build_config(config_file, fitters=lambda cfg: row_fitters(row_list, cfg), **kw)
    data = load_data(**data_kw)
    if eval_device == "auto":
        import torch
        eval_device = "cuda" if base.device != "cpu" and torch.cuda.is_available() else "cpu"
    summary = run_compare(data, row_list, base, out, save_models=save_models, progress=progress,
                          eval_device=eval_device)
    click.echo(f"Table 2 ({data.name}, {base.model}, seed {base.seed}): micro/macro-F1 by label group\n")
    click.echo(markdown_table2(summary["table2"]))
    click.echo("\nTable 3: by number of gold labels per text\n")
    click.echo(markdown_table3(summary["table3"]))
    click.echo(f"\ntotal {summary['total_seconds']:.0f}s; written to {out}/")
    if report:
        from ..report.builders import compare_report
        click.echo(f"report: {compare_report(summary, data, report)}")


# ----------------------------------------------------------------------------- export
@cli.command()
@click.argument("model_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--onnx", "onnx_path", type=click.Path(dir_okay=False), required=True, help="Write the network as ONNX here.")
def export(model_dir, onnx_path):
    """Export a saved model's network (ONNX)."""
    from ..classifier import load
    from ..serving.onnx_export import export_onnx
    try:
        click.echo(f"wrote {export_onnx(load(model_dir), onnx_path)}")
    except NotImplementedError as exc:
        raise click.ClickException(str(exc)) from None


def main() -> None:
    cli(prog_name="mltc")


if __name__ == "__main__":  # pragma: no cover
    main()
