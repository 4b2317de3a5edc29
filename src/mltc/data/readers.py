"""Generic readers: CSV/TSV with a header, JSON Lines and fastText lines.

Every reader decodes UTF-8 strictly and reports a malformed row as
:class:`DataFormatError` naming the file and the line. Texts may contain tabs and
newlines (inside quoted CSV fields or JSON strings); texts without labels are kept.
"""
from __future__ import annotations

import csv
import json
import os
import sys
from pathlib import Path
from typing import Callable, Iterator

from .examples import Example

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
        if not line.strip():
            continue
        try:
            yield lineno, json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataFormatError(name, lineno, f"invalid JSON: {exc.msg}") from None


def split_labels(value: str, sep: str) -> tuple[str, ...]:
    if sep == "":
        raise ValueError("label separator must not be empty")
    return tuple(dict.fromkeys(l.strip() for l in value.split(sep) if l.strip()))


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
            labels = split_labels(row[l_idx], label_sep) if l_idx is not None else ()
            out.append(Example(row[t_idx], labels, row[i_idx] if i_idx is not None else None))
            row_start = reader.line_num + 1
    except csv.Error as exc:
        raise DataFormatError(path, reader.line_num, str(exc)) from None
    return out


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
            if not isinstance(raw, list) or not all(isinstance(l, (str, int)) for l in raw):
                raise DataFormatError(path, lineno, f"field {labels_field!r} must be a list of strings")
            labels = tuple(dict.fromkeys(str(l) for l in raw))
        ident = obj.get("id")
        out.append(Example(text, labels, None if ident is None else str(ident)))
    return out


def read_fasttext(path: str | os.PathLike, prefix: str = "__label__") -> list[Example]:
    """Read fastText lines: ``__label__a __label__b the text``."""
    out: list[Example] = []
    for lineno, line in enumerate(decoded_lines(path), 1):
        line = line.rstrip("\r\n")
        if not line.strip():
            continue
        tokens = line.split(" ")
        labels = []
        i = 0
        while i < len(tokens) and (tokens[i].startswith(prefix) or tokens[i] == ""):
            if tokens[i]:
                name = tokens[i][len(prefix):]
                if not name:
                    raise DataFormatError(path, lineno, f"empty label name after {prefix!r}")
                labels.append(name)
            i += 1
        out.append(Example(" ".join(tokens[i:]), tuple(dict.fromkeys(labels))))
    return out


def read_texts(path: str | os.PathLike) -> Iterator[str]:
    """Stream plain texts, one per line (for prediction); nothing is read ahead."""
    for line in decoded_lines(path):
        yield line.rstrip("\r\n")


READERS: dict[str, Callable[..., list[Example]]] = {
    "csv": read_csv,
    "tsv": read_csv,
    "jsonl": read_jsonl,
    "fasttext": read_fasttext,
}


def guess_format(path: str | os.PathLike) -> str:
    suffix = Path(path).suffix.lower()
    return {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".json": "jsonl",
            ".ndjson": "jsonl", ".ft": "fasttext", ".fasttext": "fasttext", ".txt": "fasttext"}.get(suffix, "")


def read_file(path: str | os.PathLike, format: str | None = None, **options) -> list[Example]:
    """Read a labelled file; the format is guessed from the suffix unless given."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    fmt = format or guess_format(path)
    if fmt not in READERS:
        raise ValueError(f"{path}: cannot tell the format from the suffix; pass format= one of {', '.join(READERS)}")
    return READERS[fmt](path, **options)
