"""lora_apply with a run dim equals a loop of single-run modules; W is shared, not copied."""
import math

import pytest
import torch

from toy_models.lora import LoRALinear, lora_apply, lora_scale


def _factors(R, out, inp, r, g):
    A = torch.randn(R, r, inp, generator=g, dtype=torch.float64)
    B = torch.randn(R, out, r, generator=g, dtype=torch.float64)
    return A, B


@pytest.mark.parametrize("per_run_x", [False, True])
@pytest.mark.parametrize("offset", [False, True])
def test_run_dim_matches_loop_of_modules(per_run_x, offset):
    g = torch.Generator().manual_seed(0)
    R, b, out, inp, r, s = 3, 5, 7, 11, 2, 0.7
    W = torch.randn(out, inp, generator=g, dtype=torch.float64)
    A, B = _factors(R, out, inp, r, g)
    A0, B0 = _factors(R, out, inp, r, g) if offset else (None, None)
    x = torch.randn(R, b, inp, generator=g, dtype=torch.float64) if per_run_x else \
        torch.randn(b, inp, generator=g, dtype=torch.float64)
    got = lora_apply(x, W, A, B, s, A0, B0)
    assert got.shape == (R, b, out)
    for k in range(R):
        mod = LoRALinear(W, A[k], B[k], s, None if A0 is None else A0[k],
                         None if B0 is None else B0[k])
        xk = x[k] if per_run_x else x
        # independent fact: the dense merged weight W + s(BA − B0A0)
        dense = W + s * B[k] @ A[k] - (s * B0[k] @ A0[k] if offset else 0)
        torch.testing.assert_close(got[k], mod(xk), rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(got[k], xk @ dense.T, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(mod.merged_weight(), dense, rtol=1e-12, atol=1e-12)


def test_module_trains_only_factors():
    W = torch.randn(4, 6)
    mod = LoRALinear(W, torch.randn(2, 6), torch.zeros(4, 2), 1.0)
    assert [n for n, _ in mod.named_parameters()] == ["A", "B"]
    mod(torch.randn(3, 6)).sum().backward()
    assert mod.weight.grad is None and mod.B.grad is not None


def test_scale_conventions():
    assert lora_scale(16, 32) == 2.0
    assert lora_scale(16, 32, rslora=True) == pytest.approx(8.0)
    assert lora_scale(9) == 1.0 and lora_scale(9, rslora=True) == 1.0
    assert lora_scale(4, 2.0, True) == pytest.approx(2.0 / math.sqrt(4))
    with pytest.raises(ValueError):
        lora_scale(0, 1.0)


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="shape mismatch"):
        LoRALinear(torch.zeros(4, 6), torch.zeros(2, 5), torch.zeros(4, 2), 1.0)
