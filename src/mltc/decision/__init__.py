"""Decisions fitted on validation scores: global, per-label, cross-validated per-label, top-k, fixed/zero."""
from .choose import choose_decision
from .cv import CVPerLabelThreshold, cv_thresholds
from .thresholds import (DECISIONS, PAPER_GRID, SVM_GRID, WIDE_GRID, Decision, FixedThreshold, GlobalThreshold,
                         PerLabelThreshold, TopK, decision_from_dict, make_decision)

DECISIONS["cv-per-label"] = CVPerLabelThreshold

__all__ = ["Decision", "GlobalThreshold", "PerLabelThreshold", "CVPerLabelThreshold", "TopK", "FixedThreshold",
           "DECISIONS", "decision_from_dict", "make_decision", "cv_thresholds", "choose_decision",
           "PAPER_GRID", "SVM_GRID", "WIDE_GRID"]
