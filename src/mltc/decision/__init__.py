"""Decisions fitted on validation scores: global, per-label, top-k, fixed/zero thresholds."""
from .thresholds import (DECISIONS, PAPER_GRID, SVM_GRID, WIDE_GRID, Decision, FixedThreshold, GlobalThreshold,
                         PerLabelThreshold, TopK, decision_from_dict, make_decision)

__all__ = ["Decision", "GlobalThreshold", "PerLabelThreshold", "TopK", "FixedThreshold", "DECISIONS",
           "decision_from_dict", "make_decision", "PAPER_GRID", "SVM_GRID", "WIDE_GRID"]
