"""``mltc``: train, evaluate, predict, compare, stats, datasets, serve."""
from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path
from typing import Any

import click

from ..data.readers import DataFormatError
from ..modelcheck import ModelFormatError
from ..options import OptionError

DATA_OPTIONS = [
    click.option("--data", "data_name", help="Named data set: reuters21578, goemotions, cail2019-{divorce,labor,loan}."),
    click.option("--data-dir", type=click.Path(file_okay=False), envvar="MLTC_DATA_DIR",
                 help="Folder of named data sets [env MLTC_DATA_DIR]."),
    click.option("--train", "train_file", type=click.Path(dir_okay=False), help="Training file (CSV/TSV/JSONL/fastText)."),
    click.option("--validation", "val_file", type=click.Path(dir_okay=False), help="Validation file."),
    click.option("--test", "test_file", type=click.Path(dir_okay=False), help="Test file."),
    click.option("--format", "file_format", type=click.Choice(["csv", "tsv", "jsonl", "fasttext"]), help="File format (default: by suffix)."),
    click.option("--text-column", default="text", show_default=True, help="CSV/TSV text column."),
    click.option("--label-column", default="labels", show_default=True, help="CSV/TSV label column."),
    click.option("--label-sep", default=",", show_default=True,
                 help="Separator between labels in a CSV/TSV cell (empty pieces are skipped; labels with commas: "
                      "use '|' here, or JSON Lines / fastText files)."),
]


REPORT_OPTION = click.option("--report", type=click.Path(file_okay=False),
                             help="Also write a self-contained HTML report with PNG/SVG figures into this folder.")


DATA_KEYS = ("data_name", "data_dir", "train_file", "val_file", "test_file", "file_format", "text_column",
             "label_column", "label_sep")


def pop_data_options(kw: dict) -> dict:
    """Split the data options off a command's keyword arguments."""
    return {k: kw.pop(k) for k in DATA_KEYS if k in kw}


def data_options(f):
    for opt in reversed(DATA_OPTIONS):
        f = opt(f)
    return f


def load_data(data_name, data_dir, train_file, val_file, test_file, file_format, text_column, label_column, label_sep):
    from ..data import load_dataset, load_files
    if data_name and train_file:
        raise click.UsageError("give --data or --train, not both")
    if data_name:
        return load_dataset(data_name, data_dir)
    first = train_file or val_file or test_file
    if not first:
        raise click.UsageError("give --data NAME or a file (--train, --validation, --test)")
    # CSV/TSV options reach the CSV/TSV files only (files may differ in format)
    opts: dict[str, Any] = dict(text_column=text_column, label_column=label_column, label_sep=label_sep)
    return load_files(train_file, val_file, test_file, format=file_format, **opts)


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


# ------------------------------------------------------------------------------ stats
@cli.command()
@data_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--head", default=35, show_default=True, help="Head cut-off: training frequency >= this.")
@click.option("--tail", default=8, show_default=True, help="Tail cut-off: training frequency <= this.")
@REPORT_OPTION
def stats(as_json, head, tail, report, **data_kw):
    """Label statistics: texts, cardinality, groups, co-occurrence."""
    from ..data.stats import dataset_statistics, format_statistics
    data = load_data(**data_kw)
    st = dataset_statistics(data, head=head, tail=tail)
    click.echo(json.dumps(st, ensure_ascii=False, indent=2) if as_json else format_statistics(st))
    if report:
        from ..report.builders import stats_report
        click.echo(f"report: {stats_report(data, st, report, head, tail)}", err=True)


# --------------------------------------------------------------------------- datasets
@cli.group()
def datasets():
    """List or download named data sets."""


@datasets.command("list")
@click.option("--data-dir", type=click.Path(file_okay=False), envvar="MLTC_DATA_DIR")
def datasets_list(data_dir):
    """Named data sets and whether they are present in the data directory."""
    from ..data.registry import DATASETS, data_dir as resolve
    root = resolve(data_dir)
    for name in DATASETS:
        folder = root / ("cail2019_elements" if name.startswith("cail") else name)
        click.echo(f"{name:<20}{'present' if folder.exists() else 'missing'}  {folder}")


@datasets.command("download")
@click.argument("name")
@click.option("--data-dir", type=click.Path(file_okay=False), envvar="MLTC_DATA_DIR", required=True)
@click.option("--url", help="Override the official archive URL (a mirror).")
@click.option("--sha256", help="Expected SHA-256 of the archive.")
@click.option("--force", is_flag=True, help="Replace an existing folder.")
def datasets_download(name, data_dir, url, sha256, force):
    """Download a data set's official archive into the data directory."""
    from ..data.download import download_dataset
    target = download_dataset(name, data_dir, url=url, sha256=sha256, force=force)
    click.echo(f"downloaded {name} into {target}")


# ------------------------------------------------------------------------------ train
TRAIN_FLAGS = ["model", "loss", "loss_preset", "decision", "epochs", "batch_size", "lr", "weight_decay", "patience",
               "seed", "warmup_ratio", "schedule", "rdrop_alpha", "fgm_epsilon", "gp_epsilon", "threads", "cv_folds",
               "cv_objective", "optimizer"]


def build_config(config_file, min_labels=None, threshold_grid=None, head=None, pooling=None, max_len=None, reg_c=None,
                 **flags):
    from ..options import parse_grid, validate_train_config
    from ..training import TrainConfig, read_config_file
    d: dict[str, Any] = read_config_file(config_file) if config_file else {}
    d.update({k: v for k, v in flags.items() if v is not None})
    if reg_c is not None:
        d["solver_options"] = {**(d.get("solver_options") or {}), "C": reg_c}
    net = dict(d.get("network_options") or {})
    if head:
        net["head"] = head
    if pooling:
        net.setdefault("head_options", {})["pooling"] = pooling
    if net:
        d["network_options"] = net
    if max_len is not None:
        d["featurizer_options"] = {**(d.get("featurizer_options") or {}), "max_len": max_len}
    options = dict(d.get("decision_options") or {})
    if min_labels is not None:
        options["min_labels"] = min_labels
    if threshold_grid:
        grid = parse_grid(threshold_grid)
        options["global_grid" if d.get("decision") == "per-label" else "grid"] = grid
    if options:
        d["decision_options"] = options
    cfg = TrainConfig.from_dict(d)
    validate_train_config(cfg)
    return cfg


def train_options(f):
    opts = [
        click.option("--config", "config_file", type=click.Path(dir_okay=False, exists=True), help="YAML/TOML/JSON config (flags override it)."),
        click.option("--model", help="tfidf-linear (default), tfidf-mlp, embedding-bag, textcnn, bilstm-attention, svm, "
                                     "transformer, frozen-encoder."),
        click.option("--loss", help="bce, fl, cb, r-fl, ntr-fl, db-0fl, cb-ntr, db, zlpr (default: bce for tfidf-linear, "
                                    "db for the neural models)."),
        click.option("--loss-preset", type=click.Choice(["reuters", "pubmed"]), help="Loss constants (default reuters)."),
        click.option("--decision", type=click.Choice(["auto", "cv", "global", "per-label", "top-k", "zero", "fixed"]),
                     help="auto (tfidf-linear's default: the best on validation of global, per-label and cv), cv "
                          "(per-label thresholds cross-validated on the training texts), global (the neural models' "
                          "default), per-label, top-k, zero, fixed."),
        click.option("--optimizer", type=click.Choice(["lbfgs", "sgd", "adamw", "adagrad"]),
                     help="lbfgs: full-batch fitter (tfidf-linear's default); the others train minibatch epochs."),
        click.option("--C", "reg_c", type=float, help="tfidf-linear (lbfgs): inverse L2 strength, loss sum + ||w||^2/(2C)."),
        click.option("--cv-folds", type=int, help="tfidf-linear: folds for cross-validated thresholds (default 3; 0: none)."),
        click.option("--cv-objective", type=click.Choice(["micro+macro", "f1"]),
                     help="cv thresholds: micro+macro (default) or f1 (SCut with the FBR fallback)."),
        click.option("--threads", type=int, help="CPU threads for torch (default: all cores)."),
        click.option("--min-labels", type=int, help="Decision: give every text at least this many labels (top scores)."),
        click.option("--threshold-grid", help="Decision grid: paper (0.40..0.60), wide (0.01..0.99), svm, or comma-separated values."),
        click.option("--epochs", type=int), click.option("--batch-size", type=int), click.option("--lr", type=float),
        click.option("--weight-decay", type=float), click.option("--patience", type=int), click.option("--seed", type=int),
        click.option("--warmup-ratio", type=float), click.option("--schedule", type=click.Choice(["constant", "linear"])),
        click.option("--encoder", help="Hugging Face encoder (hub id or local folder) for transformer / frozen-encoder."),
        click.option("--head", type=click.Choice(["linear", "bilstm", "attention", "textcnn"]), help="Head on the encoder's token states."),
        click.option("--pooling", type=click.Choice(["cls", "mean"]), help="Pooling of the linear head."),
        click.option("--max-len", type=int, help="Tokens per text (truncation) for sequence models."),
        click.option("--precision", type=click.Choice(["no", "bf16", "fp16"]), help="Mixed precision (bf16 works on CPU)."),
        click.option("--grad-accum", type=int, help="Micro-batches per batch (same update, less memory)."),
        click.option("--device", type=click.Choice(["auto", "cpu", "cuda"])),
        click.option("--rdrop-alpha", type=float, help="R-Drop weight (0: off)."),
        click.option("--fgm-epsilon", type=float, help="FGM adversarial step on embeddings (0: off)."),
        click.option("--gp-epsilon", type=float, help="Embedding gradient penalty (0: off)."),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


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
        return _train_graded(data_kw, level_names, out, cfg)
    data = load_data(**data_kw)
    if not data.train:
        raise click.UsageError("training needs --data or --train")
    clf = run_train(data.train, data.validation, cfg, out_dir=out, resume=resume, labels=data.labels, progress=progress)
    val = clf.metrics["validation"]
    click.echo(f"validation micro-F1 {val['micro_f1']:.2f} macro-F1 {val['macro_f1']:.2f}   decision: {clf.decision!r}")
    cands = clf.metrics.get("decision_candidates") or {}
    if "chosen" in cands:
        scored = ", ".join(f"{k} {v['micro_f1']:.2f}/{v['macro_f1']:.2f}" for k, v in cands.items() if k != "chosen")
        click.echo(f"decision chosen on validation (micro/macro-F1, cross-fitted where fitted on it): "
                   f"{cands['chosen']}  [{scored}]")
    if data.test:
        report = clf.evaluate(data.test)
        clf.metrics["test"] = {"total": report["total"], "groups": report.get("groups"),
                               "by_num_labels": report["by_num_labels"]}
        clf.save(Path(out) / "model")
        write_json(Path(out) / "evaluation.json", report)
        click.echo(format_evaluation(report))
    click.echo(f"model saved in {Path(out) / 'model'}")


def _train_graded(data_kw, level_names, out, cfg):
    from ..finegrained import read_graded, train_graded
    from ..io import write_json
    if not (data_kw["train_file"] and data_kw["val_file"]):
        raise click.UsageError("--fine-grained needs --train and --validation files")
    tr, aspects = read_graded(data_kw["train_file"])
    va, _ = read_graded(data_kw["val_file"], aspects)
    names = [x.strip() for x in level_names.split(",")] if level_names else None
    clf = train_graded(tr, va, aspects, cfg, names, out_dir=out)
    click.echo(_format_graded(clf.metrics["validation"], "validation"))
    if data_kw["test_file"]:
        rep = clf.evaluate(read_graded(data_kw["test_file"], aspects)[0])
        write_json(Path(out) / "evaluation.json", rep)
        click.echo(_format_graded(rep, "test"))
    click.echo(f"model saved in {Path(out) / 'model'}")


def _format_graded(rep: dict, name: str) -> str:
    lines = [f"{name}: {rep['num_texts']} texts; mean accuracy {rep['mean']['accuracy']:.2f}, "
             f"macro-F1 {rep['mean']['macro_f1']:.2f}, RMSE {rep['rmse_all']:.3f}",
             f"{'aspect':<16}{'acc':>8}{'macro-F1':>10}{'RMSE':>8}"]
    lines += [f"{a[:15]:<16}{v['accuracy']:>8.2f}{v['macro_f1']:>10.2f}{v['rmse']:>8.3f}" for a, v in rep["aspects"].items()]
    return "\n".join(lines)


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
    if hasattr(clf, "aspects"):  # fine-grained
        from ..finegrained import read_graded
        path = data_kw["test_file"] or data_kw["val_file"] or data_kw["train_file"]
        if not path:
            raise click.UsageError("give the labelled file with --test")
        result = clf.evaluate(read_graded(path, clf.aspects)[0])
        if out:
            write_json(out, result)
        click.echo(to_json(result) if as_json else _format_graded(result, "evaluation"))
        if report:
            from ..report.builders import graded_report
            click.echo(f"report: {graded_report(clf, result, report)}", err=True)
        return
    check_model_override(clf, threshold, top_k)
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
@train_options
@click.option("--rows", help="Comma-separated rows (losses and svm, svm-zero, svm-balanced, svm-balanced-zero). "
                             "Default: svm and the eight presets.")
@click.option("--out", type=click.Path(file_okay=False), required=True, help="Folder for tables and results.json.")
@click.option("--save-models", is_flag=True, help="Also save every row's model.")
@click.option("--progress/--no-progress", default=None)
@click.option("--eval-device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
              help="Where each row's test evaluation runs (auto: the GPU when training used one).")
@REPORT_OPTION
def compare(rows, out, save_models, progress, eval_device, report, config_file, **kw):
    """Train a grid of losses and write the paper's Table 2 and 3 (Markdown, CSV, JSON)."""
    from ..compare import DEFAULT_ROWS, run_compare
    from ..report.tables import markdown_table2, markdown_table3
    data_kw = pop_data_options(kw)
    data = load_data(**data_kw)
    base = build_config(config_file, **kw)
    row_list = [r.strip() for r in rows.split(",") if r.strip()] if rows else list(DEFAULT_ROWS)
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


# ------------------------------------------------------------------------------ serve
@cli.command()
@click.argument("model_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind (loopback unless told otherwise).")
@click.option("--port", default=8000, show_default=True)
@click.option("--max-texts", default=256, show_default=True, help="Most texts in one request.")
@click.option("--max-text-chars", default=100_000, show_default=True, help="Most characters in one text.")
@click.option("--max-body-bytes", default=8 * 1024 * 1024, show_default=True, help="Largest request body.")
@click.option("--batch-window-ms", default=2.0, show_default=True, help="Server-side batching window (0: off).")
@click.option("--read-timeout", "read_timeout_s", default=10.0, show_default=True,
              help="Most seconds to wait for request headers or for the next piece of a body (then 408 / close).")
@click.option("--body-timeout", "body_timeout_s", default=30.0, show_default=True,
              help="Most seconds to receive a whole request body (then 408).")
@click.option("--max-connections", default=1000, show_default=True, help="Open connections before new requests get 503.")
@click.option("--log-level", default="info", show_default=True,
              type=click.Choice(["critical", "error", "warning", "info", "debug"]), help="uvicorn log level (info logs every request).")
def serve(model_dir, host, port, **limits):
    """Serve a saved model over HTTP (FastAPI + uvicorn): POST /v1/predict, GET /v1/labels, /v1/model, /healthz."""
    from ..options import check_port, check_serve_limits
    check_port(port)
    check_serve_limits(limits)
    from ..serving.app import serve as run_server
    run_server(model_dir, host=host, port=port, **limits)


@cli.command()
def openapi():
    """Print the HTTP API's OpenAPI schema (default limits)."""
    from ..serving.app import openapi_schema
    click.echo(json.dumps(openapi_schema(), indent=2, sort_keys=True))


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
