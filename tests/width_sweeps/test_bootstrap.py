"""width_sweeps.bootstrap — the one bootstrap — against a plain numpy stratified bootstrap, and
its draws against scipy.stats.bootstrap's, draw for draw."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from width_sweeps.bootstrap import cell_means, stratified


def numpy_stratified(cells: dict, stat, n_boot: int, level: float, seed: int) -> tuple:
    """Seeds resampled with replacement within every cell, independently across cells; a
    single-value cell held fixed; the percentile interval of the statistic of the means."""
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(n_boot):
        means = {k: (v[rng.integers(0, len(v), len(v))] if len(v) > 1 else v).mean()
                 for k, v in cells.items()}
        draws.append(stat(means))
    a = (1 - level) / 2
    return tuple(np.quantile(draws, [a, 1 - a]))


def test_interval_covers_a_known_difference() -> None:
    rng = np.random.default_rng(1)
    cells = {"a": 1.0 + 0.1 * rng.standard_normal(20), "b": 0.5 + 0.1 * rng.standard_normal(20)}
    b = stratified(cells, lambda m: m["a"] - m["b"])
    assert b.low < b.estimate < b.high and b.low < 0.5 < b.high and b.high - b.low < 0.2
    assert b.min_seeds == 20 and b.draws.shape == (1000,)


def test_matches_an_independent_stratified_bootstrap() -> None:
    rng = np.random.default_rng(2)
    cells = {"a": rng.normal(2.0, 0.5, 5), "b": rng.normal(1.0, 0.2, 4), "c": np.array([0.3])}

    def stat(m: dict) -> np.ndarray:
        return np.maximum(m["a"], m["b"]) - m["c"]

    b = stratified(cells, stat, n_boot=4000, level=0.9, seed=3)
    lo, hi = numpy_stratified(cells, stat, 4000, 0.9, 4)
    width = hi - lo
    # different random streams: the endpoints agree to Monte Carlo error, not exactly
    assert abs(b.low - lo) < 0.1 * width and abs(b.high - hi) < 0.1 * width
    assert b.estimate == stat({k: v.mean() for k, v in cells.items()})
    assert b.min_seeds == 1


def test_non_finite_runs_are_not_seeds() -> None:
    b = stratified({"a": [1.0, 2.0, np.nan, 3.0]}, lambda m: m["a"])
    assert b.estimate == 2.0 and b.min_seeds == 3


def _scipy_draws(cells, stat, n_boot, rng):
    """scipy.stats.bootstrap (paired=False, vectorised, percentile) on the cells with two or
    more values; single-value cells held at their value (the module's convention)."""
    varying = [k for k, v in cells.items() if len(v) >= 2]
    fixed = {k: float(np.mean(v)) for k, v in cells.items() if len(v) < 2}

    def f(*samples, axis=-1):
        m = {k: s.mean(axis=axis) for k, s in zip(varying, samples)}
        m.update({k: np.full(m[varying[0]].shape, v) for k, v in fixed.items()})
        return np.asarray(stat(m), float)

    res = stats.bootstrap(tuple(np.asarray(cells[k], float) for k in varying), f,
                          n_resamples=n_boot, paired=False, vectorized=True,
                          method="percentile", random_state=rng)
    return np.moveaxis(np.asarray(res.bootstrap_distribution), -1, 0)


@pytest.mark.parametrize("seed", [0, 7])
def test_draws_equal_scipy_bootstrap(seed):
    g = np.random.default_rng(123)
    cells = {(n, "x"): g.normal(np.log(n), 0.3, size=k)
             for n, k in [(64, 3), (128, 5), (256, 4), (512, 1), (1024, 6)]}
    keys = list(cells)

    def stat(m):
        x = np.log([k[0] for k in keys])
        y = np.stack([m[k] for k in keys], -1)
        xc = x - x.mean()
        return np.stack([(y * xc).sum(-1) / (xc * xc).sum(), np.max(y, -1)])

    mine_rng, ref_rng = np.random.default_rng(seed), np.random.default_rng(seed)
    est, draws, k = cell_means(cells, stat, 500, mine_rng)
    ref = _scipy_draws(cells, stat, 500, ref_rng)
    assert draws.shape == ref.shape == (500, 2) and k == 1
    np.testing.assert_array_equal(draws, ref)
    assert mine_rng.integers(0, 10 ** 9) == ref_rng.integers(0, 10 ** 9)   # same stream used
    assert est == pytest.approx(stat({c: np.mean(v) for c, v in cells.items()}))


def test_equal_cells_draws_equal_scipy_bootstrap():
    """Cells of one size take the one-gather path: still scipy's draws, bit for bit."""
    g = np.random.default_rng(9)
    cells = {n: g.normal(np.log(n), 0.3, size=5) for n in (64, 128, 256, 512)}
    keys = list(cells)
    stat = lambda m: np.stack([m[k] for k in keys])
    _, draws, k = cell_means(cells, stat, 400, np.random.default_rng(2))
    ref = _scipy_draws(cells, stat, 400, np.random.default_rng(2))
    assert draws.shape == ref.shape == (400, 4) and k == 5
    np.testing.assert_array_equal(draws, ref)


def test_scalar_stat_and_int_seed_match_scipy():
    cells = {"a": [1.0, 2.0, 4.0], "b": [0.5, 0.7], "c": [3.0, np.nan, 5.0, 2.0]}
    gap = lambda m: m["a"] - np.minimum(m["b"], m["c"])
    b = stratified(cells, gap, n_boot=300, seed=3)
    clean = {k: np.asarray(v)[np.isfinite(v)] for k, v in cells.items()}
    ref = _scipy_draws(clean, gap, 300, np.random.default_rng(3))
    np.testing.assert_array_equal(b.draws, ref)
    lo, hi = np.quantile(ref, [0.025, 0.975])
    assert (b.low, b.high) == (lo, hi) and b.min_seeds == 2


def test_all_cells_single_value_is_a_point():
    b = stratified({1: [2.0], 2: [3.0]}, lambda m: m[2] - m[1], n_boot=50)
    assert b.estimate == b.low == b.high == 1.0 and b.draws.shape == (50,)


def test_fit_series_seed_draws_are_scipys():
    """`fit.fit_series` resamples the width means through `resampled_means`: with two widths
    (no lack-of-fit term) its draws are scipy's bootstrap of the slope, widened by √(k/(k−1))."""
    from width_sweeps.fit import FitOptions, fit_series
    g = np.random.default_rng(5)
    widths = np.array([64, 256])
    logq = [g.normal(0.5 * np.log(n), 0.2, size=4) for n in widths]
    res = fit_series(widths, logq, FitOptions(n_boot=400), np.random.default_rng(11))
    x = np.log(widths.astype(float))
    slope = lambda m: (m[1] - m[0]) / (x[1] - x[0])
    ref = _scipy_draws(dict(enumerate(logq)), slope, 400, np.random.default_rng(11))
    est = slope({i: v.mean() for i, v in enumerate(logq)})
    np.testing.assert_allclose(res["boot"], est + (ref - est) * np.sqrt(4 / 3), rtol=1e-12)
    assert res["fitted"] == pytest.approx(est)


def test_fit_group_every_series_gets_scipys_draws_of_the_shared_resample():
    """Series measured on the same runs take one resample of the seeds: with two widths (no
    lack-of-fit term) every series' draws are scipy's bootstrap of its own slope from the same
    generator state, widened by √(k/(k−1))."""
    from width_sweeps.fit import FitOptions, fit_group
    g = np.random.default_rng(6)
    widths = np.array([64, 256])
    x = np.log(widths.astype(float))
    cells = [g.normal(0.5 * xw, 0.3, size=(3, 5)) for xw in x]      # 3 series × 5 seeds
    rows = fit_group(widths, cells, FitOptions(n_boot=300), np.random.default_rng(4))
    slope = lambda m: (m[1] - m[0]) / (x[1] - x[0])
    for s, row in enumerate(rows):
        own = {w: cells[w][s] for w in range(2)}
        ref = _scipy_draws(own, slope, 300, np.random.default_rng(4))
        est = slope({w: v.mean() for w, v in own.items()})
        np.testing.assert_allclose(row["boot"], est + (ref - est) * np.sqrt(5 / 4), rtol=1e-12)


def test_resampled_means_in_chunks_equal_one_gather(monkeypatch):
    """Many series are gathered a chunk at a time (bounded memory) with the same draws."""
    import width_sweeps.bootstrap as B
    g = np.random.default_rng(2)
    cells = [g.normal(size=(7, 4)) for _ in range(3)]
    whole = B.resampled_means(cells, 50, np.random.default_rng(0))
    monkeypatch.setattr(B, "_CHUNK", 3 * 50 * 4 * 2)            # two series per chunk
    parts = B.resampled_means(cells, 50, np.random.default_rng(0))
    assert whole.shape == (7, 50, 3)
    np.testing.assert_array_equal(parts, whole)
    ix = np.random.default_rng(0).integers(0, 4, (50, 4))         # the first cell's draws
    np.testing.assert_allclose(whole[:, :, 0], cells[0][:, ix].mean(-1), rtol=1e-15)
