"""Synthetic sets: seeding, dtype/device, Θ(1) scales, and the teacher's map by hand."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from toy_models.data import synthetic


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_gaussian_inputs_are_standard_normal_and_seeded() -> None:
    x = synthetic.gaussian_inputs(4000, 50, generator=_gen(0))
    assert x.shape == (4000, 50) and x.dtype == torch.float32
    assert abs(x.mean().item()) < 0.01 and abs(x.var().item() - 1) < 0.02
    assert torch.equal(x, synthetic.gaussian_inputs(4000, 50, generator=_gen(0)))
    assert not torch.equal(x, synthetic.gaussian_inputs(4000, 50, generator=_gen(1)))
    x64 = synthetic.gaussian_inputs(4000, 50, generator=_gen(0), dtype=torch.float64, std=2.0)
    assert x64.dtype == torch.float64
    torch.testing.assert_close(x64.float(), 2 * x, rtol=1e-6, atol=1e-6)


def test_device_argument() -> None:
    x = synthetic.gaussian_inputs(3, 4, generator=_gen(0), device="cpu")
    assert x.device.type == "cpu"
    if torch.cuda.is_available():  # same numbers on the GPU from a CPU generator
        y = synthetic.gaussian_inputs(3, 4, generator=_gen(0), device="cuda")
        assert torch.equal(y.cpu(), x)


def test_linear_teacher_is_a_matrix_product() -> None:
    data = synthetic.teacher_student(64, 16, 30, 5, generator=_gen(3), dtype=torch.float64)
    (w,) = data.teacher.weights
    assert w.shape == (5, 30)
    expected = data.train.X.numpy() @ w.numpy().T
    np.testing.assert_allclose(data.train.y.numpy(), expected, rtol=1e-12, atol=1e-12)
    assert data.test.X.shape == (16, 30) and not torch.equal(data.test.X[:16], data.train.X[:16])


def test_noise_has_the_requested_size() -> None:
    data = synthetic.teacher_student(20000, 1, 8, 2, generator=_gen(4), noise_std=0.5,
                                     dtype=torch.float64)
    residual = data.train.y - data.teacher(data.train.X)
    assert abs(residual.std().item() - 0.5) < 0.01


@pytest.mark.parametrize("activation", ["tanh", "relu", "linear"])
def test_teacher_outputs_stay_order_one_at_any_width(activation: str) -> None:
    for width in (50, 800):
        data = synthetic.teacher_student(512, 1, width, 4, generator=_gen(width),
                                         hidden=(width,) * 3, activation=activation)
        var = data.train.y.var().item()
        assert 0.05 < var < 20, (activation, width, var)


def test_mlp5_regression_shapes() -> None:
    data = synthetic.mlp5_regression(32, 8, generator=_gen(0), width=40)
    assert [tuple(w.shape) for w in data.teacher.weights] == [(40, 40)] * 4 + [(10, 40)]
    assert data.train.X.shape == (32, 40) and data.train.y.shape == (32, 10)
    assert data.test.y.shape == (8, 10)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="activation"):
        synthetic.random_teacher(3, 1, generator=_gen(0), activation="gelu")
    with pytest.raises(ValueError):
        synthetic.gaussian_inputs(-1, 3, generator=_gen(0))
