"""The squared hinge's two backends side by side, per label (``mltc.training.liblinear``).

On the synthetic corpus (``synthetic.py``), TF-IDF as the default fits it, a spread of labels from
the most to the least frequent: seconds per label for scikit-learn's LIBLINEAR called as
``LinearSVC`` calls it (the default below 10^8 text x label entries) and through ``LinearSVC.fit``
itself (the fallback), the official LIBLINEAR binding started from zero, and the binding
on one cross-validation fold started from zero and from the full model; the objective values
agree (same optimum). One thread, so the ratios do not depend on how busy the other core is.

    python benchmarks/bench_svm_backends.py --scale small --labels 24    # writes results/svm_backends.md
    python benchmarks/bench_svm_backends.py --scale full --labels 24 --out benchmarks/results/svm_backends_full.md
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scale", choices=["full", "small"], default="full")
    p.add_argument("--labels", type=int, default=24, help="labels timed, spread over the frequency ranks")
    p.add_argument("--out", default=str(HERE / "results" / "svm_backends.md"))
    args = p.parse_args()

    import synthetic
    from mltc.data import read_file
    from mltc.data.labels import LabelSpace
    from mltc.models.featurizers import TfidfFeaturizer
    from mltc.training.liblinear import SvmProblem
    from mltc.training.linear import LINEAR_TFIDF

    with tempfile.TemporaryDirectory() as tmp:
        paths = synthetic.write_splits(Path(tmp), args.scale)
        rows = read_file(paths["train"])  # mltc's own reader, as the CLI reads the file
    X = TfidfFeaturizer(**LINEAR_TFIDF).fit_encode([r.text for r in rows])
    space = LabelSpace().fit(r.labels for r in rows)
    Y = sp.csc_matrix(space.encode(r.labels for r in rows).Y.astype(np.float32))
    freq = np.asarray(Y.sum(0)).ravel()
    pick = np.argsort(-freq, kind="stable")[np.linspace(0, Y.shape[1] - 1, args.labels).astype(int)]
    Yp = Y[:, pick].toarray()
    n = X.shape[0]
    fold_rows = np.flatnonzero(np.random.default_rng(0).permutation(n) % 3 != 0)

    def timed(fn):
        t = time.perf_counter()
        out = fn()
        return out, time.perf_counter() - t

    def objective(Xm, Ym, W, b):
        z = Xm @ W.astype(np.float64) + b
        s = np.maximum(0.0, 1.0 - np.where(Ym > 0, 1.0, -1.0) * z)
        return float(0.5 * ((W.astype(np.float64) ** 2).sum() + (b.astype(np.float64) ** 2).sum()) + (s * s).sum())

    rows_out = []
    sk, t_build_sk = timed(lambda: SvmProblem(X, "sklearn"))
    (Ws, bs), t_sk = timed(lambda: sk.fit(Yp, 1.0, 1e-4))
    svc = SvmProblem(X, "sklearn")
    svc._direct = None  # LinearSVC.fit for every label (the fallback): the same weights, its checks included
    (Wv, bv), t_svc = timed(lambda: svc.fit(Yp, 1.0, 1e-4))
    ll, t_build_ll = timed(lambda: SvmProblem(X, "liblinear"))
    (Wl, bl), t_ll = timed(lambda: ll.fit(Yp, 1.0, 1e-4))
    Xf, Yf = X[fold_rows], Yp[fold_rows]
    sk_fold = SvmProblem(Xf, "sklearn")
    (Wsf, bsf), t_skf = timed(lambda: sk_fold.fit(Yf, 1.0, 1e-4))
    svc_fold = SvmProblem(Xf, "sklearn")
    svc_fold._direct = None
    (Wvf, bvf), t_svcf = timed(lambda: svc_fold.fit(Yf, 1.0, 1e-4))
    ll_fold, t_build_llf = timed(lambda: SvmProblem(Xf, "liblinear"))
    (Wc, bc), t_cold = timed(lambda: ll_fold.fit(Yf, 1.0, 1e-4))
    (Ww, bw), t_warm = timed(lambda: ll_fold.fit(Yf, 1.0, 1e-4, init=(Wl, bl)))
    k = len(pick)
    Xd = sp.csr_matrix(X, dtype=np.float64)
    Xfd = sp.csr_matrix(Xf, dtype=np.float64)
    rows_out.append(("full model, scikit-learn (LinearSVC's LIBLINEAR call)", t_sk / k, objective(Xd, Yp, Ws, bs)))
    rows_out.append(("full model, scikit-learn through LinearSVC.fit", t_svc / k, objective(Xd, Yp, Wv, bv)))
    rows_out.append(("full model, LIBLINEAR binding", t_ll / k, objective(Xd, Yp, Wl, bl)))
    rows_out.append(("one fold (2/3), scikit-learn (LinearSVC's LIBLINEAR call)", t_skf / k, objective(Xfd, Yf, Wsf, bsf)))
    rows_out.append(("one fold (2/3), scikit-learn through LinearSVC.fit", t_svcf / k, objective(Xfd, Yf, Wvf, bvf)))
    rows_out.append(("one fold (2/3), binding from zero", t_cold / k, objective(Xfd, Yf, Wc, bc)))
    rows_out.append(("one fold (2/3), binding from the full model", t_warm / k, objective(Xfd, Yf, Ww, bw)))
    lines = [f"# Squared-hinge backends per label: synthetic {args.scale} ({n} training texts, {X.shape[1]} features, "
             f"{k} of {Y.shape[1]} labels, positives {int(freq[pick].max())} ... {int(freq[pick].min())})", "",
             "`python benchmarks/bench_svm_backends.py --scale " + args.scale + f" --labels {args.labels}`, one thread.", "",
             "| fit | seconds per label | sum of objectives |", "|---|---|---|"]
    lines += [f"| {name} | {sec:.3f} | {obj:.2f} |" for name, sec, obj in rows_out]
    lines += ["", f"Conversion of the matrix to LIBLINEAR's format, once per matrix: {t_build_ll:.2f} s (all texts), "
                  f"{t_build_llf:.2f} s (fold); scikit-learn converts it inside every fit.", "",
              f"LinearSVC.fit's own cost per label (its checks, over the direct call): "
              f"{(t_svc - t_sk) / k * 1000:.1f} ms (full model), {(t_svcf - t_skf) / k * 1000:.1f} ms (fold).", "",
              f"Ratios: full model scikit-learn / binding {t_sk / t_ll:.2f}x; fold scikit-learn / binding from the full "
              f"model {t_skf / t_warm:.2f}x; fold binding from zero / from the full model {t_cold / t_warm:.2f}x; "
              f"default per label with 3 folds, scikit-learn / binding "
              f"{(t_sk + 3 * t_skf) / (t_ll + 3 * t_warm):.2f}x."]
    text = "\n".join(lines) + "\n"
    Path(args.out).write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
