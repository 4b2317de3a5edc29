"""Full-batch L-BFGS for many independent linear problems at once (one per label).

A one-vs-rest linear model with a separable loss is ``C`` independent problems

    min_{w_j, b_j}  sum_i loss_ij(x_i . w_j + b_j)  +  ||w_j||^2 / (2 * C_reg)

that share the design matrix ``X``. :func:`lbfgs_columns` runs one L-BFGS per column
(Nocedal & Wright, *Numerical Optimization*, 2nd ed., Algorithm 7.4, two-loop recursion),
vectorised over a block of columns: every inner product is a column-wise reduction, every
column has its own step length (backtracking Armijo search), its own curvature pairs and
its own stopping test, so the result equals running the columns one by one. Columns that
have converged are frozen (no step: their trial point is their point, and the values
evaluated there are replaced by those they stopped with) and dropped from the block once
a quarter of it is frozen, so the cost of each pass over ``X`` falls as labels finish (rare
labels started at their prior converge in a few iterations) without copying the whole curvature
history every time one column stops. The per-iteration work is dense over features x columns
(the two-loop recursion reads ``2 * memory`` pairs): on short texts with many features that, not
the passes over ``X``, is most of the time, and a fresh block of that size per operation is
faulted in by the kernel page by page, which cost more than the arithmetic. So column products
are reduced over slices of rows (:func:`colsum`), the direction, the trial iterate and the
newest curvature pair are written into blocks reused from earlier iterations, and the first
trial step makes no copy of the block (``mltc train --loss bce`` on 47k character n-grams x
1,292 labels: 318 s -> 139 s, ``benchmarks/results/peers/``; variants in ``benchmarks/bench_lbfgs.py``).

With ``joint=True`` the block is one problem instead (a loss that couples the labels of a
text, such as ZLPR): one step length and one stopping test for the whole block.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

#: fg(W, cols) -> (f, G): per-column objective values (k,) and gradients (d+1, k) at W (d+1, k)
ObjectiveFn = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


@dataclass
class SolverResult:
    W: torch.Tensor          # (d + 1, k): weights, last row the intercept
    iterations: torch.Tensor  # (k,) iterations each column ran
    converged: torch.Tensor   # (k,) bool
    evaluations: int          # objective evaluations (passes over X)


#: elements of one slice of rows in column reductions (4 MB of float32: the temporaries stay in the
#: allocator's reused memory and in cache instead of being faulted in afresh for every product)
CHUNK_ELEMENTS = 1 << 20


def colsum(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Column-wise inner products ``(a * b).sum(0)`` over slices of rows, returned in float64.

    Each slice is reduced in the operands' dtype and the slices are added in float64 (for the
    objective's regulariser that is about 1e-7 relative in float32, the same order as the float32
    loss entries it is added to). One product of the operands' size would be a fresh allocation of
    features x columns per call, and with a few dozen of them per iteration the kernel's page
    faults cost more than the arithmetic (``benchmarks/README.md``, "The logistic family on many
    labels").
    """
    step = max(1, CHUNK_ELEMENTS // max(1, a.shape[1]))
    total = torch.zeros(a.shape[1], dtype=torch.float64)
    for i in range(0, a.shape[0], step):
        total += torch.linalg.vecdot(a[i:i + step], b[i:i + step], dim=0)
    return total


def lbfgs_columns(fg: ObjectiveFn, W0: torch.Tensor, *, memory: int = 10, max_iter: int = 200, tol: float = 1e-3,
                  gnorm_ref: torch.Tensor | None = None, joint: bool = False, c1: float = 1e-4, ftol: float = 1e-10,
                  max_backtracks: int = 30, callback: Callable[[int, int], None] | None = None) -> SolverResult:
    """Minimise ``k`` independent objectives (one per column of ``W0``) with L-BFGS.

    Parameters
    ----------
    fg : callable
        ``fg(W, cols)`` returns per-column objective values (shape ``(k',)``, float64) and
        gradients (shape of ``W``) at ``W``, for the columns ``cols`` (indices into the
        original block, so the caller can select its targets and weights).
    W0 : Tensor (p, k)
        Starting point, one column per problem.
    memory : int
        Curvature pairs kept per column.
    max_iter : int
        Iterations per column.
    tol : float
        A column stops when ``||g_j|| <= tol * gnorm_ref_j`` (the gradient norm at the
        starting point, or ``gnorm_ref`` when given: pass the norm at zero when warm-starting
        so that a warm start does not loosen the test).
    ftol : float
        A column also stops when an iteration lowers its objective by less than
        ``ftol * max(|f|, 1)`` (as scipy's L-BFGS-B ``factr`` test).
    joint : bool
        Treat the block as one problem (one step length, one stopping test).
    callback : callable, optional
        ``callback(iteration, active_columns)`` after every iteration.

    Returns
    -------
    SolverResult
    """
    def dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        c = colsum(a, b)
        return c.sum().expand(c.shape[0]).clone() if joint else c

    W = W0.clone()
    p, k = W.shape
    out = W.clone()
    iters = torch.zeros(k, dtype=torch.long)
    conv = torch.zeros(k, dtype=torch.bool)
    cols = torch.arange(k)
    f, G = fg(W, cols)
    evals = 1
    gn = colsum(G, G).sqrt()
    if joint:
        gn = gn.norm().expand(k).clone()
    ref = gnorm_ref.double().clone() if gnorm_ref is not None else gn.clone()
    if joint and gnorm_ref is not None:
        ref = ref.norm().expand(k).clone()
    ref = ref.clamp(min=1e-12)
    S: list[torch.Tensor] = []
    Yh: list[torch.Tensor] = []
    R: list[torch.Tensor] = []  # rho per column (0 where the pair was rejected)
    last_sy = last_yy = torch.zeros(k, dtype=torch.float64)  # s.y and y.y of the newest pair (the initial scaling)
    # Columns that stop are written out and frozen in place (a step of 0: the values evaluated at their trial
    # point are replaced by those they stopped with); the block is compacted only once a quarter of its
    # columns are frozen: compacting copies the whole history
    frozen = torch.zeros(k, dtype=torch.bool)
    # blocks of features x columns reused from one iteration to the next (fresh ones are faulted in page
    # by page): the search direction, and the iterate the last step left behind; None after a compaction
    # (the blocks popped from the history are always of the current shape: it is compacted with them)
    q_buf: torch.Tensor | None = None
    spare: torch.Tensor | None = None
    it = 0
    while True:
        done = gn <= tol * ref
        if joint:
            done = done.all().expand(len(cols)).clone()
        done &= ~frozen
        if done.any():
            out[:, cols[done]] = W[:, done]
            conv[cols[done]] = True
            frozen |= done
        if frozen.all():
            break
        if 4 * int(frozen.sum()) >= len(cols) > 0 and it < max_iter:
            keep = ~frozen
            cols, W, G, f, gn, ref = cols[keep], W[:, keep], G[:, keep], f[keep], gn[keep], ref[keep]
            last_sy, last_yy = last_sy[keep], last_yy[keep]
            S = [s[:, keep] for s in S]
            Yh = [y[:, keep] for y in Yh]
            R = [r[keep] for r in R]
            frozen = frozen[keep]
            q_buf = spare = None
        if it >= max_iter:
            break
        it += 1
        live = ~frozen
        # two-loop recursion, per column
        q_buf = q = q_buf.copy_(G) if q_buf is not None else G.clone()
        alphas = []
        for s, y, r in zip(reversed(S), reversed(Yh), reversed(R)):
            a = r * dot(s, q)
            q.addcmul_(y, a.to(q.dtype), value=-1.0)
            alphas.append(a)
        gamma = 1.0 / gn.clamp(min=1e-12)
        if S:
            gamma = torch.where((last_sy > 0) & (last_yy > 0), last_sy / last_yy.clamp(min=1e-300), gamma)
        q.mul_(gamma.to(q.dtype))
        for s, y, r, a in zip(S, Yh, R, reversed(alphas)):
            b = r * dot(y, q)
            q.addcmul_(s, (a - b).to(q.dtype))
        D = q.neg_()
        if frozen.any():
            D[:, frozen] = 0
        dg = dot(G, D)
        bad = (dg >= 0) & live  # not a descent direction (numerical trouble): restart along -g
        if bad.any():
            D[:, bad] = -G[:, bad] / gn[bad].clamp(min=1e-12).to(G.dtype)
            dg[bad] = dot(G[:, bad], D[:, bad])
        # backtracking Armijo line search, per column (or one step for a joint problem); the first trial is
        # taken by every column at once, into a spare block (frozen columns have D = 0 there: they keep their point)
        t = torch.ones(len(cols), dtype=torch.float64)
        idx = torch.arange(len(cols))
        Wt = torch.addcmul(W, D, t.to(W.dtype), out=spare)
        ft, Gt = fg(Wt, cols)
        evals += 1
        ok = _accept(ft, f, t, dg, c1, joint)
        if frozen.any():
            ok |= frozen
            ft[frozen], Gt[:, frozen] = f[frozen], G[:, frozen]
        if bool(ok.all()):
            W_new, f_new, G_new = Wt, ft, Gt
            pending = torch.zeros(len(cols), dtype=torch.bool)
        else:
            W_new, f_new, G_new = W.clone(), f.clone(), G.clone()
            pending = live.clone()
            for trial in range(max(1, max_backtracks)):  # trial 0 is the step already evaluated
                if trial:
                    idx = torch.nonzero(pending).squeeze(1)
                    Wt = W[:, idx] + D[:, idx] * t[idx].to(W.dtype)
                    ft, Gt = fg(Wt, cols[idx])
                    evals += 1
                    ok = _accept(ft, f[idx], t[idx], dg[idx], c1, joint)
                acc = idx[ok]
                W_new[:, acc], f_new[acc], G_new[:, acc] = Wt[:, ok], ft[ok], Gt[:, ok]
                pending[acc] = False
                if not pending.any():
                    break
                t[pending] *= 0.5
        stalled = pending  # no acceptable step: keep the point, mark converged below
        old_s = old_y = None
        if S and len(S) >= memory:  # the oldest pair goes: its blocks take the new one
            old_s, old_y = S.pop(0), Yh.pop(0)
            R.pop(0)
        s_new = torch.sub(W_new, W, out=old_s)
        y_new = torch.sub(G_new, G, out=old_y)
        sy, yy = dot(s_new, y_new), dot(y_new, y_new)
        rho = torch.where(sy > 1e-10 * yy.sqrt() * dot(s_new, s_new).sqrt(), 1.0 / sy.clamp(min=1e-300),
                          torch.zeros_like(sy))
        S.append(s_new)
        Yh.append(y_new)
        R.append(rho)
        last_sy, last_yy = sy, yy
        spare = W  # W_new is never W: the trial's spare block or a copy
        small = (f - f_new) <= ftol * torch.maximum(f_new.abs(), torch.ones_like(f_new))
        W, f, G = W_new, f_new, G_new
        gn = colsum(G, G).sqrt()
        if joint:
            gn = gn.norm().expand(len(cols)).clone()
        iters[cols[live]] = it
        if joint:
            small = small.all().expand(len(cols)).clone()
        stalled = (stalled | small) & live
        if stalled.any():  # no (or a negligible) decrease: the column is as good as it gets
            gn = torch.where(stalled, torch.zeros_like(gn), gn)
        if callback is not None:
            callback(it, int(live.sum()))
    if len(cols):
        rest = ~frozen
        out[:, cols[rest]] = W[:, rest]
    return SolverResult(out, iters, conv, evals)


def _accept(ft: torch.Tensor, f: torch.Tensor, t: torch.Tensor, dg: torch.Tensor, c1: float, joint: bool) -> torch.Tensor:
    """The Armijo test of each trial step (one test for the whole block when ``joint``)."""
    if joint:
        ok = (ft.sum() <= f.sum() + c1 * t[0] * dg[0]).expand(len(ft)).clone()
    else:
        ok = ft <= f + c1 * t * dg
    return ok & torch.isfinite(ft)
