"""L2-loss linear SVMs for many labels over one design matrix (LIBLINEAR).

Each label's model minimises ``0.5 ||w||^2 + C sum_i max(0, 1 - y_i (w.x_i + b))^2`` with the
intercept ``b`` as the weight of a constant feature 1 (regularised, as LIBLINEAR's ``-B 1`` and
scikit-learn's ``LinearSVC`` do), to the tolerance ``tol``. Two backends solve it:

- ``sklearn``: scikit-learn's ``LinearSVC`` (the LIBLINEAR bundled in scikit-learn; its
  ``dual="auto"``, scikit-learn >= 1.5: dual coordinate descent when there are fewer texts than
  features, Hsieh et al., ICML 2008, else the primal Newton solver), called through its compiled
  wrapper with LinearSVC's own arguments (:func:`sklearn_direct_trainer`: the same weights, bit
  for bit, without LinearSVC's per-call checks, which cost more than the solve for a rare label
  and hold the GIL). The matrix is converted to LIBLINEAR's format for every label (cheap for
  sparse TF-IDF) and every fit starts from zero. The dual solver draws its coordinate order from one
  generator that scikit-learn's LIBLINEAR shares between threads, so with ``threads > 1`` the
  weights can differ between runs in about the sixth decimal; one thread, or the ``liblinear``
  backend, is bit for bit reproducible.
- ``liblinear``: the official multi-core LIBLINEAR binding (``pip install liblinear-multicore``,
  extra ``mltc[fast]``; it compiles LIBLINEAR, so it needs a C compiler). The matrix is converted
  to LIBLINEAR's format once and shared by every label, as LibMultiLabel does, and the primal
  trust-region Newton solver (``-s 2``; Lin, Weng & Keerthi, JMLR 2008) is used: it is
  deterministic (the dual solver draws orders from C's shared ``rand()``, which depends on how
  threads interleave) and it can start from a given solution, so each cross-validation fold
  starts from the model fitted on all the training texts (per-label times of both backends on
  the synthetic corpus: ``benchmarks/bench_svm_backends.py``, ``benchmarks/results/svm_backends.md``).
- ``auto`` (default): ``liblinear`` when the binding is installed and the problem has at least
  :data:`AUTO_LIBLINEAR_ENTRIES` text x label entries, else ``sklearn``: every published result of
  the default on the real benchmark data sets was made with scikit-learn. The threshold is not
  tuned: what decides is the number of texts more than texts x labels. On 8,000 training texts
  scikit-learn's call is as fast per label as the binding started from the full model, without
  the binding's one-off conversion (``benchmarks/results/svm_backends.md``); on 80,000 the binding
  is about 2x faster per label with three folds (``svm_backends_full.md``), so there it pays for its
  conversion after a few labels, while 80,000 texts x 100 labels still gets scikit-learn.

The two backends reach the same optimum within the tolerance; the decisions fitted on their
scores can still differ (a threshold search turns small score changes into different cuts).
Labels are spread over ``threads`` Python threads; both backends release the GIL while solving.
"""
from __future__ import annotations

import functools
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

import numpy as np
import scipy.sparse as sp


#: text x label entries from which ``auto`` takes the official binding when it is installed
AUTO_LIBLINEAR_ENTRIES = 100_000_000


def default_threads() -> int:
    """The cores this process may run on (its CPU affinity, which a container or ``taskset`` can narrow)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def pick_backend(backend: str, texts: int, labels: int) -> str:
    """The backend ``auto`` means for a problem of this size (see the module docstring)."""
    if backend != "auto":
        return backend
    big = texts * labels >= AUTO_LIBLINEAR_ENTRIES
    return "liblinear" if big and official_liblinear() is not None else "sklearn"


def official_liblinear() -> Any | None:
    """The ``liblinear.liblinearutil`` module of the official binding, or None when it is not installed
    or cannot load its compiled library (then with a warning: ``auto`` falls back to scikit-learn)."""
    try:
        from liblinear import liblinearutil  # type: ignore[import-untyped]
    except ImportError:
        return None
    except Exception as exc:  # the binding raises a bare Exception when its shared library does not load
        warnings.warn(f"the LIBLINEAR binding is installed but does not load ({exc}); using scikit-learn's LIBLINEAR",
                      RuntimeWarning, stacklevel=2)
        return None
    return liblinearutil


class SvmProblem:
    """One design matrix (n texts x d features), ready for any number of per-label fits.

    Parameters
    ----------
    X : sparse (n, d)
        TF-IDF rows; converted to float64 CSR once.
    backend : {'liblinear', 'sklearn'}
        Resolve ``auto`` with :func:`pick_backend` first.
    seed : int
        scikit-learn's ``random_state`` (the dual solver's order of coordinates).
    """

    def __init__(self, X: sp.spmatrix, backend: str = "sklearn", seed: int = 0) -> None:
        if backend not in ("liblinear", "sklearn"):
            raise ValueError(f"backend must be liblinear or sklearn, got {backend!r}")
        # a private copy with sorted indices: the official binding sorts the indices of the matrix it is given
        # in place, and csr_matrix(X, dtype=...) shares X's index arrays, which left the caller's X with its
        # indices permuted under unchanged values (its out-of-fold scores were garbage)
        Xd = sp.csr_matrix(X, dtype=np.float64, copy=True)
        Xd.sort_indices()
        self.n, self.d = Xd.shape
        self.seed = int(seed)
        util = official_liblinear() if backend == "liblinear" else None
        if backend == "liblinear" and util is None:
            raise ImportError("solver backend 'liblinear' needs the official LIBLINEAR binding: "
                              "pip install liblinear-multicore (or mltc[fast])")
        self.backend = backend
        self._util = util
        if util is not None:  # LIBLINEAR's own copy only: the CSR matrix is not kept
            self.X = None
            self._prob = util.problem(np.ones(self.n), Xd, 1.0)
        else:
            self.X = Xd
        self._direct = sklearn_direct_trainer(Xd, self.seed) if util is None else None

    def fit(self, Y: np.ndarray, C: float, tol: float, threads: int = 1,
            init: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Fit one SVM per column of ``Y`` (n, k; > 0 is positive).

        Returns weights (d, k) float32 and intercepts (k,) float32. A column with one class only
        gets zero weights and an intercept of -1 or +1 (the other class is never seen). ``init``
        (weights (d, k), intercepts (k,)) is the starting point where the backend can use one.
        """
        k = Y.shape[1]
        W = np.zeros((self.d, k), np.float32)
        b = np.zeros(k, np.float32)
        solve = self._liblinear if self._util is not None else self._sklearn
        if self._util is None:
            init = None  # scikit-learn's LinearSVC cannot start from a solution

        def one(j: int) -> None:
            y = Y[:, j] > 0
            if y.all() or not y.any():
                b[j] = 1.0 if y.all() else -1.0
                return
            w0 = None if init is None else np.append(init[0][:, j].astype(np.float64), float(init[1][j]))
            w = solve(y, C, tol, w0)
            W[:, j], b[j] = w[:-1], w[-1]

        _each(one, k, threads)
        return W, b

    def _liblinear(self, y: np.ndarray, C: float, tol: float, w0: np.ndarray | None) -> np.ndarray:
        from ctypes import c_double
        util: Any = self._util
        prob = self._prob.copy()  # shares the converted rows; its own label vector
        prob.y = (c_double * self.n)()
        np.ctypeslib.as_array(prob.y, (self.n,))[:] = np.where(y, 1.0, -1.0)
        param = util.parameter(f"-s 2 -c {C!r} -e {tol!r} -B 1 -q")
        if w0 is not None:
            init = (c_double * (self.d + 1))()
            np.ctypeslib.as_array(init, (self.d + 1,))[:] = w0
            param.init_sol = init
        model = util.train(prob, param)
        w = np.ctypeslib.as_array(model.w, (self.d + 1,)).copy()
        # LIBLINEAR puts +1 first for labels in {-1, +1}, so w scores the positive class; a guard in case a
        # version ever did not (a warm start would then have to be negated too)
        if model.get_labels()[0] != 1:
            raise RuntimeError(f"LIBLINEAR returned classes {model.get_labels()} (expected +1 first)")
        return w

    def _sklearn(self, y: np.ndarray, C: float, tol: float, w0: np.ndarray | None) -> np.ndarray:
        assert self.X is not None  # kept for this backend
        direct = self._direct  # read once: another thread may drop it
        if direct is not None:
            try:
                return direct(y, C, tol)
            except (TypeError, ValueError, AttributeError) as exc:  # a scikit-learn whose private wrapper changed
                if self._direct is not None:
                    warnings.warn(f"scikit-learn's LIBLINEAR wrapper could not be called directly ({exc}); "
                                  "using LinearSVC for every label", RuntimeWarning, stacklevel=2)
                self._direct = None
        return _linearsvc(self.X, y, C, tol, self.seed)


def _linearsvc(X: sp.csr_matrix, y: np.ndarray, C: float, tol: float, seed: int) -> np.ndarray:
    """``LinearSVC(C, tol, random_state=seed)`` fitted on ``X, y``: weights then intercept."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.svm import LinearSVC
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        svm = LinearSVC(C=C, tol=tol, random_state=seed).fit(X, y.astype(np.int32))
    return np.append(svm.coef_[0], svm.intercept_[0])


def _direct_call(X: sp.csr_matrix, seed: int) -> Callable[[np.ndarray, float, float], np.ndarray] | None:
    """The call of scikit-learn's ``train_wrap`` that ``LinearSVC.fit(X, y)`` makes, or None where it is missing."""
    try:
        from sklearn.svm import _liblinear  # type: ignore[attr-defined]
        from sklearn.svm._base import _get_liblinear_solver_type
        train_wrap = _liblinear.train_wrap
        solver = _get_liblinear_solver_type("ovr", "l2", "squared_hinge", bool(X.shape[0] < X.shape[1]))
    except (ImportError, AttributeError, ValueError, TypeError):
        return None
    _liblinear.set_verbosity_wrap(0)  # LIBLINEAR prints its progress otherwise (LinearSVC sets it on every call)
    n = X.shape[0]
    ones_n, ones_2 = np.ones(n, np.float64), np.ones(2, np.float64)
    rand_seed = int(np.random.RandomState(seed).randint(np.iinfo("i").max))

    def train(y: np.ndarray, C: float, tol: float) -> np.ndarray:
        raw, _ = train_wrap(X, np.ascontiguousarray(y, dtype=np.float64), True, solver, float(tol), 1.0, float(C),
                            ones_2, 1000, rand_seed, 0.1, ones_n)
        w = np.asarray(raw, dtype=np.float64)
        if w.shape != (1, X.shape[1] + 1):
            raise ValueError(f"train_wrap returned weights of shape {w.shape}")
        return w[0].copy()

    return train


@functools.lru_cache(maxsize=1)
def direct_call_agrees() -> bool:
    """Whether the direct call gives LinearSVC's weights exactly, checked once per process on two small
    problems (one solved in the dual, one in the primal) with distinct C and tolerance: a scikit-learn
    that reordered ``train_wrap``'s arguments of the same type would otherwise fit silently wrong models."""
    rng = np.random.default_rng(0)
    try:
        for n, d in ((40, 90), (90, 40)):
            X = sp.random(n, d, density=0.2, random_state=1, format="csr", dtype=np.float64)
            y = (X @ rng.normal(size=d) + 0.1 * rng.normal(size=n) > 0).astype(np.float64)
            direct = _direct_call(X, 3)
            if direct is None:
                return False
            if not np.array_equal(direct(y, 0.7, 1e-3), _linearsvc(X, y, 0.7, 1e-3, 3)):
                warnings.warn("scikit-learn's LIBLINEAR wrapper, called directly, does not give LinearSVC's weights "
                              "with this scikit-learn; using LinearSVC for every label", RuntimeWarning, stacklevel=2)
                return False
    except (TypeError, ValueError, AttributeError):
        return False
    return True


def sklearn_direct_trainer(X: sp.csr_matrix, seed: int) -> Callable[[np.ndarray, float, float], np.ndarray] | None:
    """``LinearSVC(C=C, tol=tol, random_state=seed).fit(X, y)`` as one call of scikit-learn's LIBLINEAR wrapper.

    LinearSVC re-checks the matrix, encodes the labels and computes class weights on every
    call: 2-3 ms of Python per label on 8,000 texts (``benchmarks/bench_svm_backends.py``), held under the GIL (so threads
    wait for one another), more than LIBLINEAR's own solve for a rare label. Here the checks are
    made once for the matrix and each label goes straight to the compiled ``train_wrap`` with
    the arguments LinearSVC would pass (squared hinge, L2, ``dual='auto'``'s choice, intercept
    as a constant feature 1, unit class and text weights, 1,000 iterations, the seed drawn as
    ``check_random_state(seed).randint(INT_MAX)``). ``train_wrap`` is private to scikit-learn, so
    this is None where it is missing or where :func:`direct_call_agrees` finds that it does not
    give LinearSVC's weights (checked once per process), and :meth:`SvmProblem._sklearn` falls
    back to LinearSVC if a call fails; ``tests/test_liblinear_backend.py`` checks all three.
    """
    if not direct_call_agrees():
        return None
    return _direct_call(X, seed)


def _each(fn: Callable[[int], None], k: int, threads: int) -> None:
    """``fn(j)`` for j < k, over ``threads`` threads, each single-threaded inside: BLAS/OpenMP threads
    on top of ours oversubscribe the cores (measured 3x slower on GoEmotions with 2 cores)."""
    if threads > 1 and k > 1:
        from threadpoolctl import threadpool_limits
        with threadpool_limits(1), ThreadPoolExecutor(threads) as pool:
            list(pool.map(fn, range(k)))
    else:
        for j in range(k):
            fn(j)
