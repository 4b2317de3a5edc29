"""Streaming batch prediction: constant memory whatever the input size."""
from __future__ import annotations

import csv
import json
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Iterable, Iterator

from tqdm.auto import tqdm

from ..data.readers import DataFormatError, decoded_lines, json_lines


def _stdin_lines() -> Iterator[str]:
    for lineno, raw in enumerate(sys.stdin.buffer, 1):
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            raise DataFormatError("<stdin>", lineno, "not valid utf-8") from None


def iter_input_texts(path: str, fmt: str = "text", text_column: str = "text") -> Iterator[str]:
    """Texts from a file or ``-`` (stdin), read lazily line by line."""
    lines = _stdin_lines() if path == "-" else decoded_lines(path)
    name = "<stdin>" if path == "-" else path
    if fmt == "text":
        for line in lines:
            yield line.rstrip("\r\n")
    elif fmt == "jsonl":
        for lineno, obj in json_lines(lines, name):
            text = obj.get("text") if isinstance(obj, dict) else obj if isinstance(obj, str) else None
            if not isinstance(text, str):
                raise DataFormatError(name, lineno, "expected an object with a string 'text' (or a JSON string)")
            yield text
    elif fmt in ("csv", "tsv"):
        reader = csv.reader(lines, delimiter="\t" if fmt == "tsv" else ",")
        header = next(reader, None)
        if header is None or text_column not in header:
            raise DataFormatError(name, 1, f"no column {text_column!r} in the header")
        idx = header.index(text_column)
        for row in reader:
            if len(row) != len(header):
                raise DataFormatError(name, reader.line_num, f"expected {len(header)} fields, found {len(row)}")
            yield row[idx]
    else:
        raise ValueError(f"unknown input format {fmt!r}")


def write_predictions(clf, texts: Iterable[str], output: str | None = None, batch_size: int = 256,
                      progress: bool | None = None, **options) -> int:
    """Write one JSON line per text (``{"labels": [...], "scores": {...}}``); returns the count.

    Output to a file goes to ``<output>.partial`` first and is renamed when complete.
    """
    n = 0
    target = Path(output) if output else None
    tmp = target.with_name(target.name + ".partial") if target else None
    with (open(tmp, "w", encoding="utf-8") if tmp else nullcontext(sys.stdout)) as out:
        bar = tqdm(desc="predict", unit=" texts", disable=(not progress) if progress is not None else None, file=sys.stderr)
        for item in clf.predict_stream(texts, batch_size=batch_size, **options):
            out.write(json.dumps(item, ensure_ascii=False) + "\n")
            n += 1
            if n % batch_size == 0:
                bar.update(batch_size)
        bar.update(n % batch_size)
        bar.close()
    if tmp is not None and target is not None:
        tmp.replace(target)
    return n
