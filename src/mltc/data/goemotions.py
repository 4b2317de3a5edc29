"""GoEmotions (Demszky et al., ACL 2020): official train/dev/test, 27 emotions + neutral.

Rows are ``text<TAB>label_ids<TAB>comment_id`` with no header; ids index ``labels.txt``.
Fields are read with CSV quoting on, so a text wrapped in double quotes loses them
(``""`` inside becomes ``"``), as the official loader does.
"""
from __future__ import annotations

import csv
from pathlib import Path

from .examples import DatasetSplits, Example
from .readers import DataFormatError, decoded_lines


def _read_split(path: Path, names: list[str]) -> list[Example]:
    out = []
    reader = csv.reader(decoded_lines(path), delimiter="\t")
    start = 1
    for row in reader:
        if len(row) != 3:
            raise DataFormatError(path, start, f"expected 3 tab-separated fields, found {len(row)}")
        try:
            ids = [int(x) for x in row[1].split(",") if x.strip()]
        except ValueError:
            raise DataFormatError(path, start, f"label ids must be integers, got {row[1]!r}") from None
        bad = [i for i in ids if not 0 <= i < len(names)]
        if bad:
            raise DataFormatError(path, start, f"label id {bad[0]} out of range 0..{len(names) - 1}")
        out.append(Example(row[0], tuple(dict.fromkeys(names[i] for i in ids)), row[2]))
        start = reader.line_num + 1
    return out


def load_goemotions(data_dir: str | Path) -> DatasetSplits:
    root = Path(data_dir)
    if (root / "goemotions").is_dir():
        root = root / "goemotions"
    labels_path = root / "labels.txt"
    if not labels_path.exists():
        raise FileNotFoundError(f"no labels.txt under {root}")
    names = [l.strip() for l in labels_path.read_text(encoding="utf-8").splitlines() if l.strip()]
    splits = {s: _read_split(root / f"{s}.tsv", names) for s in ("train", "dev", "test")}
    return DatasetSplits("goemotions", splits["train"], splits["dev"], splits["test"], labels=names,
                         info={"splits": "official train/dev/test"})
