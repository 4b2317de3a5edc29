"""The squared-hinge solvers of the linear fitter: scikit-learn's LinearSVC and the official LIBLINEAR
binding reach the same optimum; warm starts change the path, not the answer; ``auto`` picks by size."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from mltc.data.examples import Example
from mltc.training import liblinear as LL
from mltc.training.config import TrainConfig
from mltc.training.linear import LinearFitter
from mltc.training.linear_parts import solver_config


def _problem(seed: int = 0, n: int = 300, d: int = 60, k: int = 5):
    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=0.15, random_state=seed, format="csr", dtype=np.float64)
    true = rng.normal(size=(d, k))
    Y = (X @ true + 0.3 * rng.normal(size=(n, k)) > 0.4).astype(np.float32)
    return X, Y


def _objective(X, y, w, b, C=1.0):
    z = X @ w + b
    slack = np.maximum(0.0, 1.0 - np.where(y > 0, 1.0, -1.0) * z)
    return 0.5 * (w @ w + b * b) + C * (slack * slack).sum()


def test_both_backends_reach_the_same_optimum():
    X, Y = _problem()
    Ws, bs = LL.SvmProblem(X, "sklearn").fit(Y, 1.0, 1e-6)
    Wl, bl = LL.SvmProblem(X, "liblinear").fit(Y, 1.0, 1e-6)
    for j in range(Y.shape[1]):
        fs = _objective(X, Y[:, j], Ws[:, j].astype(float), float(bs[j]))
        fl = _objective(X, Y[:, j], Wl[:, j].astype(float), float(bl[j]))
        assert fl == pytest.approx(fs, rel=1e-4)
    np.testing.assert_allclose(Wl, Ws, atol=2e-3)
    np.testing.assert_allclose(bl, bs, atol=2e-3)


def test_the_optimum_is_stationary():
    """At the returned weights the gradient of the primal objective vanishes (no other reference needed)."""
    X, Y = _problem(1)
    W, b = LL.SvmProblem(X, "liblinear").fit(Y, 1.0, 1e-8)
    Xb = sp.hstack([X, np.ones((X.shape[0], 1))]).tocsr()
    for j in range(Y.shape[1]):
        w = np.append(W[:, j], b[j]).astype(float)
        s = np.where(Y[:, j] > 0, 1.0, -1.0)
        slack = np.maximum(0.0, 1.0 - s * (Xb @ w))
        grad = w - 2.0 * (Xb.T @ (s * slack))
        assert np.abs(grad).max() < 1e-2 * max(1.0, np.abs(w).max())


def test_warm_start_gives_the_same_fold_model():
    X, Y = _problem(2)
    full = LL.SvmProblem(X, "liblinear").fit(Y, 1.0, 1e-6)
    rows = np.arange(X.shape[0]) % 3 != 0
    fold = LL.SvmProblem(X[rows], "liblinear")
    cold = fold.fit(Y[rows], 1.0, 1e-6)
    warm = fold.fit(Y[rows], 1.0, 1e-6, init=full)
    np.testing.assert_allclose(warm[0], cold[0], atol=1e-3)
    np.testing.assert_allclose(warm[1], cold[1], atol=1e-3)


def test_the_start_is_used():
    """Started at a tight optimum with a loose tolerance, the solver stops there at once; from zero
    with the same loose tolerance it stops somewhere visibly different."""
    X, Y = _problem(5)
    prob = LL.SvmProblem(X, "liblinear")
    tight = prob.fit(Y, 1.0, 1e-8)
    loose_warm = prob.fit(Y, 1.0, 0.5, init=tight)
    loose_cold = prob.fit(Y, 1.0, 0.5)
    np.testing.assert_allclose(loose_warm[0], tight[0], atol=1e-6)
    assert np.abs(loose_cold[0] - tight[0]).max() > 1e-3


def test_threads_do_not_change_the_models():
    X, Y = _problem(3, k=8)
    for backend in ("sklearn", "liblinear"):
        one = LL.SvmProblem(X, backend).fit(Y, 1.0, 1e-4, threads=1)
        two = LL.SvmProblem(X, backend).fit(Y, 1.0, 1e-4, threads=2)
        np.testing.assert_array_equal(one[0], two[0])
        np.testing.assert_array_equal(one[1], two[1])


@pytest.mark.parametrize("backend", ["sklearn", "liblinear"])
def test_one_class_columns(backend):
    X, _ = _problem(4)
    Y = np.zeros((X.shape[0], 2), np.float32)
    Y[:, 1] = 1
    W, b = LL.SvmProblem(X, backend).fit(Y, 1.0, 1e-4)
    assert not W.any()
    assert b.tolist() == [-1.0, 1.0]


def test_auto_picks_by_size_and_availability(monkeypatch):
    assert LL.pick_backend("sklearn", 10**6, 10**6) == "sklearn"
    assert LL.pick_backend("auto", 1000, 100) == "sklearn"
    assert LL.pick_backend("auto", 100_000, 10_000) == "liblinear"
    monkeypatch.setattr(LL, "official_liblinear", lambda: None)
    assert LL.pick_backend("auto", 100_000, 10_000) == "sklearn"
    with pytest.raises(ImportError, match="pip install liblinear-multicore"):
        LL.SvmProblem(sp.eye(3, format="csr"), "liblinear")
    with pytest.raises(ValueError, match="backend"):
        LL.SvmProblem(sp.eye(3, format="csr"), "auto")


def test_solver_options_are_checked():
    assert solver_config({"backend": "liblinear", "warm_start": False}).backend == "liblinear"
    with pytest.raises(ValueError, match="backend must be one of"):
        solver_config({"backend": "svmlight"})
    with pytest.raises(ValueError, match="warm_start must be true or false"):
        solver_config({"warm_start": "yes"})


def test_a_missing_binding_and_options_of_another_solver_are_refused_before_work(monkeypatch):
    from mltc.models.featurizers import TfidfFeaturizer
    rows = [Example("wheat grain", ["grain"]), Example("oil crude", ["crude"])] * 4
    monkeypatch.setattr(TfidfFeaturizer, "fit_encode", lambda *a, **k: pytest.fail("work started"))
    with pytest.raises(ValueError, match="apply to the squared hinge"):
        LinearFitter(TrainConfig(model="tfidf-linear", loss="bce", solver_options={"warm_start": False})).fit(rows, rows)
    monkeypatch.setattr(LL, "official_liblinear", lambda: None)
    with pytest.raises(ValueError, match="pip install liblinear-multicore"):
        LinearFitter(TrainConfig(model="tfidf-linear", solver_options={"backend": "liblinear"})).fit(rows, rows)


def test_a_binding_that_does_not_load_falls_back_with_a_warning(monkeypatch):
    import builtins
    real = builtins.__import__

    def broken(name, *a, **k):
        if name == "liblinear":
            raise Exception("LIBLINEAR library not found.")
        return real(name, *a, **k)
    monkeypatch.setattr(builtins, "__import__", broken)
    with pytest.warns(RuntimeWarning, match="does not load"):
        assert LL.official_liblinear() is None


def test_linear_fitter_with_the_official_binding():
    rng = np.random.default_rng(0)
    words = {"a": ["apple", "pear", "plum"], "b": ["car", "bus", "train"], "c": ["red", "blue", "green"]}

    def make(n):
        out = []
        for _ in range(n):
            labels = sorted(set(rng.choice(list(words), size=rng.integers(1, 3), replace=False).tolist()))
            text = " ".join(rng.choice(sum((words[l] for l in labels), []), size=6).tolist() + ["the", "of"])
            out.append(Example(text, labels))
        return out

    train, val = make(240), make(60)
    cfg = TrainConfig(model="tfidf-linear", solver_options={"backend": "liblinear"})
    clf = LinearFitter(cfg, progress=False).fit(train, val)
    assert clf.metrics["solver"]["backend"] == "liblinear"
    assert clf.metrics["validation"]["micro_f1"] > 95
    ref = LinearFitter(TrainConfig(model="tfidf-linear", solver_options={"backend": "sklearn"}), progress=False).fit(train, val)
    texts = [e.text for e in val]
    np.testing.assert_allclose(clf.scores(texts), ref.scores(texts), atol=2e-3)
    # the cross-validated thresholds too (they come from out-of-fold scores of the training matrix)
    cv = [LinearFitter(TrainConfig(model="tfidf-linear", decision="cv", solver_options={"backend": b}),
                       progress=False).fit(train, val) for b in ("liblinear", "sklearn")]
    np.testing.assert_allclose(cv[0].decision.thresholds_, cv[1].decision.thresholds_, atol=0.02)


def test_every_registry_spelling_of_the_squared_hinge_is_the_squared_hinge():
    """The registry accepts 'sqhinge' and 'l2svm'; the linear fitter must read them the same way (it used
    its own list of spellings and then failed looking for a torch module)."""
    from mltc.training.linear_parts import is_hinge
    assert all(is_hinge(n) for n in ("sq-hinge", "SQ_HINGE", "sqhinge", "squared-hinge", "l2svm", "l2-svm"))
    assert not any(is_hinge(n) for n in ("bce", "db", "hinge-like", ""))


def test_warm_start_asked_of_scikit_learn_says_it_has_no_effect(caplog):
    rows = [Example("wheat grain exports", ["grain"]), Example("oil crude prices", ["crude"]),
            Example("grain and oil", ["grain", "crude"])] * 4
    with caplog.at_level("WARNING", logger="mltc"):
        LinearFitter(TrainConfig(model="tfidf-linear", cv_folds=2,
                                 solver_options={"backend": "sklearn", "warm_start": True})).fit(rows, rows)
    assert any("warm_start has no effect" in r.getMessage() for r in caplog.records)
    caplog.clear()
    with caplog.at_level("WARNING", logger="mltc"):
        LinearFitter(TrainConfig(model="tfidf-linear", cv_folds=2, solver_options={"backend": "sklearn"})).fit(rows, rows)
    assert not any("warm_start" in r.getMessage() for r in caplog.records)  # the default says nothing


@pytest.mark.parametrize("backend", ["sklearn", "liblinear"])
def test_the_callers_matrix_is_left_as_it_was(backend):
    """The official binding sorts the indices of the matrix it converts, in place; a float32 TF-IDF matrix
    with unsorted indices (what scikit-learn's TfidfVectorizer gives) shares its index arrays with its
    float64 view, so converting it once permuted the caller's indices under unchanged values (the linear
    fitter then scored its out-of-fold texts with that matrix: thresholds of noise)."""
    if backend == "liblinear" and LL.official_liblinear() is None:
        pytest.skip("the official LIBLINEAR binding (mltc[fast]) is not installed")
    X, Y = _problem(3)
    X = sp.csr_matrix(X, dtype=np.float32)
    for i in range(X.shape[0]):  # the same matrix, its column indices stored in reverse order in every row
        row = slice(X.indptr[i], X.indptr[i + 1])
        X.indices[row], X.data[row] = X.indices[row][::-1].copy(), X.data[row][::-1].copy()
    X.has_sorted_indices = False
    before = (X.indices.copy(), X.data.copy(), X.toarray())
    W, b = LL.SvmProblem(X, backend).fit(Y, 1.0, 1e-4)
    np.testing.assert_array_equal(X.indices, before[0])
    np.testing.assert_array_equal(X.data, before[1])
    np.testing.assert_array_equal(X.toarray(), before[2])
    ref_W, ref_b = LL.SvmProblem(sp.csr_matrix(before[2]), "sklearn").fit(Y, 1.0, 1e-4)
    np.testing.assert_allclose(W, ref_W, atol=5e-3)


@pytest.mark.parametrize("shape", [(300, 60), (80, 200)])  # primal (more texts than features) and dual
def test_direct_liblinear_call_is_linearsvc_bit_for_bit(shape):
    from sklearn.svm import LinearSVC
    n, d = shape
    X = sp.random(n, d, density=0.15, random_state=5, format="csr", dtype=np.float64)
    Y = (X @ np.random.default_rng(5).normal(size=(d, 4)) > 0.3).astype(np.float32)
    prob = LL.SvmProblem(X, "sklearn", seed=7)
    assert prob._direct is not None  # the fast path is taken with this scikit-learn
    W, b = prob.fit(Y, 0.5, 1e-4, threads=1)
    for j in range(Y.shape[1]):
        ref = LinearSVC(C=0.5, tol=1e-4, random_state=7).fit(X, Y[:, j].astype(np.int32))
        np.testing.assert_array_equal(W[:, j], ref.coef_[0].astype(np.float32))
        assert b[j] == np.float32(ref.intercept_[0])


def test_direct_call_that_fails_falls_back_to_linearsvc():
    X, Y = _problem(6)
    expected = LL.SvmProblem(X, "sklearn").fit(Y, 1.0, 1e-4)
    prob = LL.SvmProblem(X, "sklearn")

    def broken(y, C, tol):
        raise TypeError("train_wrap() takes 11 positional arguments")

    prob._direct = broken
    with pytest.warns(RuntimeWarning, match="using LinearSVC"):
        got = prob.fit(Y, 1.0, 1e-4)
    assert prob._direct is None
    np.testing.assert_array_equal(got[0], expected[0])
    np.testing.assert_array_equal(got[1], expected[1])


def test_a_direct_call_that_disagrees_with_linearsvc_is_not_used(monkeypatch):
    """A scikit-learn whose private wrapper took its float arguments in another order would fit wrong models
    without an error: the once-per-process check against LinearSVC catches it."""
    from sklearn.svm import _liblinear
    real = _liblinear.train_wrap

    def swapped(X, Y, is_sparse, solver, eps, bias, C, *rest):  # tolerance and C exchanged
        return real(X, Y, is_sparse, solver, C, bias, eps, *rest)

    assert LL.direct_call_agrees()  # this scikit-learn: the direct call is LinearSVC's
    LL.direct_call_agrees.cache_clear()
    # LinearSVC keeps the real wrapper (as it would: scikit-learn updates its own call), the direct call sees
    # the reordered one
    import types

    import sklearn.svm._base as base
    monkeypatch.setattr(base, "liblinear", types.SimpleNamespace(train_wrap=real,
                                                                  set_verbosity_wrap=_liblinear.set_verbosity_wrap))
    monkeypatch.setattr(_liblinear, "train_wrap", swapped)
    try:
        with pytest.warns(RuntimeWarning, match="does not give LinearSVC's weights"):
            assert not LL.direct_call_agrees()
        X, Y = _problem(7)
        prob = LL.SvmProblem(X, "sklearn")
        assert prob._direct is None
        expected = linearsvc_weights(X, Y[:, 0])
        np.testing.assert_array_equal(prob.fit(Y[:, :1], 1.0, 1e-4)[0][:, 0], expected.astype(np.float32))
    finally:
        LL.direct_call_agrees.cache_clear()


def linearsvc_weights(X, y):
    from sklearn.svm import LinearSVC
    return LinearSVC(C=1.0, tol=1e-4, random_state=0).fit(X, y.astype(np.int32)).coef_[0]
