"""DST-I basis, ρ[r], Q[r], ν against independent facts."""
import math

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from toy_models.spectral import concentration, dst_basis, gain, loram_gain_log, nu


def test_dst_basis_exactly_orthonormal_and_symmetric():
    for m in (1, 2, 7, 64, 257):
        phi = dst_basis(m)
        assert phi.dtype == torch.float64
        torch.testing.assert_close(phi @ phi.T, torch.eye(m, dtype=torch.float64),
                                   rtol=0, atol=1e-13)
        torch.testing.assert_close(phi, phi.T, rtol=0, atol=0)


def test_dst_basis_formula_entry():
    m = 10
    i, j = 3, 6
    want = math.sqrt(2 / (m + 1)) * math.sin((i + 1) * (j + 1) * math.pi / (m + 1))
    assert abs(float(dst_basis(m)[i, j]) - want) < 1e-15


def test_nu_is_mean_square_and_keeps_run_dim():
    M = torch.arange(6.0).view(1, 2, 3)
    assert torch.allclose(nu(M), torch.tensor([sum(k * k for k in range(6)) / 6]))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), min_size=1,
                max_size=40).filter(lambda s: sum(s) > 1e-9), st.integers(1, 40))
def test_gain_in_unit_interval(spectrum, r):
    s = torch.tensor(spectrum, dtype=torch.float64)
    r = min(r, len(spectrum))
    q = float(gain(s, r))
    assert -1e-12 <= q <= 1 + 1e-12


def test_gain_extremes():
    flat = torch.ones(10, dtype=torch.float64)  # equal singular values: Q[r] = r/R
    assert float(gain(flat, 3)) == 0.3 and float(concentration(flat, 3)) == 1.0
    spike = torch.tensor([5.0] + [0.0] * 9, dtype=torch.float64)  # rank one: Q[1] = 1
    assert float(gain(spike, 1)) == 1.0


def test_loram_log_gain():
    assert loram_gain_log(32, 4096, 784) == math.log(32) / math.log(784)
    assert loram_gain_log(1, 100, 100) == 0.0
