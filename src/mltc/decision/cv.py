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

from .thresholds import Decision, predict_per_label

OBJECTIVES = ("micro+macro", "f1")


class CVPerLabelThreshold(Decision):
    """Per-label thresholds (on scores) fitted on out-of-fold training scores.

    Built by :class:`CVThresholdFit` (or :func:`cv_thresholds`); ``fit`` on validation scores is not
    defined for it.
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
            raise RuntimeError("cross-validated thresholds come from the training folds (mltc.decision.cv.CVThresholdFit)")
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


class CVThresholdFit:
    """Cross-validated per-label thresholds built block by block, as the labels are fitted.

    Blocks come in the order they are to be processed (most frequent labels first for the
    ``micro+macro`` objective, whose running micro counts carry from block to block), and only
    the cut each fold gives each label is kept: the fitter holds one block's out-of-fold
    scores at a time (texts x block), never texts x labels.

    >>> fit = CVThresholdFit(Y, num_labels)
    >>> for block in blocks: fit.add(block)   # (label ids, logits, fold of each text[, fold / final intercepts])
    >>> decision = fit.result()
    """

    def __init__(self, Y: sp.spmatrix, num_labels: int, objective: str = "micro+macro", fbr: float = 0.1) -> None:
        if objective not in OBJECTIVES:
            raise ValueError(f"cv objective must be one of {OBJECTIVES}, got {objective!r}")
        self.Yc = sp.csc_matrix(Y)
        self.objective, self.fbr = objective, fbr
        self.th = np.zeros(num_labels)
        self.acc = {"tp": 0.0, "fp": 0.0, "fn": 0.0, "labels": 0}
        self.folds = 0

    def add(self, block: Sequence[Any]) -> None:
        """One block: label ids (k,), out-of-fold logits (n, k), fold of each text (n,), and optionally
        fold intercepts (folds, k) and the final model's intercepts (k,) (see :func:`cv_thresholds`)."""
        cols, scores, fold_of = block[:3]
        fold_bias, final_bias = (block[3], block[4]) if len(block) > 3 else (None, None)
        self.folds = folds = int(fold_of.max()) + 1
        masks = [fold_of == k for k in range(folds)]
        acc = self.acc
        for c, j in enumerate(cols):
            y = np.asarray(self.Yc[:, j].toarray()).ravel() > 0
            acc["labels"] += 1
            cuts, sums = [], np.zeros(3)
            total = int(y.sum())
            for k, mk in enumerate(masks):
                yk = y[mk]
                t, tp, fp, fn = _best_cut(scores[mk, c].astype(np.float64), yk, self.objective, acc, self.fbr)
                sums += (tp, fp, fn)
                if total - int(yk.sum()) > 0:  # a fold model that never saw the label says nothing of its scale
                    cuts.append(t if fold_bias is None else t - float(fold_bias[k, c]))
            acc["tp"] += sums[0]
            acc["fp"] += sums[1]
            acc["fn"] += sums[2]
            shift = 0.0 if final_bias is None else float(final_bias[c])
            self.th[j] = shift + float(np.mean(cuts)) if cuts else np.inf

    def result(self, activation: str = "sigmoid") -> CVPerLabelThreshold:
        """The thresholds on the score scale (``sigmoid`` of the logit cut, or the margin itself)."""
        th = self.th.copy()
        never = ~np.isfinite(th)
        if activation == "sigmoid":
            th = 1.0 / (1.0 + np.exp(-np.clip(th, -80, 80)))
            th[never] = 1.0  # sigmoid scores never exceed 1: the label is never predicted
        else:
            th[never] = np.finfo(np.float64).max
        return CVPerLabelThreshold(th, self.objective, self.folds)


def cv_thresholds(oof: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]], Y: sp.csr_matrix, class_freq: np.ndarray,
                  num_labels: int, objective: str = "micro+macro", fbr: float = 0.1,
                  activation: str = "sigmoid") -> CVPerLabelThreshold:
    """Per-label thresholds from out-of-fold logits (all blocks at once; :class:`CVThresholdFit` takes them one by one).

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
    fit = CVThresholdFit(Y, num_labels, objective, fbr)
    for block in oof:
        fit.add(block)
    return fit.result(activation)
