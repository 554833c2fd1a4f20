"""`width_sweeps.lowrank.lowrank_add`: the plain formula outside vmap (gradcheck), and under vmap
(its direct path and the autograd.Function's vmap rule) against a loop over runs of the plain
formula, values and gradients, in float64."""
import itertools

import pytest
import torch

from width_sweeps.lowrank import _LowRankAdd, lowrank_add

R, P, N_IN, N_OUT, r = 3, 5, 7, 6, 2


def _plain(base, x, A, B, s):
    return base + s * (x @ A.T) @ B.T


def _draw(shape, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g, dtype=torch.float64, requires_grad=True)


def test_gradcheck_outside_vmap():
    args = (_draw((2, P, N_OUT), 0), _draw((2, P, N_IN), 1), _draw((r, N_IN), 2),
            _draw((N_OUT, r), 3))
    torch.autograd.gradcheck(lambda *a: lowrank_add(*a, -0.7), args)
    torch.testing.assert_close(lowrank_add(*args, -0.7), _plain(*args, -0.7))


@pytest.mark.parametrize("base_b, x_b, A_b, B_b",
                         [c for c in itertools.product([False, True], repeat=4) if c[2] or c[3]])
@pytest.mark.parametrize("lead", [(P,), (2, P)])
@pytest.mark.parametrize("op", [lowrank_add, _LowRankAdd.apply], ids=["direct", "function"])
def test_vmap_rule_equals_loop(base_b, x_b, A_b, B_b, lead, op):
    base = _draw(((R,) if base_b else ()) + lead + (N_OUT,), 0)
    x = _draw(((R,) if x_b else ()) + lead + (N_IN,), 1)
    A = _draw(((R,) if A_b else ()) + (r, N_IN), 2)
    B = _draw(((R,) if B_b else ()) + (N_OUT, r), 3)
    dims = tuple(0 if b else None for b in (base_b, x_b, A_b, B_b))
    out = torch.func.vmap(lambda *a: op(*a, 0.5), in_dims=dims)(base, x, A, B)
    pick = lambda t, b, i: t[i] if b else t
    ref = torch.stack([_plain(pick(base, base_b, i), pick(x, x_b, i), pick(A, A_b, i),
                              pick(B, B_b, i), 0.5) for i in range(R)])
    torch.testing.assert_close(out, ref, rtol=1e-12, atol=1e-12)
    w = torch.randn(out.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(9))
    got = torch.autograd.grad((out * w).sum(), [base, x, A, B])
    want = torch.autograd.grad((ref * w).sum(), [base, x, A, B])
    for g, h, name in zip(got, want, ["base", "x", "A", "B"]):
        torch.testing.assert_close(g, h, rtol=1e-12, atol=1e-12, msg=name)
