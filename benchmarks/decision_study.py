"""How steady is the default's decision? Fit once per (data set, seed), then score decision rules.

The default (``tfidf-linear``, squared hinge, ``decision=auto``) fits its model and the
out-of-fold scores of a k-fold cross-validation once; every decision rule is then a cheap
function of those scores. This script captures, per data set and seed, the out-of-fold
blocks, the validation and the test scores (cached as ``.npz`` under ``--cache``), and
scores each rule of :data:`RULES` on test, with the rule's choice made on validation only.

    python benchmarks/decision_study.py reuters21578 goemotions --seeds 1 2 3 \
        --out benchmarks/results/decision_study

Seeds change the cross-validation folds, the bootstrap and the SVM solver's random order;
the data split is each data set's fixed one.
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import scipy.sparse as sp

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from peers import load_named, short_name  # noqa: E402  (data sets named as peers.py names them)


def load(name: str):
    """The splits of ``name``: ``synthetic[-SCALE]`` written afresh, else as ``benchmarks/peers.py`` reads it."""
    if name.startswith("synthetic"):
        import tempfile

        import synthetic
        from mltc.data import load_files
        paths = synthetic.write_splits(Path(tempfile.mkdtemp()), synthetic.scale_of(name))
        return load_files(str(paths["train"]), str(paths["validation"]), str(paths["test"]))
    return load_named(name)


def shown_name(name: str) -> str:
    """``name`` as the summary's command line shows it (a ``files:`` set without its temporary paths)."""
    return f"files:{short_name(name)}=..." if name.startswith("files:") else name


def capture(name: str, seed: int, cache: Path) -> dict[str, Any]:
    """Fit the default on ``name`` with ``seed``; the arrays every rule needs (cached)."""
    path = cache / f"{short_name(name)}-seed{seed}.npz"
    if path.exists():
        z = np.load(path, allow_pickle=False)
        blocks = int(z["blocks"])
        oof = [tuple(z[f"oof{b}_{i}"] for i in range(5)) for b in range(blocks)]
        return {"oof": oof, "Y": sp.csr_matrix((z["Y_data"], z["Y_indices"], z["Y_indptr"]), shape=tuple(z["Y_shape"])),
                **{k: z[k] for k in ("val", "Y_val", "test", "Y_test", "freq")}, "seconds": float(z["seconds"])}
    import mltc
    import mltc.training.linear as lin
    data = load(name)
    got: dict[str, Any] = {}
    real_cv, real_choose = lin.CVThresholdFit, lin.choose_decision
    got["oof"] = []

    class cv_spy(real_cv):  # type: ignore[valid-type,misc]  # keeps each block of out-of-fold scores
        def __init__(self, Y, num_labels, *args, **kw):
            got.update(Y=sp.csr_matrix(Y))
            super().__init__(Y, num_labels, *args, **kw)

        def add(self, block):
            got["oof"].append(tuple(np.array(a, copy=True) for a in block))
            super().add(block)

    def choose_spy(name_, val_scores, Y_val, cv, joint, options, seed=0, **kw):
        got.update(val=np.asarray(val_scores, np.float32), Y_val=np.asarray(Y_val, bool))
        return real_choose(name_, val_scores, Y_val, cv, joint, options, seed=seed, **kw)

    lin.CVThresholdFit, lin.choose_decision = cv_spy, choose_spy
    try:
        t = time.time()
        clf = mltc.train(data.train, data.validation, mltc.TrainConfig(seed=seed), progress=False)
        got["seconds"] = time.time() - t
    finally:
        lin.CVThresholdFit, lin.choose_decision = real_cv, real_choose
    got["freq"] = np.asarray(clf.label_space.class_freq_, np.float64)
    got["test"] = np.asarray(clf.scores([e.text for e in data.test]), np.float32)
    got["Y_test"] = np.asarray(clf.label_space.encode(e.labels for e in data.test).Y, bool)
    Y = got["Y"]
    arrays = {"blocks": len(got["oof"]), "Y_data": Y.data, "Y_indices": Y.indices, "Y_indptr": Y.indptr,
              "Y_shape": np.array(Y.shape), "seconds": got["seconds"],
              **{k: got[k] for k in ("val", "Y_val", "test", "Y_test", "freq")}}
    for b, block in enumerate(got["oof"]):
        for i, a in enumerate(block):
            arrays[f"oof{b}_{i}"] = np.asarray(a)
    cache.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)
    return capture(name, seed, cache)


# ----------------------------------------------------------------------------------- rules
def score(Y: np.ndarray, pred: np.ndarray, freq: np.ndarray) -> dict[str, float]:
    from mltc.data.labels import label_groups
    from mltc.metrics import micro_macro
    m = micro_macro(Y, pred)
    out = {"micro": m["micro_f1"], "macro": m["macro_f1"], "lpt": float(pred.sum(1).mean())}
    tail = label_groups(freq)["tail"]
    out["tail"] = micro_macro(Y, pred, labels=tail)["macro_f1"] if len(tail) else float("nan")
    return out


def rule_named(kind: str, minimum: bool = True, **options: Any) -> Callable[[dict[str, Any], int], tuple[np.ndarray, str]]:
    """The decision ``kind`` as mltc chooses it (``minimum=False``: without at least one label per text where
    every training text has one)."""
    def rule(d: dict[str, Any], seed: int) -> tuple[np.ndarray, str]:
        from mltc.decision.choose import choose_decision
        from mltc.decision.cv import cv_thresholds
        cv = cv_thresholds(d["oof"], d["Y"], d["freq"], d["Y"].shape[1])
        dec, report = choose_decision(kind, d["val"], d["Y_val"], cv, False, dict(options), seed=seed,
                                      labelled_share=labelled_share(d) if minimum else 0.0)
        dropped = report.get("min_labels", {}).get("value") == 0
        return dec.predict(d["test"]), report.get("chosen", kind) + (" (no minimum)" if dropped else "")
    return rule


def rule_tier_se(multiple: float) -> Callable[[dict[str, Any], int], tuple[np.ndarray, str]]:
    """``auto`` whose later tiers (global, then validation-fitted per-label thresholds) must beat the earlier
    ones by ``multiple`` bootstrap standard errors instead of :data:`mltc.decision.choose.TIER_SE`."""
    def rule(d: dict[str, Any], seed: int) -> tuple[np.ndarray, str]:
        from mltc.decision import choose
        kept = choose.TIER_SE
        choose.TIER_SE = multiple
        try:
            return rule_named("auto")(d, seed)
        finally:
            choose.TIER_SE = kept
    return rule


def rule_minimum_always(d: dict[str, Any], seed: int) -> tuple[np.ndarray, str]:
    """``auto`` as it was before the minimum could be dropped: chosen without it, then at least one label per
    text wherever 99% of the training texts have one, whatever validation says."""
    from mltc.decision.choose import LABELLED_SHARE_FOR_ONE_LABEL, choose_decision
    from mltc.decision.cv import cv_thresholds
    cv = cv_thresholds(d["oof"], d["Y"], d["freq"], d["Y"].shape[1])
    dec, report = choose_decision("auto", d["val"], d["Y_val"], cv, False, {}, seed=seed, labelled_share=0.0)
    dec.min_labels = int(labelled_share(d) >= LABELLED_SHARE_FOR_ONE_LABEL)
    return dec.predict(d["test"]), report.get("chosen", "auto")


def labelled_share(d: dict[str, Any]) -> float:
    """The share of training texts with at least one label."""
    return float((np.diff(d["Y"].indptr) > 0).mean())


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return np.log(p) - np.log1p(-p)


def pooled_thresholds(d: dict[str, Any], objective: str = "micro+macro", fbr: float = 0.1) -> np.ndarray:
    """Per-label logit cuts found once over all out-of-fold scores, each fold's scores moved from its
    model's intercept onto the final model's."""
    from mltc.decision.cv import _best_cut
    Yc = sp.csc_matrix(d["Y"])
    L = Yc.shape[1]
    th = np.full(L, np.inf)
    acc = {"tp": 0.0, "fp": 0.0, "fn": 0.0, "labels": 0}
    for cols, scores, fold_of, fold_bias, final_bias in d["oof"]:
        for c, j in enumerate(cols):
            y = np.asarray(Yc[:, j].toarray()).ravel() > 0
            acc["labels"] += 1
            s = scores[:, c].astype(np.float64) - fold_bias[fold_of, c] + final_bias[c]
            t, tp, fp, fn = _best_cut(s, y, objective, acc, fbr)
            acc["tp"] += tp
            acc["fp"] += fp
            acc["fn"] += fn
            th[j] = t if y.any() else np.inf
    return th


def per_label_predict(th_logit: np.ndarray, scores: np.ndarray) -> np.ndarray:
    return logit(scores.astype(np.float64)) > th_logit[None, :]


def rule_pooled(objective: str) -> Callable[[dict[str, Any], int], tuple[np.ndarray, str]]:
    def rule(d: dict[str, Any], seed: int) -> tuple[np.ndarray, str]:
        return per_label_predict(pooled_thresholds(d, objective), d["test"]), "pooled"
    return rule


def rule_cv_objective(objective: str) -> Callable[[dict[str, Any], int], tuple[np.ndarray, str]]:
    def rule(d: dict[str, Any], seed: int) -> tuple[np.ndarray, str]:
        from mltc.decision.cv import cv_thresholds
        cv = cv_thresholds(d["oof"], d["Y"], d["freq"], d["Y"].shape[1], objective=objective)
        return cv.predict(d["test"]), "cv-" + objective
    return rule


def rule_simplest_within_se(d: dict[str, Any], seed: int, complexity: dict[str, int]) -> tuple[np.ndarray, str]:
    """``auto``'s candidates (global and per-label thresholds on the wide grid), chosen by a one-standard-error
    rule: the candidate of lowest ``complexity`` scoring within one bootstrap SE of the score difference to the
    best (a ``complexity`` with one entry: that candidate)."""
    from mltc.decision import choose as ch
    from mltc.decision.cv import cv_thresholds
    from mltc.decision.thresholds import WIDE_GRID, GlobalThreshold, PerLabelThreshold
    cv = cv_thresholds(d["oof"], d["Y"], d["freq"], d["Y"].shape[1])
    val, Yv = d["val"], d["Y_val"]
    cands = {"cv": (cv, cv.predict(val))}
    shifted = ch.ShiftedCV(cv).fit(val, Yv)
    cands["cv+shift"] = (shifted.decision(), ch._cross_fitted(lambda: ch.ShiftedCV(cv), val, Yv, seed))
    mk_g = lambda: GlobalThreshold(grid=WIDE_GRID)  # noqa: E731
    mk_p = lambda: PerLabelThreshold(grid=WIDE_GRID)  # noqa: E731
    cands["global"] = (mk_g().fit(val, Yv), ch._cross_fitted(mk_g, val, Yv, seed))
    cands["per-label"] = (mk_p().fit(val, Yv), ch._cross_fitted(mk_p, val, Yv, seed))
    boot = ch.bootstrap_scores(Yv, {k: p for k, (_, p) in cands.items()}, seed=seed)
    from mltc.metrics import micro_macro
    total = {k: sum(micro_macro(Yv, p)[m] for m in ("micro_f1", "macro_f1")) for k, (_, p) in cands.items()}
    best = max(total, key=total.get)
    ok = [k for k in cands if total[best] - total[k] <= float(np.std(boot[best] - boot[k], ddof=1))]
    if len(complexity) == 1:
        ok = list(complexity)
    cx = complexity
    ok = [k for k in ok if k in cx] or [max(cx, key=lambda k: total[k])]
    pick = min(ok, key=lambda k: (cx[k], -total[k]))
    return cands[pick][0].predict(d["test"]), pick


def repeated_cv_logits(d: dict[str, Any], seed: int, repeats: int, below: float = np.inf) -> np.ndarray:
    """CV logit thresholds averaged over ``repeats`` fold draws (seeds ``seed``, ``seed + 100``, ...) for labels
    with fewer than ``below`` training texts; the first draw's for the others."""
    from mltc.decision.cv import cv_thresholds
    ths = []
    for r in range(repeats):
        dr = d if r == 0 else capture(d["name"], seed + 100 * r, d["cache"])
        ths.append(logit(cv_thresholds(dr["oof"], dr["Y"], dr["freq"], dr["Y"].shape[1]).thresholds_))
    return np.where(d["freq"] < below, np.mean(ths, axis=0), ths[0])


def rule_repeated_cv(repeats: int, below: float = np.inf) -> Callable[[dict[str, Any], int], tuple[np.ndarray, str]]:
    """CV thresholds averaged (in logits) over ``repeats`` fold draws: seeds ``seed``, ``seed + 100``, ...
    (only for labels with fewer than ``below`` training texts)."""
    def rule(d: dict[str, Any], seed: int) -> tuple[np.ndarray, str]:
        return per_label_predict(repeated_cv_logits(d, seed, repeats, below), d["test"]), f"cv x{repeats}"
    return rule


def rule_auto_repeated(repeats: int, below: float = np.inf) -> Callable[[dict[str, Any], int], tuple[np.ndarray, str]]:
    """``auto`` with the CV thresholds averaged (in logits) over ``repeats`` fold draws for labels with fewer
    than ``below`` training texts (the draws of :func:`rule_repeated_cv`)."""
    def rule(d: dict[str, Any], seed: int) -> tuple[np.ndarray, str]:
        from mltc.decision.choose import choose_decision
        from mltc.decision.cv import CVPerLabelThreshold
        from scipy.special import expit
        cv = CVPerLabelThreshold(expit(repeated_cv_logits(d, seed, repeats, below)))
        dec, report = choose_decision("auto", d["val"], d["Y_val"], cv, False, {}, seed=seed)
        return dec.predict(d["test"]), report.get("chosen", "auto")
    return rule


def blind_labels(d: dict[str, Any]) -> np.ndarray:
    """Labels with training texts but no fold holding positives both in its training part and in its held-out
    part: their cross-validated cut only says "above every held-out score" (mostly labels seen once)."""
    Yc = d["Y"].tocsc()
    informative = np.zeros(Yc.shape[1], dtype=int)
    for block in d["oof"]:
        cols, fold_of = block[0], np.asarray(block[2])
        for j in np.asarray(cols):
            rows = Yc.indices[Yc.indptr[j]:Yc.indptr[j + 1]]
            held = np.bincount(fold_of[rows], minlength=int(fold_of.max()) + 1)
            informative[j] = int(((held > 0) & (len(rows) - held > 0)).sum())
    return (informative == 0) & (np.asarray(d["freq"]) > 0)


def rule_auto_blind(fill: str) -> Callable[[dict[str, Any], int], tuple[np.ndarray, str]]:
    """``auto`` whose cross-validated thresholds of :func:`blind_labels` are replaced: ``fill='global'`` by the
    global threshold fitted on validation (so the candidate is, in part, fitted on validation), ``'never'`` by
    a threshold no score reaches."""
    def rule(d: dict[str, Any], seed: int) -> tuple[np.ndarray, str]:
        from mltc.decision.choose import choose_decision
        from mltc.decision.cv import CVPerLabelThreshold, cv_thresholds
        from mltc.decision.thresholds import WIDE_GRID, GlobalThreshold
        cv = cv_thresholds(d["oof"], d["Y"], d["freq"], d["Y"].shape[1])
        blind = blind_labels(d)
        th = cv.thresholds_.copy()
        th[blind] = GlobalThreshold(grid=WIDE_GRID).fit(d["val"], d["Y_val"]).threshold_ if fill == "global" else 1.0
        dec, report = choose_decision("auto", d["val"], d["Y_val"], CVPerLabelThreshold(th, cv.objective, cv.folds),
                                      False, {}, seed=seed, labelled_share=labelled_share(d))
        return dec.predict(d["test"]), f"{report.get('chosen', 'auto')} ({int(blind.sum())} blind)"
    return rule


def rule_auto_masked_shift(by: str, at_least: int, **options: Any) -> Callable[[dict[str, Any], int], tuple[np.ndarray, str]]:
    """``auto`` whose ``cv+shift`` moves only the labels with at least ``at_least`` training texts (``by='train'``)
    or validation positives (``by='val'``): validation can only tune what it sees."""
    def rule(d: dict[str, Any], seed: int) -> tuple[np.ndarray, str]:
        from mltc.decision import choose as ch
        from mltc.decision.cv import cv_thresholds
        cv = cv_thresholds(d["oof"], d["Y"], d["freq"], d["Y"].shape[1])
        count = d["freq"] if by == "train" else np.asarray(d["Y_val"]).sum(0)
        mask = np.asarray(count) >= at_least
        real = ch.ShiftedCV

        class Masked(real):  # type: ignore[valid-type,misc]
            def _shifted(self, delta):
                return np.where(mask, super()._shifted(delta), self.cv.thresholds_)

        ch.ShiftedCV = Masked
        try:
            dec, report = ch.choose_decision("auto", d["val"], d["Y_val"], cv, False, dict(options), seed=seed)
        finally:
            ch.ShiftedCV = real
        return dec.predict(d["test"]), report.get("chosen", "auto")
    return rule


def rule_shrunk(m: float) -> Callable[[dict[str, Any], int], tuple[np.ndarray, str]]:
    """CV logit thresholds shrunk toward their positives-weighted mean: (P th + m mean) / (P + m)."""
    def rule(d: dict[str, Any], seed: int) -> tuple[np.ndarray, str]:
        from mltc.decision.cv import cv_thresholds
        th = logit(cv_thresholds(d["oof"], d["Y"], d["freq"], d["Y"].shape[1]).thresholds_)
        P = d["freq"]
        ok = np.isfinite(th) & (th < 20)
        mean = float(np.sum(P[ok] * th[ok]) / P[ok].sum())
        out = np.where(ok, (P * th + m * mean) / (P + m), th)
        return per_label_predict(out, d["test"]), f"shrunk {m}"
    return rule


RULES: dict[str, Callable[[dict[str, Any], int], tuple[np.ndarray, str]]] = {
    "auto": rule_named("auto"),
    # before at least one label per text (where every training text has one) was added after the choice
    "auto (no minimum)": rule_named("auto", minimum=False),
    # before validation could drop that minimum (one standard error worse with it)
    "auto (minimum always)": rule_minimum_always,
    # the rule before tiers (commit 89f8490): the best of cv, cv+shift and global, per-label within one SE
    "auto (previous)": lambda d, seed: rule_simplest_within_se(d, seed, {"cv": 0, "cv+shift": 0, "global": 0,
                                                                        "per-label": 1}),
    "cv": rule_named("cv"),
    # the tiers at one standard error (the rule until 2026-11-22: global chosen on 3 of 6 seeds of CAIL divorce,
    # 5-8 macro-F1 points lower on test there, and of CAIL labor), and at three
    "auto (one SE)": rule_tier_se(1.0),
    "auto 3se": rule_tier_se(3.0),
    # at least one label per text in every candidate, before the choice
    "auto min1": rule_named("auto", min_labels=1),
    "cv min1": rule_named("cv", min_labels=1),
    "auto shift>=35 tr": rule_auto_masked_shift("train", 35),
    "auto shift>=5 val": rule_auto_masked_shift("val", 5),
    "global": lambda d, seed: rule_simplest_within_se(d, seed, {"global": 0}),
    "cv+shift": lambda d, seed: rule_simplest_within_se(d, seed, {"cv+shift": 0}),
    "cv x3": rule_repeated_cv(3),
    "shrunk 1": rule_shrunk(1),
    "cv x3 <9": rule_repeated_cv(3, 9),
    "auto x3 <9": rule_auto_repeated(3, 9),
    # labels no fold can test (mostly seen once): the global threshold, or never predicted
    "auto blind global": rule_auto_blind("global"),
    "auto blind never": rule_auto_blind("never"),
    "auto x3": rule_auto_repeated(3),
    "cv f1": rule_cv_objective("f1"),
    "pooled": rule_pooled("micro+macro"),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("datasets", nargs="+")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--cache", type=Path, default=Path("/tmp/mltc-decision-study"))
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--rules", nargs="*", default=None)
    args = ap.parse_args()
    rules = {k: v for k, v in RULES.items() if args.rules is None or k in args.rules}
    rows = []
    for name in args.datasets:
        for seed in args.seeds:
            d = capture(name, seed, args.cache)
            d.update(name=name, cache=args.cache)
            for rname, rule in rules.items():
                pred, chosen = rule(d, seed)
                s = score(d["Y_test"], pred, d["freq"])
                rows.append({"dataset": short_name(name), "seed": seed, "rule": rname, "chosen": chosen, **s})
                print(f"{short_name(name):18s} seed {seed} {rname:24s} {chosen:10s} micro {s['micro']:6.2f} "
                      f"macro {s['macro']:6.2f} tail {s['tail']:6.2f} lpt {s['lpt']:.2f}", flush=True)
    lines = ["# How steady is the default's decision? (`benchmarks/decision_study.py`)", "",
             "Test micro-F1 / macro-F1 / tail macro-F1 (labels with training frequency <= 8), mean +- standard "
             f"deviation over seeds {', '.join(map(str, args.seeds))}; every rule's choices made on validation or "
             "the training folds only. Seeds change the cross-validation folds and the bootstrap. Scored over the "
             "labels seen in training: a gold label no training text carries is left out here, while "
             "`peers.py` counts it as a miss, so sets with such labels (the synthetic ones) score higher here "
             "than in the peers table. Regenerate: "
             f"`python benchmarks/decision_study.py {' '.join(map(shown_name, args.datasets))} --seeds "
             f"{' '.join(map(str, args.seeds))} --out {args.out}"
             + (f" --rules {shlex.join(args.rules)}" if args.rules is not None else "") + "`"
             + (" (`files:` sets written by `benchmarks/make_unseen_sets.py`; the whole line is in "
                "`benchmarks/run_all.sh`)" if any(n.startswith("files:") for n in args.datasets) else "") + ".", "",
             "| data set | rule | micro-F1 | macro-F1 | tail macro-F1 | labels/text | chosen |",
             "|---|---|---:|---:|---:|---:|---|"]
    for name in map(short_name, args.datasets):
        for rname in rules:
            r = [x for x in rows if x["dataset"] == name and x["rule"] == rname]
            mi, ma, ta, lpt = (np.array([x[k] for x in r]) for k in ("micro", "macro", "tail", "lpt"))
            sd = (lambda a: a.std(ddof=1)) if len(r) > 1 else (lambda a: 0.0)
            tail = "-" if np.isnan(ta).all() else f"{np.nanmean(ta):.2f} ± {sd(ta):.2f}"
            chosen = ", ".join(x["chosen"] for x in r)
            lines.append(f"| {name} | {rname} | {mi.mean():.2f} ± {sd(mi):.2f} | {ma.mean():.2f} ± {sd(ma):.2f} | "
                         f"{tail} | {lpt.mean():.2f} | {chosen} |")
    print("\n".join(lines))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "rows.json").write_text(json.dumps(rows, indent=1))
        (args.out / "summary.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
