"""``benchmarks/sweep.py``: per-set means over seeds and each configuration's mean difference to the first."""
from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))

import sweep  # noqa: E402


def _row(micro, macro, tail, seconds=1.0, tail_labels=3):
    return {"wall_seconds": seconds, "metrics": {
        "total": {"micro_f1": micro, "macro_f1": macro}, "labels_per_text": 1.5,
        "groups": {"tail": {"macro_f1": tail, "num_labels": tail_labels}}}}


def test_means_and_differences():
    got = {"a": {"base": [_row(80, 40, 10), _row(82, 42, 12)], "new": [_row(83, 41, 11), _row(83, 41, 13)]},
           "b": {"base": [_row(70, 30, 0, tail_labels=0)] * 2, "new": [_row(69, 31, 5, tail_labels=0)] * 2}}
    text = sweep.summary(got, [("base", ["--C", "1"]), ("new", ["--C", "2"])], [1, 2], "python benchmarks/sweep.py ...")
    assert "| a | base | 81.00 ± 1.41 | 41.00 ± 1.41 | 11.00 ± 1.41 | 1.50 | 1.0 |" in text
    assert "|  | new | 69.00 ± 0.00 | 31.00 ± 0.00 | 0.00 ± 0.00 |" in text  # no tail label: 0, not its F1
    # a: +2 micro, 0 macro, +1 tail; b: -1 micro, +1 macro, 0 tail
    assert "| new | +0.50 (1/2) | +0.50 (2/2) | +0.50 (2/2) |" in text
