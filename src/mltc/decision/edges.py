"""A note on a fitted global threshold that sits at an end of its grid.

A grid too narrow for the scores (the paper's 0.40 ... 0.60 on sigmoids of SVM margins, say)
returns its end value as the best threshold, silently: the note says so, so that the grid can be
widened (``--threshold-grid``).
"""
from __future__ import annotations

from .thresholds import Decision, FixedThreshold, GlobalThreshold


def grid_edge_note(decision: Decision) -> str | None:
    """A note when a fitted global threshold is the lowest or highest value of its grid with validation
    micro-F1 still rising toward it (the best threshold may lie outside the grid), else None."""
    if not isinstance(decision, GlobalThreshold) or isinstance(decision, FixedThreshold) or not decision.curve_:
        return None
    pairs = sorted(zip(decision.curve_["grid"], decision.curve_["micro_f1"]))
    if len(pairs) < 3 or decision.threshold_ not in (pairs[0][0], pairs[-1][0]):
        return None
    low = decision.threshold_ == pairs[0][0]
    edge, inner = (pairs[0], pairs[1]) if low else (pairs[-1], pairs[-2])
    if edge[1] <= inner[1]:
        return None
    return (f"the global threshold fitted on validation, {decision.threshold_:g}, is the {'lowest' if low else 'highest'} "
            f"value of its grid ({pairs[0][0]:g}..{pairs[-1][0]:g}) and validation micro-F1 still rises toward it: the "
            f"best threshold may lie outside the grid (--threshold-grid takes a named grid, paper, wide or svm, or "
            f"comma-separated values)")
