"""μP pretraining of the toy: the exponents equal what `gamma-solve mlp` derives and the
published μP table; the optimiser really uses them; SP is unchanged (and its cache keys too)."""
from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction

import pytest
import torch

from toy_models.mup import MUP_BASE_WIDTH, mup_exponents, scaling
from toy_models.toy import ToyModel, pretrain

from .fixtures import image_fixture

# Tensor Programs V (Yang et al. 2022, arXiv 2203.03466), Table 3, Adam, written as width
# exponents for a fixed input dimension: input weights init var 1/fan_in = n^0 and rate n^0;
# hidden weights var 1/fan_in = n^-1, rate 1/fan_in = n^-1; output weights var 1/fan_in² = n^-2,
# rate 1/fan_in = n^-1.
PUBLISHED = {"W_in": (0, 0), "W": (-1, -1), "W_out": (-2, -1)}


def test_mup_exponents_are_the_published_table() -> None:
    got = {k: (e.init_var_exponent, e.lr_exponent) for k, e in mup_exponents("adam").items()}
    assert got == {k: (Fraction(v), Fraction(c)) for k, (v, c) in PUBLISHED.items()}


def test_mup_exponents_are_what_the_gamma_solve_command_prints() -> None:
    out = subprocess.run([sys.executable, "-m", "gamma_calc.cli", "mlp", "--optimizer", "adam",
                          "--hidden-layers", "1", "--format", "json"], capture_output=True,
                         text=True, check=True).stdout
    cli = json.loads(out)
    role = {"W_in": "input", "W": "hidden", "W_out": "output"}
    for k, e in mup_exponents("adam").items():
        assert Fraction(cli[role[k]]["init_var_exponent"]) == e.init_var_exponent
        assert Fraction(cli[role[k]]["lr_exponent"]) == e.lr_exponent


@pytest.mark.parametrize("width", [32, 128, 512])
def test_scaling_values(width: int) -> None:
    n0, d, lr = 128, 784, 1e-3
    mup = scaling("mup", width, d, lr, n0)
    r = width / n0
    want_var = {"W_in": 2 / d, "W": 2 / width, "W_out": 1 / n0 / r ** 2}
    want_lr = {"W_in": lr, "W": lr / r, "W_out": lr / r}
    for k, var in want_var.items():
        assert mup.init_std[k] ** 2 == pytest.approx(var, rel=1e-12)
        assert mup.lr[k] == pytest.approx(want_lr[k], rel=1e-12)
    sp = scaling("sp", width, d, lr, n0)
    assert sp.init_std == {"W_in": (2 / d) ** 0.5, "W": (2 / width) ** 0.5,
                           "W_out": (1 / width) ** 0.5}          # Kaiming, bit for bit
    assert sp.lr == {"W_in": lr, "W": lr, "W_out": lr}


def test_bad_parametrization_is_one_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown parametrization 'ntk'; valid: sp, mup"):
        scaling("ntk", 64, 784, 1e-3)


def _weights(par: str, width: int, steps: int, data) -> list[torch.Tensor]:
    m = ToyModel(width=width, pretrain_steps=steps, pretrain_lr=1e-3, parametrization=par,
                 base_width=32, pretrain_batch=32)
    f = pretrain(m, data, dtype=torch.float64)
    return [f.W_in, f.W, f.W_out]


@pytest.mark.parametrize("width", [64, 256])
def test_pretraining_uses_the_mup_variances_and_rates(width: int) -> None:
    """Measured, not read from the table: the init's empirical variances, and Adam's first step,
    which moves an entry by its rate (m̂/(√v̂ + ε) = ±1 at t = 1, up to ε: the median and the
    largest step equal the rate; entries with a tiny gradient move less)."""
    data = image_fixture(256, 0)
    w0 = _weights("mup", width, 0, data)
    w1 = _weights("mup", width, 1, data)
    r = width / 32
    want_var = [2 / 784, 2 / width, 1 / 32 / r ** 2]
    want_lr = [1e-3, 1e-3 / r, 1e-3 / r]
    for a, b, var, lr in zip(w0, w1, want_var, want_lr):
        assert float(a.var()) == pytest.approx(var, rel=0.1)
        step = (b - a).abs()
        moved = step[step > 0]
        assert moved.numel() > 0.3 * step.numel()
        for stat in (moved.median(), moved.max()):
            assert float(stat) == pytest.approx(lr, rel=1e-4)


def test_mup_is_sp_at_the_base_width() -> None:
    data = image_fixture(256, 1)
    for a, b in zip(_weights("mup", 32, 5, data), _weights("sp", 32, 5, data)):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert any(not torch.equal(a, b) for a, b in
               zip(_weights("mup", 64, 5, data), _weights("sp", 64, 5, data)))


def test_cache_keys() -> None:
    sp = ToyModel(width=512, pretrain_steps=500)
    # SP keys predate the parametrisation: they must stay as they were (cached checkpoints)
    assert sp.pretrain_key() == {
        "width": 512, "d": 784, "classes": 10, "pretrain_lr": 3e-4, "pretrain_steps": 500,
        "pretrain_batch": 64, "pretrain_seed": 0, "pretrain_data": "mnist", "optimizer": "adamw",
        "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "init": "kaiming-normal",
        "version": 1}
    mup = ToyModel(width=512, pretrain_steps=500, parametrization="mup")
    assert mup.pretrain_key()["parametrization"] == "mup"
    assert mup.pretrain_key()["base_width"] == MUP_BASE_WIDTH
    other = ToyModel(width=512, pretrain_steps=500, parametrization="mup", base_width=256)
    assert other.pretrain_key() != mup.pretrain_key() != sp.pretrain_key()
