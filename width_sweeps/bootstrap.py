"""gammakit's one bootstrap: seeds resampled independently within cells (docs/theory.md §9.6).

A *cell* is one group of independent repeats — the seeds of one configuration at one width, or
of one (scheme, rate, init scale) cell of a grid.  Different cells are independent runs, so the
seeds are resampled with replacement *within* every cell, independently across cells (a
stratified bootstrap), and a statistic of the cell means is recomputed on every resample.
The resamples are `scipy.stats.bootstrap`'s (`paired=False`, vectorised, percentile method):
the same index draws from the same generator, cell after cell (`rng.integers(0, k, (n_boot,
k))` for a cell of k seeds), so the draws are scipy's bit for bit (tested against it) without
its per-call validation and interval, which cost more than the resampling itself for the
thirty-odd small fits of a coordinate check.  Two cases scipy cannot express are handled
here: a cell with a single value (scipy needs two) is held fixed — it carries no seed
information — and a statistic that needs the cells by key (e.g. "best cell of scheme A minus
best cell of the rest") receives ``{key: means}``.

`stratified(cells, stat)` returns the estimate, the percentile interval and the draws (kept
so that derived statistics — the ε-slope of Theorem 1 — reuse the same resamples).
"""
from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

Stat = Callable[[dict[Any, np.ndarray]], np.ndarray]
Key = TypeVar("Key", bound=Hashable)            # a cell's key (any hashable: a tuple, a width)
_CHUNK = 1 << 21                                # gathered values per chunk of series


@dataclass(frozen=True)
class Boot:
    """A bootstrapped statistic: estimate, percentile interval, draws, smallest cell size."""
    estimate: float
    low: float
    high: float
    draws: np.ndarray
    min_seeds: int

    def interval(self) -> tuple[float, float]:
        return self.low, self.high


def _clean(cells: Mapping[Key, Any]) -> dict[Key, np.ndarray]:
    """Finite values of every cell (NaN runs — diverged — are not seeds of the cell)."""
    out = {}
    for k, v in cells.items():
        a = np.asarray(v, float).ravel()
        out[k] = a[np.isfinite(a)]
    return out


def resampled_means(cells: list[np.ndarray], n_boot: int,
                    rng: np.random.Generator) -> np.ndarray:
    """`(…, n_boot, len(cells))`: each cell's mean over `n_boot` resamples of its last axis (the
    seeds) with replacement, cell after cell — scipy's draws (module doc); each value equals
    `cell[..., idx].mean(-1)`.  Cells `(…, k)` with leading axes (several series measured on
    the same runs) share the draws across those axes."""
    idx = [rng.integers(0, v.shape[-1], (n_boot, v.shape[-1])) for v in cells]
    sizes = {v.shape[-1] for v in cells}
    lead = cells[0].shape[:-1]
    if len(sizes) == 1:                          # equal cells: one gather and one sum
        k = sizes.pop()
        gi = np.stack(idx) + k * np.arange(len(cells))[:, None, None]
        L = np.concatenate(cells, -1).reshape(-1, k * len(cells))
        out = np.empty((len(L), n_boot, len(cells)))
        step = max(1, _CHUNK // gi.size)         # bounded memory for many series
        for s in range(0, len(L), step):
            out[s:s + step] = (np.add.reduce(L[s:s + step, gi], axis=-1) / k).transpose(0, 2, 1)
        return out.reshape(*lead, n_boot, len(cells))
    out = np.empty((*lead, n_boot, len(cells)))
    for i, (v, ix) in enumerate(zip(cells, idx)):
        out[..., i] = np.add.reduce(v[..., ix], axis=-1) / v.shape[-1]
    return out


def cell_means(cells: Mapping[Key, Any], stat: Stat, n_boot: int = 1000,
               seed: int | np.random.Generator = 0) -> tuple[np.ndarray, np.ndarray, int]:
    """(estimate, draws of shape (n_boot, ...)) of `stat` over stratified resamples of the cell
    means; `stat` maps {key: means} (each mean of shape (n_boot,) or ()) to an array."""
    c = _clean(cells)
    empty = [k for k, v in c.items() if not len(v)]
    if empty:
        raise ValueError(f"bootstrap: cell {empty[0]!r} has no finite value")
    est = np.asarray(stat({k: np.asarray(v.mean()) for k, v in c.items()}), float)
    varying = [k for k, v in c.items() if len(v) >= 2]
    fixed = {k: float(v.mean()) for k, v in c.items() if len(v) < 2}
    min_seeds = min(len(v) for v in c.values())
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    if not varying:
        draws = np.asarray(stat({k: np.full(n_boot, v) for k, v in fixed.items()}), float)
        return est, np.broadcast_to(draws.T, (n_boot,) + est.shape).copy(), min_seeds

    draws_v = resampled_means([c[k] for k in varying], n_boot, rng)
    means = {k: draws_v[:, i] for i, k in enumerate(varying)}
    means.update({k: np.full(n_boot, v) for k, v in fixed.items()})
    draws = np.asarray(stat(means), float)
    return est, np.moveaxis(draws, -1, 0).copy(), min_seeds


def stratified(cells: Mapping[Key, Any], stat: Stat, *, n_boot: int = 1000,
               level: float = 0.95, seed: int | np.random.Generator = 0) -> Boot:
    """Percentile bootstrap of a scalar `stat` of cell means, seeds resampled within cells.

    `cells` maps a key to that cell's seed values (NaN values are dropped); `stat` takes
    {key: means} where every mean is an array (shape (n_boot,) on resamples, () for the
    estimate) and must use numpy operations elementwise (e.g. ``np.minimum``)."""
    est, draws, k = cell_means(cells, stat, n_boot, seed)
    a = (1 - level) / 2
    lo, hi = np.nanquantile(draws, [a, 1 - a]) if np.isfinite(draws).any() else (np.nan,) * 2
    return Boot(float(est), float(lo), float(hi), draws, k)
