"""Generic readers: CSV/TSV with a header, JSON Lines and fastText lines.

Every reader decodes UTF-8 strictly and reports a malformed row as
:class:`DataFormatError` naming the file and the line. Texts may contain tabs and
newlines (inside quoted CSV fields or JSON strings); texts without labels are kept.

Labels are checked as they are read, so that what training accepts, loading accepts:

* a label must be a non-empty string that is not only whitespace (``""``, ``" "``,
  U+3000 ...); such a label is an error naming file and line;
* CSV/TSV: a label cell is split on ``label_sep`` (default ``,``); *empty* pieces between
  separators (``a,,b`` or a trailing ``a,``) are skipped, a whitespace-only piece is an
  error. A Python/pandas list written as a cell (``"['a', 'b']"``) is an error suggesting
  ``a,b``. Labels that contain commas: use JSON Lines, fastText, or ``--label-sep '|'``;
* JSON Lines: ``labels`` must be a list of strings (numbers and booleans are refused);
  deeply nested JSON is an error, not a crash;
* fastText: a UTF-8 byte order mark is stripped; labels are separated by spaces or tabs.
"""
from __future__ import annotations

import csv
import json
import logging
import os
import re
import sys
from pathlib import Path
from typing import Iterator

from ..registry import Registry
from .examples import Example

log = logging.getLogger("mltc")

#: label separators other than ``,`` that files use; a label cell holding one of them while no cell holds
#: ``,`` most likely needs ``--label-sep``
OTHER_LABEL_SEPS = ("|", ";")

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # huge texts are read, not rejected


class DataFormatError(ValueError):
    """A row of an input file that cannot be read; the message names file and line."""

    def __init__(self, path: str | os.PathLike, line: int | None, message: str) -> None:
        where = f"{path}:{line}" if line is not None else f"{path}"
        super().__init__(f"{where}: {message}")
        self.path, self.line = str(path), line


def decoded_lines(path: str | os.PathLike, encoding: str = "utf-8") -> Iterator[str]:
    """Yield the lines of ``path`` (with their line ends), decoding strictly line by line."""
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            try:
                yield raw.decode(encoding)
            except UnicodeDecodeError as exc:
                raise DataFormatError(
                    path, lineno, f"not valid {encoding} (byte {raw[exc.start]:#04x} at column {exc.start + 1})"
                ) from None


def json_lines(lines: Iterator[str], name: str | os.PathLike) -> Iterator[tuple[int, object]]:
    """Parse JSON Lines lazily: ``(line number, value)`` for every non-blank line."""
    for lineno, line in enumerate(lines, 1):
        if lineno == 1:
            line = line.lstrip("\ufeff")
        if not line.strip():
            continue
        try:
            yield lineno, json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataFormatError(name, lineno, f"invalid JSON: {exc.msg}") from None
        except RecursionError:
            raise DataFormatError(name, lineno, "invalid JSON: nested too deeply") from None


def check_label(name: object, path: str | os.PathLike, lineno: int | None) -> str:
    """Return ``name`` if it is a usable label name, else raise :class:`DataFormatError`.

    A label must be a string with at least one non-whitespace character.
    """
    if not isinstance(name, str):
        example = json.dumps(json.dumps(name))
        raise DataFormatError(path, lineno, f"labels must be strings, got {json.dumps(name)} "
                                            f"({type(name).__name__}); write it as a string, e.g. {example}")
    if not name.strip():
        raise DataFormatError(path, lineno, f"empty or whitespace-only label {name!r}")
    return name


_PY_LIST = re.compile(r"""^\s*\[.*['"].*\]\s*$""", re.S)


def split_labels(value: str, sep: str, path: str | os.PathLike = "<labels>",
                 lineno: int | None = None) -> tuple[str, ...]:
    """Split a CSV/TSV label cell on ``sep``.

    Pieces are stripped of surrounding whitespace; empty pieces (``a,,b``, a trailing
    separator) are skipped; a piece of whitespace only is an error, and so is a cell that
    looks like a Python/pandas list (``['a', 'b']``).
    """
    if sep == "":
        raise ValueError("label separator must not be empty")
    if _PY_LIST.match(value):
        raise DataFormatError(path, lineno, f"label cell {value[:60]!r} looks like a Python list; write the labels "
                                            f"as a,b (separated by --label-sep, default ',') or use JSON Lines")
    return tuple(dict.fromkeys(check_label(l, path, lineno).strip() for l in value.split(sep) if l))


def read_csv(
    path: str | os.PathLike,
    text_column: str = "text",
    label_column: str | None = "labels",
    label_sep: str = ",",
    delimiter: str | None = None,
    id_column: str | None = None,
) -> list[Example]:
    """Read a CSV/TSV file with a header row.

    ``delimiter`` defaults to tab for ``.tsv``/``.tab`` files and comma otherwise. Fields
    may be quoted (and then hold delimiters and newlines). ``label_column=None`` reads
    texts only (for prediction).
    """
    path = Path(path)
    if delimiter is None:
        delimiter = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    lines = decoded_lines(path)
    reader = csv.reader(lines, delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise DataFormatError(path, 1, "empty file: a header row is required") from None
    except csv.Error as exc:
        raise DataFormatError(path, 1, f"bad header: {exc}") from None
    header = [h.strip().lstrip("\ufeff") for h in header]
    for col in (text_column, label_column, id_column):
        if col is not None and col not in header:
            raise DataFormatError(path, 1, f"no column {col!r} in the header (columns: {', '.join(header)})")
    t_idx = header.index(text_column)
    l_idx = header.index(label_column) if label_column else None
    i_idx = header.index(id_column) if id_column else None
    out: list[Example] = []
    cells: list[str] = []  # label cells, for the separator check
    row_start = 2
    try:
        for row in reader:
            if not row or row == [""]:
                row_start = reader.line_num + 1
                continue
            if len(row) != len(header):
                raise DataFormatError(
                    path, row_start, f"expected {len(header)} fields ({delimiter!r}-separated), found {len(row)}"
                )
            if l_idx is not None:
                cells.append(row[l_idx])
            labels = split_labels(row[l_idx], label_sep, path, row_start) if l_idx is not None else ()
            out.append(Example(row[t_idx], labels, row[i_idx] if i_idx is not None else None))
            row_start = reader.line_num + 1
    except csv.Error as exc:
        raise DataFormatError(path, reader.line_num, str(exc)) from None
    _warn_unsplit_labels(path, cells, label_sep)
    return out


def _warn_unsplit_labels(path: Path, cells: list[str], label_sep: str) -> None:
    """Warn when no label cell holds ``label_sep`` but some hold another usual separator: the labels
    ``a|b`` of such a file would otherwise be read, silently, as one label ``'a|b'``."""
    if any(label_sep in c for c in cells):
        return
    for sep in OTHER_LABEL_SEPS:
        rows = sum(sep in c for c in cells)
        if sep != label_sep and rows:
            log.warning("%s: %d label cell(s) contain %r and none contains the label separator %r, so each such "
                        "cell is read as one label; if %r separates labels, pass --label-sep %r (label_sep=%r)",
                        path, rows, sep, label_sep, sep, sep, sep)
            return


def read_jsonl(
    path: str | os.PathLike, text_field: str = "text", labels_field: str | None = "labels"
) -> list[Example]:
    """Read JSON Lines: one object per line, ``{"text": str, "labels": [str, ...]}``."""
    out: list[Example] = []
    for lineno, obj in json_lines(decoded_lines(path), path):
        if not isinstance(obj, dict):
            raise DataFormatError(path, lineno, "each line must be a JSON object")
        text = obj.get(text_field)
        if not isinstance(text, str):
            raise DataFormatError(path, lineno, f"field {text_field!r} must be a string")
        labels: tuple[str, ...] = ()
        if labels_field is not None:
            raw = obj.get(labels_field, [])
            if isinstance(raw, str):
                raise DataFormatError(path, lineno, f"field {labels_field!r} must be a list of strings, not a string")
            if not isinstance(raw, list):
                raise DataFormatError(path, lineno, f"field {labels_field!r} must be a list of strings")
            labels = tuple(dict.fromkeys(check_label(l, path, lineno) for l in raw))
        ident = obj.get("id")
        out.append(Example(text, labels, None if ident is None else str(ident)))
    return out


_FT_TOKEN = re.compile(r"[^ \t]+")


def read_fasttext(path: str | os.PathLike, prefix: str = "__label__") -> list[Example]:
    """Read fastText lines: ``__label__a __label__b the text``.

    Labels and text are separated by spaces or tabs; a UTF-8 byte order mark at the start
    of the file is ignored. ``__label__`` followed by nothing or by whitespace only is an
    error naming file and line.
    """
    out: list[Example] = []
    for lineno, line in enumerate(decoded_lines(path), 1):
        line = line.rstrip("\r\n")
        if lineno == 1:
            line = line.lstrip("\ufeff")
        if not line.strip():
            continue
        labels, pos = [], 0
        for m in _FT_TOKEN.finditer(line):
            if not m.group().startswith(prefix):
                break
            name = m.group()[len(prefix):]
            if not name.strip():
                raise DataFormatError(path, lineno, f"empty label name after {prefix!r}")
            labels.append(check_label(name, path, lineno))
            pos = m.end()
        text = line[pos:].lstrip(" \t") if labels else line.lstrip(" ")
        out.append(Example(text, tuple(dict.fromkeys(labels))))
    return out


def read_texts(path: str | os.PathLike) -> Iterator[str]:
    """Stream plain texts, one per line (for prediction); nothing is read ahead."""
    for line in decoded_lines(path):
        yield line.rstrip("\r\n")


#: file format -> reader ``(path, **options) -> list[Example]``; metadata ``suffixes`` (guessed from the file name)
READERS = Registry("format", defaults={"suffixes": ()})
READERS.register("csv", read_csv, suffixes=(".csv",), help="CSV with a header (--text-column, --label-column)")
READERS.register("tsv", read_csv, suffixes=(".tsv", ".tab"), help="tab-separated, as csv")
READERS.register("jsonl", read_jsonl, suffixes=(".jsonl", ".json", ".ndjson"),
                 help='JSON Lines: {"text": ..., "labels": [...]}')
READERS.register("fasttext", read_fasttext, suffixes=(".ft", ".fasttext", ".txt"),
                 help="fastText lines: __label__a __label__b text")


def guess_format(path: str | os.PathLike) -> str:
    suffix = Path(path).suffix.lower()
    return next((e.name for e in READERS.entries() if suffix in e.get("suffixes")), "")


def read_file(path: str | os.PathLike, format: str | None = None, **options) -> list[Example]:
    """Read a labelled file; the format is guessed from the suffix unless given."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    fmt = format or guess_format(path)
    if fmt not in READERS:
        raise ValueError(f"{path}: cannot tell the format from the suffix; pass format= one of {', '.join(READERS)}")
    return READERS[fmt](path, **options)
