"""Data options shared by the commands, and the ``stats`` and ``datasets`` commands."""
from __future__ import annotations

import json
from typing import Any

import click

from .train_options import LazyHelpOption, RegistryChoice, family_help

DATA_OPTIONS = [
    click.option("--data", "data_name", type=RegistryChoice("dataset"), cls=LazyHelpOption,
                 help_fn=family_help("Named data set (in the data directory).", "dataset")),
    click.option("--data-dir", type=click.Path(file_okay=False), envvar="MLTC_DATA_DIR",
                 help="Folder of named data sets [env MLTC_DATA_DIR]."),
    click.option("--train", "train_file", type=click.Path(dir_okay=False), help="Training file (CSV/TSV/JSONL/fastText)."),
    click.option("--validation", "val_file", type=click.Path(dir_okay=False), help="Validation file."),
    click.option("--test", "test_file", type=click.Path(dir_okay=False), help="Test file."),
    click.option("--format", "file_format", type=RegistryChoice("format"), cls=LazyHelpOption,
                 help_fn=family_help("File format (default: by suffix).", "format")),
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


@click.command()
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
@click.group()
def datasets():
    """List or download named data sets."""


@datasets.command("list")
@click.option("--data-dir", type=click.Path(file_okay=False), envvar="MLTC_DATA_DIR")
def datasets_list(data_dir):
    """Named data sets and whether they are present in the data directory."""
    from ..data.registry import DATASETS, dataset_folder
    for name in DATASETS:
        folder = dataset_folder(name, data_dir)
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


@click.command()
def registries():
    """Every registry (losses, models, heads, decisions, readers, data sets, fitters) as Markdown."""
    from ..registry import describe_all
    click.echo(describe_all())
