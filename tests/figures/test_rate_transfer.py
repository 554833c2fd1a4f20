"""The best-rate helpers against closed forms and plain numpy."""
from __future__ import annotations

import numpy as np
import pytest

from figures import rate_transfer as rt


@pytest.mark.parametrize("vertex", [-9.4, -9.0, -8.51, -8.0, -7.6])
def test_optimum_is_the_vertex_of_a_parabola(vertex: float) -> None:
    ks = np.arange(-12, -4)
    loss = 0.3 * (ks - vertex) ** 2 + 0.2
    assert rt.optimum(ks, loss) == pytest.approx(vertex, abs=1e-12)


def test_optimum_at_the_end_of_the_range_and_vectorised() -> None:
    ks = np.arange(3)
    L = np.stack([np.array([1.0, 2.0, 3.0]), np.array([3.0, 1.0, 1.0 + 2 / 3])], -1)
    got = rt.optimum(ks, L)
    # first column: minimum at the range's end → its grid point; second: parabola through
    # (0, 3), (1, 1), (2, 5/3): vertex at 1 + (3 − 5/3)/(2·(3 − 2 + 5/3)) = 1.25
    np.testing.assert_allclose(got, [0.0, 1.25])


def test_bracket_finds_the_minimum_with_two_points_each_side() -> None:
    calls = []

    def f(k: int) -> float:
        calls.append(k)
        return (k + 6.3) ** 2 if k != -3 else float("nan")   # a diverged run far away

    vals = rt.bracket(f, start=-1, lo=-16, hi=0)
    assert min(vals, key=vals.get) == -6
    assert {-8, -7, -5, -4} <= set(vals)
    assert sorted(vals) == list(range(min(vals), max(vals) + 1))    # contiguous
    assert len(calls) == len(set(calls))                              # nothing twice
    assert vals[-3] == np.inf


def test_bracket_stops_at_the_grid_edge() -> None:
    vals = rt.bracket(lambda k: float(k), start=-2, lo=-5, hi=0)
    assert sorted(vals) == [-5, -4, -3, -2]          # minimum at the edge, two points above it
    with pytest.raises(ValueError, match="outside the grid"):
        rt.bracket(lambda k: 0.0, start=3, lo=-5, hi=0)


def test_slopes_vectorised_against_polyfit() -> None:
    rng = np.random.default_rng(0)
    x = np.log2([128, 512, 2048.0])
    y = rng.normal(size=(5, 3))
    got = rt.slopes(x, y)
    want = [np.polyfit(x, row, 1)[0] for row in y]
    np.testing.assert_allclose(got, want, rtol=1e-12)
