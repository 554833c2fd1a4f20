"""The best rate on a log₂ grid: a bracketing search and the parabola vertex.

Used by figures/mup_pretraining.py (μP's rate transfer, Tensor Programs V).  Rates live on the
grid η = 2^k (integer k).  `bracket` evaluates grid points from a start until the minimum has
two evaluated neighbours on each side; the best rate of a loss curve is the vertex of the
parabola through the grid minimum and its two neighbours, in k (so it lies within half a grid
step of the grid minimum).  `slopes`: least-squares slopes, vectorised (bootstrap draws).
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["bracket", "optimum", "slopes"]


def bracket(evaluate: Callable[[int], float], start: int, lo: int, hi: int,
            side: int = 2) -> dict[int, float]:
    """Evaluate grid points k ∈ [lo, hi] from `start` until the minimum has `side` evaluated
    points on each side (or the grid's end); returns {k: loss}.  Non-finite losses (diverged
    runs) count as +inf.  Evaluates contiguous points only, so the result is a contiguous
    range of k."""
    if not lo <= start <= hi:
        raise ValueError(f"start {start} outside the grid [{lo}, {hi}]")
    vals: dict[int, float] = {}

    def get(k: int) -> None:
        v = float(evaluate(k))
        vals[k] = v if np.isfinite(v) else np.inf

    get(start)
    while True:
        kmin = min(vals, key=lambda k: (vals[k], k))
        todo = [k for k in range(kmin - side, kmin + side + 1) if lo <= k <= hi and k not in vals]
        if not todo:
            return dict(sorted(vals.items()))
        # grow the contiguous range by one point toward the first missing neighbour
        k = todo[0]
        step = -1 if k < kmin else 1
        while k - step not in vals:
            k -= step
        get(k)


def optimum(ks: np.ndarray, losses: np.ndarray) -> np.ndarray:
    """Vertex k* of the parabola through the grid minimum and its neighbours.

    ks: (K,) contiguous sorted grid exponents; losses: (K, ...) → k*: (...).  A minimum at
    the end of the range (or with an infinite neighbour) is returned as its grid point."""
    ks = np.asarray(ks, float)
    L = np.asarray(losses, float)
    i = np.argmin(np.where(np.isfinite(L), L, np.inf), axis=0)
    K = len(ks)
    if K < 3:
        return ks[i]
    inner = (i > 0) & (i < K - 1)
    j = np.clip(i, 1, K - 2)
    fm, f0, fp = (np.take_along_axis(L, np.expand_dims(j + d, 0), 0)[0] for d in (-1, 0, 1))
    curv = fm - 2 * f0 + fp
    ok = inner & np.isfinite(fm) & np.isfinite(fp) & (curv > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        shift = np.where(ok, 0.5 * (fm - fp) / np.where(ok, curv, 1.0), 0.0)
    return ks[i] + np.clip(shift, -0.5, 0.5)


def slopes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least-squares slopes of y[..., i] against x[i]."""
    xc = np.asarray(x, float) - np.mean(x)
    y = np.asarray(y, float)
    return ((y - y.mean(-1, keepdims=True)) * xc).sum(-1) / (xc * xc).sum()
