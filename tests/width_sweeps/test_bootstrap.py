"""`width_sweeps.bootstrap`: the stratified resampling is scipy.stats.bootstrap's, draw for draw."""
import numpy as np
import pytest
from scipy import stats

from width_sweeps.bootstrap import cell_means, stratified


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
