"""width_sweeps.bootstrap — the one bootstrap — against a plain numpy stratified bootstrap."""
from __future__ import annotations

import numpy as np

from width_sweeps.bootstrap import stratified


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
