"""Data sets by name, resolved through the data directory.

The data directory is ``--data-dir`` or the ``MLTC_DATA_DIR`` environment variable.
``load_dataset`` also accepts file paths: ``train=..., validation=..., test=...``.
"""
from __future__ import annotations

import inspect
import os
from functools import partial
from pathlib import Path

from ..registry import Registry
from .cail import load_cail
from .examples import DatasetSplits
from .goemotions import load_goemotions
from .readers import READERS, DataFormatError, guess_format, read_file
from .reuters import load_reuters, load_reuters_all

#: data set name -> loader ``(data_dir) -> DatasetSplits``; metadata ``folder`` (under the data directory)
DATASETS = Registry("data set", defaults={"folder": None})
DATASETS.register("reuters21578", load_reuters, aliases=("reuters",), folder="reuters21578",
                  help="Reuters-21578 ModApte, the paper's 90 labels")
DATASETS.register("reuters21578-all", load_reuters_all, aliases=("reuters-all",), folder="reuters21578",
                  help="Reuters-21578 ModApte, all five category fields (368 labels)")
DATASETS.register("goemotions", load_goemotions, aliases=("go_emotions",), folder="goemotions",
                  help="GoEmotions, 28 emotions of Reddit comments")
for _domain in ("divorce", "labor", "loan"):
    DATASETS.register(f"cail2019-{_domain}", partial(load_cail, domain=_domain), folder="cail2019_elements",
                      help=f"CAIL2019 element extraction, {_domain} domain (Chinese)")
ALIASES = DATASETS.aliases()  # deprecated: the registry resolves aliases itself


def dataset_folder(name: str, data_dir_: str | os.PathLike | None = None) -> Path:
    """Where a named data set lives: ``<data dir>/<its folder>``."""
    key = DATASETS.canonical(name)
    return data_dir(data_dir_) / (DATASETS.meta(key, "folder") or key)


def data_dir(explicit: str | os.PathLike | None = None) -> Path:
    """The data directory: the explicit argument, else ``$MLTC_DATA_DIR``, else ``./data``."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("MLTC_DATA_DIR")
    return Path(env) if env else Path("data")


def load_dataset(name: str, data_dir_: str | os.PathLike | None = None) -> DatasetSplits:
    """Load a named data set: an entry of :data:`DATASETS` (``reuters21578``, ``goemotions``,
    ``cail2019-<domain>``, ...); a new one is ``DATASETS.register(name, loader, folder=...)``."""
    key = DATASETS.find(name)
    if key is None:
        raise ValueError(f"unknown data set {name!r}; known: {', '.join(DATASETS)} (or give file paths)")
    return DATASETS[key](data_dir(data_dir_))


def load_files(train: str | None = None, validation: str | None = None, test: str | None = None,
               format: str | None = None, labels: list[str] | None = None, **options) -> DatasetSplits:
    """Build splits from files in any supported format (CSV/TSV, JSON Lines, fastText).

    The files may differ in format (a CSV training file, a JSON Lines validation file);
    each file gets only the ``options`` its reader takes (``text_column`` reaches CSV/TSV
    readers only). A file that has no rows is an error.
    """
    def rd(p):
        if not p:
            return []
        reader = READERS.get(format or guess_format(p))
        accepted = inspect.signature(reader).parameters if reader else options
        rows = read_file(p, format, **{k: v for k, v in options.items() if k in accepted})
        if not rows:
            raise DataFormatError(p, None, "the file has no rows (it is empty or holds only a header)")
        return rows

    first = train or validation or test
    if not first:
        raise ValueError("give at least one file")
    return DatasetSplits(Path(first).stem, rd(train), rd(validation), rd(test), labels=labels,
                         info={"files": {"train": train, "validation": validation, "test": test}})
