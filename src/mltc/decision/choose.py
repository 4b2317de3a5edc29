"""The choice of a linear model's decision on validation (``decision='auto'``).

Candidates: the cross-validated per-label thresholds (:mod:`mltc.decision.cv`, fitted on the
training texts alone), those thresholds moved by one logit offset fitted on validation
(``cv+shift``), one global threshold and per-label thresholds, both fitted on validation.
Each is scored on validation by micro-F1 + macro-F1; a candidate fitted on validation is
scored by 2-fold cross-fitting (each half predicted by the decision fitted on the other half),
so none looks better for having seen the texts it is scored on.

The candidates are taken in tiers of preference (:data:`TIERS`): the cross-validated ones
first, then the global threshold, then validation-fitted per-label thresholds. The chosen
candidate is the best of the first tier whose best scores within :data:`TIER_SE` (two)
standard errors of the overall best (the standard error of the score difference, from a paired
bootstrap over the validation texts): the standard-error rule of model selection (Breiman et
al., *Classification and Regression Trees*, 1984; Hastie et al., *The Elements of Statistical
Learning*, 7.10, with one standard error), with the tiers as the order of preference. Why this
order, and why two standard errors:

- Validation cannot see what per-label thresholds do for rare labels: a split of a few
  thousand texts holds no positive of most tail labels, so their F1 is 0 there whatever the
  decision, while a global threshold's micro-F1 gain on the frequent labels is fully visible.
  The cross-validated thresholds were fitted on every training positive; measured over three
  seeds on every benchmark data set (``benchmarks/decision_study.py``,
  ``benchmarks/results/decision_study/``), switching to the global threshold whenever it scored
  higher on validation cost Reuters 13.2 macro-F1 points on one seed in three (for 0.65 micro)
  and CAIL divorce 4.8 (and 0.19 micro); on the small synthetic set it traded 1.4 micro for
  1.4-1.6 macro on two seeds. With one standard error the global threshold still won on three
  seeds in six of CAIL divorce (test macro-F1 54.2 against 59.5-62.4 for the cross-validated
  thresholds on those seeds, micro-F1 equal) and of CAIL labor (where it scored higher on test on
  two of the three); with two it won on two seeds of CAIL labor only (one standard error had also
  let it win once on the small synthetic set), and the other 9 of the 12 benchmark sets chose as
  before over seeds 1-6: -0.05 micro-F1 and +0.29 macro-F1 on average, CAIL labor -0.28 / -0.09
  (``benchmarks/results/decision_study_se/``).
- Per-label thresholds fitted on validation set one free value per label from that same small
  split, so they come last.

Where (nearly) every training text carries a label (:data:`LABELLED_SHARE_FOR_ONE_LABEL`), the
chosen decision then predicts at least one label per text (the best-scored one where no
threshold is passed). The candidates are compared without that minimum: with it, a validation
fitted shift could raise every threshold and lean on the minimum for recall, silencing rare
labels that validation cannot see (Reuters, seeds 1-3: tail macro-F1 31.78 against 34.65).
Added after the choice, it was at least as good on mean test micro-F1 and macro-F1 on every
benchmark set where it applies (``benchmarks/results/decision_study/``), except where many
texts carry only labels seen once or never in training (short phrases with thousands of
labels): the best-scored label of such a text is mostly wrong, and the minimum cost about 4
micro-F1 points there. So it is kept unless the chosen decision without it scores higher on validation by
more than two bootstrap standard errors of the difference (:data:`MINIMUM_DROP_SE`): the minimum
helped on every other set, so dropping it takes strong evidence. With one standard error it was
also dropped on one seed of a set with 88 validation texts and lost 1.05 micro-F1 points on test
there; on the short phrases the gap was more than three standard errors.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import scipy.sparse as sp

from ..metrics import micro_macro
from ..metrics.classification import prf_from_counts
from .cv import CVPerLabelThreshold
from .thresholds import WIDE_GRID, Decision, GlobalThreshold, PerLabelThreshold, _check_scores, _ensure_min_labels, make_decision

#: candidates in tiers of preference: a later tier is chosen only when its best beats the best of every
#: earlier tier by more than :data:`TIER_SE` standard errors of the score difference
TIERS: tuple[tuple[str, ...], ...] = (("cv", "cv+shift"), ("global",), ("per-label",))
#: standard errors of the score difference by which a later tier's best must beat the best of the earlier ones
TIER_SE = 2.0
#: bootstrap resamples of the validation texts for the standard error of a score difference
BOOTSTRAP_SAMPLES = 200
#: share of training texts with at least one label from which ``auto`` predicts at least one label per text
LABELLED_SHARE_FOR_ONE_LABEL = 0.99
#: standard errors by which validation must score the chosen decision higher without that minimum to drop it
MINIMUM_DROP_SE = 2.0


def _score(Y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    m = micro_macro(Y, pred)
    return {"micro_f1": round(m["micro_f1"], 4), "macro_f1": round(m["macro_f1"], 4),
            "labels_per_text": round(float(pred.sum(1).mean()), 4) if len(pred) else 0.0}


def _cross_fitted(make: Callable[[], Decision], scores: np.ndarray, Y: np.ndarray, seed: int) -> np.ndarray:
    """Predictions of a decision fitted on validation, each half predicted by the decision fitted on the other
    half, so that it is not scored on the texts it was fitted on."""
    rng = np.random.default_rng(seed)
    half = rng.permutation(len(scores)) % 2 == 0
    pred = np.zeros(scores.shape, dtype=bool)
    for a in (half, ~half):
        if a.sum() == 0 or (~a).sum() == 0:
            return make().fit(scores, Y).predict(scores)
        pred[a] = make().fit(scores[~a], Y[~a]).predict(scores[a])
    return pred


class ShiftedCV(Decision):
    """Fit-time helper: cross-validated thresholds moved by one logit offset fitted on validation
    (by micro-F1 + macro-F1 over -2.0 ... 2.0, step 0.1); ``fit`` returns the shifted
    :class:`CVPerLabelThreshold`'s predictions through :meth:`predict`."""

    kind = "cv-shifted"
    GRID = tuple(np.round(np.arange(-2.0, 2.0001, 0.1), 1))

    def __init__(self, cv: CVPerLabelThreshold) -> None:
        self.cv, self.shift_ = cv, 0.0

    def _shifted(self, delta: float) -> np.ndarray:
        cv_th = self.cv.thresholds_
        assert cv_th is not None  # built by cv_thresholds
        th = np.clip(cv_th, 1e-12, 1 - 1e-12)
        never = cv_th >= 1.0
        out = 1.0 / (1.0 + np.exp(-(np.log(th) - np.log1p(-th) + delta)))
        out[never] = 1.0
        return out

    def fit(self, scores: np.ndarray, Y: np.ndarray) -> "ShiftedCV":
        best, best_val = 0.0, -1.0
        for delta in self.GRID:
            m = micro_macro(Y, _ensure_min_labels(scores, scores > self._shifted(delta)[None, :], self.cv.min_labels))
            val = m["micro_f1"] + m["macro_f1"]
            if val > best_val + 1e-9 or (abs(val - best_val) <= 1e-9 and abs(delta) < abs(best)):
                best, best_val = float(delta), val
        self.shift_ = best
        return self

    def predict(self, scores: np.ndarray) -> np.ndarray:
        s = _check_scores(scores)
        return _ensure_min_labels(s, s > self._shifted(self.shift_)[None, :], self.cv.min_labels)

    def decision(self) -> CVPerLabelThreshold:
        return CVPerLabelThreshold(self._shifted(self.shift_), self.cv.objective, self.cv.folds, self.cv.min_labels)

    def params(self) -> dict[str, Any]:
        return {"shift": self.shift_}


def bootstrap_scores(Y: np.ndarray, preds: dict[str, np.ndarray], samples: int = BOOTSTRAP_SAMPLES,
                     seed: int = 0) -> dict[str, np.ndarray]:
    """micro-F1 + macro-F1 (percent) of each prediction on ``samples`` bootstrap resamples of the texts.

    The same resamples for every prediction (paired); per-text counts are weighted by each
    resample's multiplicities, so one product per candidate gives all resamples.
    """
    n = len(Y)
    rng = np.random.default_rng(seed)
    weights = sp.csr_matrix(rng.multinomial(n, np.full(n, 1.0 / n), size=samples).astype(np.float64))
    Yb = sp.csr_matrix(Y.astype(np.float64))
    out = {}
    for name, pred in preds.items():
        P = sp.csr_matrix(pred.astype(np.float64))
        tp = np.asarray((weights @ P.multiply(Yb)).todense())
        fp = np.asarray((weights @ P).todense()) - tp
        fn = np.asarray((weights @ Yb).todense()) - tp
        out[name] = np.array([100 * (prf_from_counts(tp[b], fp[b], fn[b], "micro")["f1"]
                                     + prf_from_counts(tp[b], fp[b], fn[b], "macro")["f1"]) for b in range(samples)])
    return out


def tier_choice(report: dict[str, dict[str, float]], boot: dict[str, np.ndarray]) -> str:
    """The best candidate of the first tier of :data:`TIERS` whose best scores within :data:`TIER_SE`
    bootstrap standard errors of the overall best (see the module docstring)."""
    return _tier_rule(report, boot)[0]


def _tier_rule(report: dict[str, dict[str, float]], boot: dict[str, np.ndarray]) -> tuple[str, dict[str, Any] | None]:
    """:func:`tier_choice`, and what the rule compared (None when the overall best is in the first
    tier present)."""
    def total(k: str) -> float:
        return report[k]["micro_f1"] + report[k]["macro_f1"]

    best = max(report, key=total)
    tiers = _present_tiers(report)
    if best in tiers[0]:
        return best, None

    def se(a: str, b: str) -> float:
        return float(np.std(boot[a] - boot[b], ddof=1)) if len(boot[a]) > 1 else 0.0

    info = None
    for tier in tiers:
        lead = max(tier, key=total)
        if lead == best:
            break
        diff_se = se(best, lead)
        step = {"best": best, "simpler": lead, "difference_se": round(diff_se, 4)}
        if total(best) - total(lead) <= TIER_SE * diff_se:
            return lead, step
        info = info or step
    return best, info


def _present_tiers(names: Any) -> list[list[str]]:
    """The tiers of :data:`TIERS` restricted to ``names``, empty ones left out."""
    return [t for t in ([k for k in tier if k in names] for tier in TIERS) if t]


def choose_decision(name: str, val_scores: np.ndarray, Y_val: np.ndarray, cv: CVPerLabelThreshold | None,
                    joint: bool, options: dict[str, Any], seed: int = 0,
                    labelled_share: float = 0.0) -> tuple[Decision, dict[str, Any]]:
    """The decision for a fitted linear model, and what each candidate scored on validation.

    ``name='auto'``: the candidates of this module's docstring (``cv`` and ``cv+shift`` only
    with cross-validation folds), chosen by validation micro-F1 + macro-F1 with the
    standard-error rule over the tiers of :data:`TIERS`; ties go to the first of cv,
    cv+shift, global, per-label. The chosen one is then fitted on all validation texts, and,
    unless ``options`` sets ``min_labels``, predicts at least one label per text when
    ``labelled_share`` (the share of training texts with a label) reaches
    :data:`LABELLED_SHARE_FOR_ONE_LABEL` and validation does not show that minimum to cost more
    than two standard errors (``report['min_labels']`` says which, and what was compared). Any
    other name: that decision (``cv`` needs folds), fitted on validation.
    """
    Y_val = np.asarray(Y_val).astype(bool)
    if name != "auto":
        if name in ("cv", "cv-per-label"):
            if cv is None:
                raise ValueError("decision 'cv' needs cross-validation folds (cv_folds >= 2)")
            cv.min_labels = int(options.get("min_labels", 0))
            return cv, {"cv": _score(Y_val, cv.predict(val_scores))}
        d = make_decision(name, "sigmoid", **dict(options)).fit(val_scores, Y_val)
        return d, {name: _score(Y_val, d.predict(val_scores))}
    opts = dict(options)
    min_labels = int(opts.get("min_labels", 0))
    cands: dict[str, tuple[Decision, np.ndarray]] = {}
    if cv is not None:
        cv.min_labels = min_labels
        cands["cv"] = (cv, cv.predict(val_scores))

    def make_global() -> GlobalThreshold:
        return GlobalThreshold(grid=opts.get("grid", WIDE_GRID), min_labels=min_labels)

    pl_opts = {k: v for k, v in opts.items() if k in ("min_support", "min_labels", "grid")}

    def make_per_label() -> PerLabelThreshold:
        return PerLabelThreshold(**{"grid": WIDE_GRID, **pl_opts})

    if cv is not None:
        shifted = ShiftedCV(cv).fit(val_scores, Y_val)
        cands["cv+shift"] = (shifted.decision(), _cross_fitted(lambda: ShiftedCV(cv), val_scores, Y_val, seed))
    cands["global"] = (make_global().fit(val_scores, Y_val), _cross_fitted(make_global, val_scores, Y_val, seed))
    cands["per-label"] = (make_per_label().fit(val_scores, Y_val), _cross_fitted(make_per_label, val_scores, Y_val, seed))
    report: dict[str, Any] = {k: _score(Y_val, p) for k, (_, p) in cands.items()}
    best = max(cands, key=lambda k: report[k]["micro_f1"] + report[k]["macro_f1"])
    if best not in _present_tiers(cands)[0]:  # the bootstrap only when the rule can apply
        boot = bootstrap_scores(Y_val, {k: p for k, (_, p) in cands.items()}, seed=seed)
        best, report["tier_rule"] = _tier_rule({k: report[k] for k in cands}, boot)
    report["chosen"] = best
    chosen = cands[best][0]
    if "min_labels" not in opts and labelled_share >= LABELLED_SHARE_FOR_ONE_LABEL:
        report["min_labels"] = _minimum_one_label(val_scores, Y_val, cands[best][1], labelled_share, seed)
        chosen.min_labels = report["min_labels"]["value"]
    return chosen, report


def _minimum_one_label(val_scores: np.ndarray, Y_val: np.ndarray, without: np.ndarray, labelled_share: float,
                       seed: int) -> dict[str, Any]:
    """What was compared, with ``value`` 1 (at least one label per text) unless the chosen decision's
    validation predictions ``without`` it (cross-fitted where the decision was fitted on validation, as
    when it was chosen) score higher than the same with the minimum by more than
    :data:`MINIMUM_DROP_SE` bootstrap standard errors of the difference, else 0 (see the module
    docstring)."""
    s = _check_scores(val_scores)
    with_min = _ensure_min_labels(s, np.array(without, dtype=bool), 1)
    info: dict[str, Any] = {"value": 1, "labelled_share": round(float(labelled_share), 4)}
    if np.array_equal(with_min, without):
        return info
    a, b = _score(Y_val, with_min), _score(Y_val, without)
    boot = bootstrap_scores(Y_val, {"with": with_min, "without": without}, seed=seed)
    diff_se = float(np.std(boot["without"] - boot["with"], ddof=1))
    info.update(with_minimum=a, without=b, difference_se=round(diff_se, 4))
    if (b["micro_f1"] + b["macro_f1"]) - (a["micro_f1"] + a["macro_f1"]) > MINIMUM_DROP_SE * diff_se:
        info["value"] = 0
    return info
