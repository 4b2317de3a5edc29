"""Cross-validated per-label thresholds, and the choice of a decision on validation.

Per-label thresholds fitted on a small validation split over-fit rare labels: a label with
two validation positives gets whatever threshold happens to catch them, often one that
fires on most texts. Thresholds fitted on the *out-of-fold* scores of a k-fold
cross-validation over the training texts see every training positive instead (Fan & Lin,
"A Study on Threshold Selection for Multi-label Classification", 2007; Lin et al., "On the
Thresholding Strategy for Infrequent Labels in Multi-label Classification", CIKM 2023).

For each label and each fold, the cut through the sorted held-out scores maximising the
objective is found; the label's threshold is the mean over folds (each cut measured from its
fold model's intercept and placed at the final model's intercept), leaving out folds whose
training part holds no positive of the label (such a model scores the label on another scale
altogether; a label with no training positive is never predicted). Objectives:

- ``micro+macro`` (default): the label's F1 divided by the number of labels processed so
  far plus the micro-F1 of all labels processed so far, labels taken from the most to the
  least frequent (Lin et al., 2023). A rare label whose predictions would cost more
  micro-F1 than they add macro-F1 stays silent, so predicted cardinality stays near the
  gold one.
- ``f1``: the label's own F1 (SCut), with the FBR fallback: where the best F1 of a fold is
  below ``fbr``, the threshold is set above the fold's highest score (Fan & Lin, 2007).

Only the ``max(50, 20 * positives)`` best-scored held-out texts are candidates for a cut:
predicting a label for twenty times more texts than carry it caps its precision at 5%.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import scipy.sparse as sp

from ..metrics import micro_macro
from .thresholds import (WIDE_GRID, Decision, GlobalThreshold, PerLabelThreshold, _check_scores, _ensure_min_labels,
                         make_decision, predict_per_label)

OBJECTIVES = ("micro+macro", "f1")


class CVPerLabelThreshold(Decision):
    """Per-label thresholds (on scores) fitted on out-of-fold training scores.

    Built by :func:`cv_thresholds`; ``fit`` on validation scores is not defined for it.
    """

    kind = "cv-per-label"

    def __init__(self, thresholds: Sequence[float] | np.ndarray | None = None, objective: str = "micro+macro", folds: int = 3,
                 min_labels: int = 0) -> None:
        if objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
        self.thresholds_ = None if thresholds is None else np.asarray(thresholds, dtype=np.float64)
        self.objective, self.folds, self.min_labels = objective, int(folds), int(min_labels)

    def fit(self, scores: np.ndarray, Y: np.ndarray) -> "CVPerLabelThreshold":
        if self.thresholds_ is None:
            raise RuntimeError("cross-validated thresholds come from the training folds (mltc.decision.cv.cv_thresholds)")
        return self

    def predict(self, scores: np.ndarray) -> np.ndarray:
        return predict_per_label(self.thresholds_, scores, self.min_labels, "CVPerLabelThreshold")

    def params(self) -> dict[str, Any]:
        return {"thresholds": None if self.thresholds_ is None else self.thresholds_.tolist(),
                "objective": self.objective, "folds": self.folds, "min_labels": self.min_labels}


def _best_cut(s: np.ndarray, y: np.ndarray, objective: str, acc: dict[str, float], fbr: float) -> tuple[float, int, int, int]:
    """The threshold (in the units of ``s``) for one fold, and the fold's tp, fp, fn at it."""
    P = int(y.sum())
    n = len(s)
    m_max = min(n, max(50, 20 * P))
    if m_max < n:
        top = np.argpartition(-s, m_max - 1)[:m_max]
    else:
        top = np.arange(n)
    order = top[np.argsort(-s[top], kind="stable")]
    ss, yy = s[order], y[order]
    tp = np.concatenate([[0], np.cumsum(yy)])  # predicting the first m texts, m = 0..m_max
    m = np.arange(len(tp))
    fp, fn = m - tp, P - tp
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), 0.0)
        if objective == "micro+macro":
            T, Fp, Fn = acc["tp"] + tp, acc["fp"] + fp, acc["fn"] + fn
            micro = np.where(2 * T + Fp + Fn > 0, 2 * T / (2 * T + Fp + Fn), 0.0)
            obj = f1 / acc["labels"] + micro
        else:
            obj = f1
    best = int(np.flatnonzero(obj >= obj.max() - 1e-12)[0])  # ties: the fewest predictions
    if objective == "f1" and f1[best] < fbr:
        best = 0
    if best == 0:  # above the highest score (the candidates hold the top scores)
        th = float(np.nextafter(ss[0], np.inf)) if len(ss) else 0.0
    elif best == len(ss):
        th = float(np.nextafter(ss[-1], -np.inf))
    else:
        th = float((ss[best - 1] + ss[best]) / 2)
    return th, int(tp[best]), int(fp[best]), int(fn[best])


def cv_thresholds(oof: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]], Y: sp.csr_matrix, class_freq: np.ndarray,
                  num_labels: int, objective: str = "micro+macro", fbr: float = 0.1,
                  activation: str = "sigmoid") -> CVPerLabelThreshold:
    """Per-label thresholds from out-of-fold logits.

    Parameters
    ----------
    oof : list of (label ids, logits (n, k), fold of each text (n,)[, fold intercepts (folds, k), final intercepts (k,)])
        Blocks of labels in the order they are to be processed (most frequent first for the
        ``micro+macro`` objective). With the intercepts, each fold's cut is taken relative to
        its model's intercept and moved onto the final model's: a model fitted on all the
        training texts has seen more positives of a rare label and scores all texts higher,
        so a raw fold cut would fire on every text.
    Y : sparse (n, L)
        Training targets.
    activation : {'sigmoid', 'identity'}
        The thresholds are returned on the score scale (``sigmoid`` of the logit cut).
    """
    if objective not in OBJECTIVES:
        raise ValueError(f"cv objective must be one of {OBJECTIVES}, got {objective!r}")
    Yc = sp.csc_matrix(Y)
    th = np.zeros(num_labels)
    acc = {"tp": 0.0, "fp": 0.0, "fn": 0.0, "labels": 0}
    folds = 0
    for block in oof:
        cols, scores, fold_of = block[:3]
        fold_bias, final_bias = (block[3], block[4]) if len(block) > 3 else (None, None)
        folds = int(fold_of.max()) + 1
        masks = [fold_of == k for k in range(folds)]
        for c, j in enumerate(cols):
            y = np.asarray(Yc[:, j].toarray()).ravel() > 0
            acc["labels"] += 1
            cuts, sums = [], np.zeros(3)
            total = int(y.sum())
            for k, mk in enumerate(masks):
                yk = y[mk]
                t, tp, fp, fn = _best_cut(scores[mk, c].astype(np.float64), yk, objective, acc, fbr)
                sums += (tp, fp, fn)
                if total - int(yk.sum()) > 0:  # a fold model that never saw the label says nothing of its scale
                    cuts.append(t if fold_bias is None else t - float(fold_bias[k, c]))
            acc["tp"] += sums[0]
            acc["fp"] += sums[1]
            acc["fn"] += sums[2]
            shift = 0.0 if final_bias is None else float(final_bias[c])
            th[j] = shift + float(np.mean(cuts)) if cuts else np.inf
    never = ~np.isfinite(th)
    if activation == "sigmoid":
        th = 1.0 / (1.0 + np.exp(-np.clip(th, -80, 80)))
        th[never] = 1.0  # sigmoid scores never exceed 1: the label is never predicted
    else:
        th[never] = np.finfo(np.float64).max
    return CVPerLabelThreshold(th, objective, folds)


def _score(Y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    m = micro_macro(Y, pred)
    return {"micro_f1": round(m["micro_f1"], 4), "macro_f1": round(m["macro_f1"], 4),
            "labels_per_text": round(float(pred.sum(1).mean()), 4) if len(pred) else 0.0}


def _cross_fitted(make, scores: np.ndarray, Y: np.ndarray, seed: int) -> np.ndarray:
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


def choose_decision(name: str, val_scores: np.ndarray, Y_val: np.ndarray, cv: CVPerLabelThreshold | None,
                    joint: bool, options: dict[str, Any], seed: int = 0) -> tuple[Decision, dict[str, Any]]:
    """The decision for a fitted linear model, and what each candidate scored on validation.

    ``name='auto'`` compares one global threshold and per-label thresholds fitted on
    validation with the cross-validated thresholds (fitted on the training texts alone), by
    validation micro-F1 + macro-F1, and keeps the best (ties: cv, cv+shift, global,
    per-label); ``cv+shift`` is the cross-validated thresholds moved by one logit offset fitted
    on validation, for when the fold models score on a slightly other scale. The
    validation-fitted candidates are scored by 2-fold cross-fitting on the validation texts
    (each half predicted by the decision fitted on the other half): scored on the texts they
    were fitted on they would look better than they are, and the comparison with thresholds
    that never saw validation would not be fair. The chosen one is then fitted on all of it.
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
    def make_global():
        return GlobalThreshold(grid=opts.get("grid", WIDE_GRID), min_labels=min_labels)

    pl_opts = {k: v for k, v in opts.items() if k in ("min_support", "min_labels", "grid")}

    def make_per_label():
        return PerLabelThreshold(**{"grid": WIDE_GRID, **pl_opts})

    if cv is not None:
        shifted = ShiftedCV(cv).fit(val_scores, Y_val)
        cands["cv+shift"] = (shifted.decision(), _cross_fitted(lambda: ShiftedCV(cv), val_scores, Y_val, seed))
    cands["global"] = (make_global().fit(val_scores, Y_val), _cross_fitted(make_global, val_scores, Y_val, seed))
    cands["per-label"] = (make_per_label().fit(val_scores, Y_val), _cross_fitted(make_per_label, val_scores, Y_val, seed))
    report: dict[str, Any] = {k: _score(Y_val, p) for k, (_, p) in cands.items()}
    best = max(cands, key=lambda k: report[k]["micro_f1"] + report[k]["macro_f1"])
    decision = cands[best][0]
    report["chosen"] = best
    return decision, report
