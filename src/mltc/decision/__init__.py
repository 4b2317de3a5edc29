"""Decisions fitted on validation scores: global, per-label, cross-validated per-label, top-k, fixed/zero.

Every decision is an entry of :data:`DECISIONS`; a new one is one call::

    DECISIONS.register("my-decision", MyDecision, help="...")

with ``MyDecision`` a :class:`Decision` subclass whose ``kind`` is its name (so a saved model
folder finds it again) and whose constructor takes ``decision_options``. ``auto`` and ``cv``
are the linear fitter's own (``fitters=("linear",)``): it chooses among its candidates.
"""
from .choose import choose_decision
from .cv import CVPerLabelThreshold, cv_thresholds
from .thresholds import (DECISIONS, PAPER_GRID, SVM_GRID, WIDE_GRID, Decision, FixedThreshold, GlobalThreshold,
                         PerLabelThreshold, TopK, decision_from_dict, make_decision, saved_kinds)

DECISIONS.register("cv-per-label", CVPerLabelThreshold, fitters=("linear",),
                   help="per-label thresholds cross-validated on the training texts (as cv)")
DECISIONS.register("auto", None, fitters=("linear",),
                   help="the linear fitter's default: the best on validation of global, per-label and cv")
DECISIONS.register("cv", None, fitters=("linear",),
                   help="per-label thresholds cross-validated on the training texts (the linear fitter)")

__all__ = ["Decision", "GlobalThreshold", "PerLabelThreshold", "CVPerLabelThreshold", "TopK", "FixedThreshold",
           "DECISIONS", "decision_from_dict", "make_decision", "saved_kinds", "cv_thresholds", "choose_decision",
           "PAPER_GRID", "SVM_GRID", "WIDE_GRID"]
