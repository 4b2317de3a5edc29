"""Fine-grained (graded) data: each of K aspects takes one of L ordered levels.

REFERENCE.md section 4 (the seed example: 6 emotions, each 0 none, 1 weak, 2 medium, 3 strong,
written ``"0,1,0,0,2,0"``). Files hold ``text<TAB>l1,l2,...,lK`` rows, optionally after a header
row naming the aspects (``text<TAB>love,joy,surprise,anger,fear,sorrow``).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Sequence

from .readers import DataFormatError, decoded_lines


@dataclass(frozen=True)
class GradedExample:
    """One text and its level (0..L-1) for every aspect."""

    text: str
    levels: tuple[int, ...]


def read_graded(path: str | os.PathLike, aspects: Sequence[str] | None = None,
                num_levels: int | None = None) -> tuple[list[GradedExample], list[str]]:
    """Read ``text<TAB>l1,l2,...,lK`` rows (the last tab separates the levels).

    A first row whose level field is not all integers is a header naming the aspects
    (``text<TAB>love,joy,surprise,anger,fear,sorrow``). Errors name file and line.

    Parameters
    ----------
    path : path-like
    aspects : sequence of str, optional
        The expected aspects (a header must name exactly these; rows must have as many levels).
    num_levels : int, optional
        Levels must lie in ``0..num_levels-1``.

    Returns
    -------
    (examples, aspects)
        The rows and the aspect names (from the header, ``aspects``, or ``aspect_0, ...``).
    """
    out: list[GradedExample] = []
    names = list(aspects) if aspects else None
    for lineno, line in enumerate(decoded_lines(path), 1):
        line = line.rstrip("\r\n")
        if not line.strip():
            continue
        if "\t" not in line:
            raise DataFormatError(path, lineno, "expected text<TAB>levels")
        text, field = line.rsplit("\t", 1)
        parts = [p.strip() for p in field.split(",")]
        if not all(p.lstrip("-").isdigit() for p in parts):
            if lineno == 1 and not out:  # a header naming the aspects
                if names is not None and parts != names:
                    raise DataFormatError(path, lineno, f"aspects {parts} differ from the expected {names}")
                names = parts
                continue
            raise DataFormatError(path, lineno, f"levels must be comma-separated integers, got {field!r}")
        levels = tuple(int(p) for p in parts)
        if names is not None and len(levels) != len(names):
            raise DataFormatError(path, lineno, f"expected {len(names)} levels (one per aspect), found {len(levels)}")
        if out and len(levels) != len(out[0].levels):
            raise DataFormatError(path, lineno, f"expected {len(out[0].levels)} levels, found {len(levels)}")
        bad = [l for l in levels if l < 0 or (num_levels is not None and l >= num_levels)]
        if bad:
            raise DataFormatError(path, lineno, f"level {bad[0]} out of range 0..{(num_levels or 1) - 1}")
        out.append(GradedExample(text, levels))
    if not out:
        raise DataFormatError(path, None, "no rows")
    return out, names or [f"aspect_{k}" for k in range(len(out[0].levels))]
