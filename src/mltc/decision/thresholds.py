"""Decisions: turn scores into label sets, fitted on validation data.

- :class:`GlobalThreshold`: one threshold maximising validation micro-F1 over a grid (the
  paper's 0.40, 0.41, ..., 0.60 by default; Huang et al., 2021).
- :class:`PerLabelThreshold`: one threshold per label maximising that label's F1, with a
  fallback to the global threshold for labels with too few validation positives (the
  "SCut" strategy; Yang, "A study of thresholding strategies for text categorization",
  SIGIR 2001).
- :class:`TopK`: the k best scored labels ("RCut").
- :class:`FixedThreshold`: a constant, e.g. ZLPR's logit 0 (0.5 after a sigmoid).

A fitted decision is small and saves to / loads from JSON.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..io import read_json, write_json
from ..registry import Registry

PAPER_GRID = tuple(np.round(np.arange(0.40, 0.6001, 0.01), 2).tolist())
SVM_GRID = tuple(np.round(np.arange(-1.0, 1.0001, 0.1), 1).tolist())
WIDE_GRID = tuple(np.round(np.arange(0.01, 0.9901, 0.01), 2).tolist())


NAMED_GRIDS = {"paper": PAPER_GRID, "svm": SVM_GRID, "wide": WIDE_GRID}


def resolve_grid(grid: Sequence[float] | str) -> tuple[float, ...]:
    """A grid given as numbers or by name: ``paper`` (0.40..0.60), ``wide`` (0.01..0.99), ``svm``."""
    if isinstance(grid, str):
        if grid not in NAMED_GRIDS:
            raise ValueError(f"unknown grid {grid!r}; named grids: {', '.join(NAMED_GRIDS)}")
        return NAMED_GRIDS[grid]
    return tuple(float(g) for g in grid)


def _check_scores(scores: np.ndarray) -> np.ndarray:
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 2:
        raise ValueError(f"scores must be a 2-D (texts x labels) array, got shape {s.shape}")
    if not np.all(np.isfinite(s)):
        raise ValueError("scores contain NaN or infinity")
    return s


def _ensure_min_labels(scores: np.ndarray, pred: np.ndarray, min_labels: int) -> np.ndarray:
    if min_labels <= 0 or scores.shape[1] == 0:
        return pred
    short = pred.sum(1) < min_labels
    if short.any():
        k = min(min_labels, scores.shape[1])
        top = np.argsort(-scores[short], axis=1, kind="stable")[:, :k]
        rows = np.flatnonzero(short)
        pred[rows[:, None], top] = True
    return pred


class Decision:
    """Base class: ``fit(scores, Y)``, ``predict(scores)``, ``to_dict()``/``from_dict()``."""

    kind = "base"
    curve_: dict | None = None  # (grid, F1) for plotting, where a decision searched a grid

    def fit(self, scores: np.ndarray, Y: np.ndarray) -> "Decision":
        return self

    def predict(self, scores: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def params(self) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **self.params()}

    def save(self, path: str | Path) -> None:
        write_json(path, self.to_dict())

    @staticmethod
    def load(path: str | Path) -> "Decision":
        return decision_from_dict(read_json(path))

    def __repr__(self) -> str:
        def show(v: Any) -> str:
            if isinstance(v, (list, tuple)) and len(v) > 6:
                return f"<{len(v)} values, {min(v)}..{max(v)}>"
            return repr(v)
        args = ", ".join(f"{k}={show(v)}" for k, v in self.params().items() if k not in ("curve", "thresholds"))
        if self.params().get("thresholds") is not None:
            th = np.asarray(self.params()["thresholds"], dtype=float)
            args += f"{', ' if args else ''}thresholds=<{len(th)} per label, median {np.median(th):.3g}>"
        return f"{type(self).__name__}({args})"


def _micro_f1_curve(scores: np.ndarray, Y: np.ndarray, grid: Sequence[float]) -> np.ndarray:
    T = np.asarray(Y).astype(bool)
    n_true = T.sum()
    f1 = np.empty(len(grid))
    for i, t in enumerate(grid):
        P = scores > t
        tp = (P & T).sum()
        n_pred = P.sum()
        f1[i] = 2 * tp / (n_pred + n_true) if (n_pred + n_true) else 0.0
    return f1


class GlobalThreshold(Decision):
    """One threshold for all labels; predict label j when ``score > threshold``.

    Fitting picks the grid value with the best validation micro-F1 (the first one on ties).
    ``curve_`` keeps (grid, F1) for plotting.
    """

    kind = "global"

    def __init__(self, threshold: float | None = None, grid: Sequence[float] | str = PAPER_GRID, min_labels: int = 0) -> None:
        self.grid = resolve_grid(grid)
        if not self.grid and threshold is None:
            raise ValueError("an empty grid needs an explicit threshold")
        self.threshold_ = None if threshold is None else float(threshold)
        self.min_labels = int(min_labels)
        self.curve_: dict | None = None

    def fit(self, scores: np.ndarray, Y: np.ndarray) -> "GlobalThreshold":
        s = _check_scores(scores)
        f1 = _micro_f1_curve(s, Y, self.grid)
        self.threshold_ = self.grid[int(np.argmax(f1))]
        self.curve_ = {"grid": list(self.grid), "micro_f1": (100 * f1).tolist()}
        return self

    def predict(self, scores: np.ndarray) -> np.ndarray:
        if self.threshold_ is None:
            raise RuntimeError("GlobalThreshold is not fitted")
        s = _check_scores(scores)
        return _ensure_min_labels(s, s > self.threshold_, self.min_labels)

    def params(self) -> dict[str, Any]:
        return {"threshold": self.threshold_, "grid": list(self.grid), "min_labels": self.min_labels, "curve": self.curve_}


class FixedThreshold(GlobalThreshold):
    """A constant threshold that fitting leaves alone (ZLPR's zero: 0.5 on sigmoid scores)."""

    kind = "fixed"

    def __init__(self, threshold: float = 0.5, min_labels: int = 0, grid: Sequence[float] = ()) -> None:
        super().__init__(threshold, (), min_labels)

    def fit(self, scores: np.ndarray, Y: np.ndarray) -> "FixedThreshold":
        return self

    def params(self) -> dict[str, Any]:
        return {"threshold": self.threshold_, "min_labels": self.min_labels}


def predict_per_label(thresholds: np.ndarray | None, scores: np.ndarray, min_labels: int, name: str) -> np.ndarray:
    """``scores > thresholds`` column by column (at least ``min_labels`` per text), shapes checked."""
    if thresholds is None:
        raise RuntimeError(f"{name} is not fitted")
    s = _check_scores(scores)
    if s.shape[1] != len(thresholds):
        raise ValueError(f"scores have {s.shape[1]} labels, thresholds {len(thresholds)}")
    return _ensure_min_labels(s, s > thresholds[None, :], min_labels)


class PerLabelThreshold(Decision):
    """One threshold per label, each maximising that label's validation F1.

    Labels with fewer than ``min_support`` positive validation texts use the global
    threshold (fitted on ``global_grid`` by micro-F1). Ties between grid values go to the
    one closest to the global threshold.
    """

    kind = "per-label"

    def __init__(self, grid: Sequence[float] | str = WIDE_GRID, global_grid: Sequence[float] | str = PAPER_GRID,
                 min_support: int = 2, min_labels: int = 0, thresholds: Sequence[float] | None = None,
                 global_threshold: float | None = None) -> None:
        self.grid = resolve_grid(grid)
        self.global_grid = resolve_grid(global_grid)
        self.min_support, self.min_labels = int(min_support), int(min_labels)
        self.thresholds_ = None if thresholds is None else np.asarray(thresholds, dtype=np.float64)
        self.global_threshold_ = global_threshold
        self.fallback_: list[int] = []
        self.curve_: dict | None = None

    def fit(self, scores: np.ndarray, Y: np.ndarray) -> "PerLabelThreshold":
        s = _check_scores(scores)
        T = np.asarray(Y).astype(bool)
        glob = GlobalThreshold(grid=self.global_grid).fit(s, T)
        self.global_threshold_ = glob.threshold_
        self.curve_ = glob.curve_
        grid = np.asarray(self.grid)
        th = np.full(s.shape[1], glob.threshold_)
        support = T.sum(0)
        self.fallback_ = np.flatnonzero(support < self.min_support).tolist()
        for j in np.flatnonzero(support >= self.min_support):
            P = s[:, j][:, None] > grid[None, :]
            tp = (P & T[:, j][:, None]).sum(0)
            f1 = 2 * tp / (P.sum(0) + support[j])
            best = np.flatnonzero(f1 == f1.max())
            th[j] = grid[best[np.argmin(np.abs(grid[best] - glob.threshold_))]]
        self.thresholds_ = th
        return self

    def predict(self, scores: np.ndarray) -> np.ndarray:
        return predict_per_label(self.thresholds_, scores, self.min_labels, "PerLabelThreshold")

    def params(self) -> dict[str, Any]:
        return {"thresholds": None if self.thresholds_ is None else self.thresholds_.tolist(),
                "global_threshold": self.global_threshold_, "grid": list(self.grid),
                "global_grid": list(self.global_grid), "min_support": self.min_support, "min_labels": self.min_labels,
                "curve": self.curve_}


class TopK(Decision):
    """Predict the ``k`` best scored labels of every text (ties broken by label index)."""

    kind = "top-k"

    def __init__(self, k: int = 1) -> None:
        if int(k) < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        self.k = int(k)

    def predict(self, scores: np.ndarray) -> np.ndarray:
        s = _check_scores(scores)
        pred = np.zeros(s.shape, dtype=bool)
        return _ensure_min_labels(s, pred, self.k)

    def params(self) -> dict[str, Any]:
        return {"k": self.k}


def _make_zero(activation: str, **options: Any) -> Decision:
    return FixedThreshold(0.0 if activation == "identity" else 0.5, min_labels=options.get("min_labels", 0))


def _make_global(activation: str, **options: Any) -> Decision:
    options.setdefault("grid", SVM_GRID if activation == "identity" else PAPER_GRID)
    return GlobalThreshold(**options)


def _make_per_label(activation: str, **options: Any) -> Decision:
    margin = activation == "identity"
    options.setdefault("grid", tuple(np.round(np.arange(-1.5, 1.501, 0.05), 2)) if margin else WIDE_GRID)
    options.setdefault("global_grid", SVM_GRID if margin else PAPER_GRID)
    return PerLabelThreshold(**options)


#: decision name -> Decision class (its ``kind``, for loading); metadata ``make(activation, **options)`` builds
#: an unfitted one where the class alone does not (grids by score range), ``fitters`` limits it to some fitters
DECISIONS = Registry("decision", defaults={"make": None, "fitters": None})
DECISIONS.register("global", GlobalThreshold, make=_make_global,
                   help="one threshold maximising validation micro-F1 (the neural models' default)")
DECISIONS.register("per-label", PerLabelThreshold, make=_make_per_label,
                   help="one threshold per label fitted on validation (global one for rare labels)")
DECISIONS.register("top-k", TopK, help="the k best scored labels")
DECISIONS.register("zero", FixedThreshold, make=_make_zero, help="logit 0 (score 0.5; margin 0 for the SVM)")
DECISIONS.register("fixed", FixedThreshold, help="a constant threshold (decision_options.threshold)")


def decision_from_dict(d: dict[str, Any]) -> Decision:
    """Rebuild a (fitted) decision from :meth:`Decision.to_dict` output."""
    d = dict(d)
    kind = d.pop("kind", None)
    cls = DECISIONS.get(kind) if isinstance(kind, str) else None
    if cls is None or getattr(cls, "kind", None) != kind:
        raise ValueError(f"unknown decision kind {kind!r}; known: {', '.join(saved_kinds())}")
    curve = d.pop("curve", None)
    obj = cls(**d)
    if curve is not None:
        obj.curve_ = curve
    return obj


def saved_kinds() -> list[str]:
    """The ``kind`` values a saved ``decision.json`` may hold (registered Decision classes)."""
    return [n for n, c in DECISIONS.items() if isinstance(c, type) and getattr(c, "kind", None) == n]


def make_decision(name: str, activation: str = "sigmoid", **options: Any) -> Decision:
    """Build an unfitted decision by name: any entry of :data:`DECISIONS` (``global``, ``per-label``,
    ``top-k``, ``zero``, ``fixed`` and registered ones).

    ``activation`` picks sensible grids: probabilities for ``sigmoid``, SVM margins for
    ``identity`` (the paper's -1.0 ... 1.0), and ``zero`` means logit 0.
    """
    key = DECISIONS.find(name)
    entry = DECISIONS.entry(key) if key else None
    if entry is None or entry.obj is None:
        usable = [n for n in DECISIONS if DECISIONS[n] is not None]
        why = f" is chosen by the {'/'.join(entry.get('fitters'))} fitter" if entry else ""
        raise ValueError(f"unknown decision {name!r}{why}; choose {', '.join(usable)}")
    make = entry.get("make")
    return make(activation, **options) if make else entry.obj(**options)
