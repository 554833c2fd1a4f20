"""Init schemes against independent facts (docs/theory.md §5; INTERFACES scheme table)."""
import math

import pytest
import torch

from toy_models.inits import (
    DISPLAY_NAMES,
    UnknownSchemeError,
    get_init,
    parse_modifiers,
    scheme_names,
)
from toy_models.spectral import dst_basis, loram_gain_log, nu

ZERO_PRODUCT = ["A", "B", "zero", "ortho-eye-const", "ortho-eye-match", "ortho-qr-const",
                "ortho-qr-match", "A-match-pissa"]
RESIDUAL = ["AB", "AB-practical", "pissa", "milora", "olora", "loram", "inilora",
            "inilora-alpha", "inilora-beta", "loram-orth", "loram-pissa", "loram-milora"]


def _W(out=48, inp=40, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(out, inp, generator=g, dtype=dtype) / math.sqrt(inp)


def _g(seed=0):
    return torch.Generator().manual_seed(seed)


def test_registry_names_match_interfaces():
    assert scheme_names() == ["A", "B", "AB", "AB-practical", "AB+", "ortho-eye-const",
                              "ortho-eye-match", "ortho-qr-const", "ortho-qr-match", "pissa",
                              "milora", "olora", "loram", "inilora", "inilora-alpha",
                              "inilora-beta", "inilora-alpha-kept", "loram-orth",
                              "loram-pissa", "loram-milora", "A-match-pissa", "zero",
                              "kaiming", "gaussian"]
    assert set(scheme_names()) <= set(DISPLAY_NAMES)
    assert DISPLAY_NAMES["A"] == "Init[A]" and DISPLAY_NAMES["AB+"] == "Init[AB+]"
    assert get_init("Standard").name == "A" and get_init("reversed").name == "B"


@pytest.mark.parametrize("name", ZERO_PRODUCT)
def test_product_is_exactly_zero(name):
    ini = get_init(name).init(_W(), 8, generator=_g())
    assert torch.count_nonzero(ini.B @ ini.A) == 0 or name.startswith("ortho-qr")
    torch.testing.assert_close(ini.B @ ini.A, torch.zeros(48, 40, dtype=torch.float64),
                               rtol=0, atol=1e-14)
    if name.startswith("ortho"):  # both factors non-zero, even so
        assert ini.A.abs().sum() > 0 and ini.B.abs().sum() > 0
    assert ini.W_residual is None


@pytest.mark.parametrize("name", RESIDUAL)
@pytest.mark.parametrize("alpha", [None, 3.0])
def test_residual_plus_scaled_product_reconstructs_W(name, alpha):
    W = _W()
    ini = get_init(name).init(W, 6, generator=_g(), alpha=alpha)
    assert ini.scale == (1.0 if alpha is None else alpha / 6)
    torch.testing.assert_close(ini.W_residual + ini.scale * ini.B @ ini.A, W, rtol=0,
                               atol=1e-13)


def test_pissa_is_best_rank_r_and_milora_the_minor_part():
    W = _W()
    S = torch.linalg.svdvals(W)
    p = get_init("pissa").init(W, 5, generator=_g())
    m = get_init("milora").init(W, 5, generator=_g())
    # Eckart–Young: the PiSSA residual has the tail energy; MiLoRA's product the bottom-r one
    assert math.isclose(float(p.W_residual.pow(2).sum()), float(S[5:].pow(2).sum()),
                        rel_tol=1e-10)
    assert math.isclose(float((m.B @ m.A).pow(2).sum()), float(S[-5:].pow(2).sum()),
                        rel_tol=1e-10)
    # √S split: AAᵀ = BᵀB = diag(S_r)
    torch.testing.assert_close(p.A @ p.A.T, torch.diag(S[:5]), rtol=0, atol=1e-12)
    torch.testing.assert_close(p.B.T @ p.B, torch.diag(S[:5]), rtol=0, atol=1e-12)


def test_olora_factors_are_q_and_r():
    ini = get_init("olora").init(_W(), 4, generator=_g())
    torch.testing.assert_close(ini.B.T @ ini.B, torch.eye(4, dtype=torch.float64), rtol=0,
                               atol=1e-12)
    assert torch.all(torch.tril(ini.A[:, :4], -1) == 0)  # R is upper triangular


def test_loram_matches_dst_basis_and_gain():
    W = _W(48, 40)
    r = 6
    ini = get_init("loram").init(W, r, generator=_g())
    Q = loram_gain_log(r, 48, 40)
    # ν[B₀A₀] = Q ν[W] (LoRAM Eq. 11), using only orthonormality of the DST columns
    assert math.isclose(float(nu(ini.B @ ini.A)), Q * float(nu(W)), rel_tol=1e-10)
    beta = (Q * float(nu(W)) * 48 * 40 / r) ** 0.25
    torch.testing.assert_close(ini.A, beta * dst_basis(40)[:, :r].T, rtol=0, atol=1e-14)
    torch.testing.assert_close(ini.B, beta * dst_basis(48)[:, :r], rtol=0, atol=1e-14)


def test_inilora_fits_W_nearly_optimally():
    W = _W(64, 64)
    S = torch.linalg.svdvals(W)
    ini = get_init("inilora").init(W, 4, generator=_g())
    captured = float(W.pow(2).sum() - ini.W_residual.pow(2).sum())
    assert captured > 0.98 * float(S[:4].pow(2).sum())


@pytest.mark.parametrize("name,var_a,var_b", [
    ("A", lambda o, i, r: 1 / i, lambda o, i, r: 0.0),
    ("B", lambda o, i, r: 0.0, lambda o, i, r: 1 / r),
    ("AB", lambda o, i, r: 1.0, lambda o, i, r: 1 / o),
    ("AB-practical", lambda o, i, r: 1 / i, lambda o, i, r: 1 / i),
    ("AB+", lambda o, i, r: 1 / i, lambda o, i, r: 1 / i),
    ("inilora-alpha", lambda o, i, r: 0.25, lambda o, i, r: 0.25),
    ("inilora-beta", lambda o, i, r: 1 / i, lambda o, i, r: 1 / r),
    ("inilora-alpha-kept", lambda o, i, r: 0.25, lambda o, i, r: 0.25),
    ("kaiming", lambda o, i, r: 1 / i, lambda o, i, r: 1 / r),
    ("ortho-qr-const", lambda o, i, r: 0.01 / 2, lambda o, i, r: 0.01 / 2),
    ("ortho-qr-match", lambda o, i, r: 1 / (2 * i), lambda o, i, r: 1 / (2 * r)),
])
@pytest.mark.parametrize("beta", [1.0, 4.0])
def test_random_factor_variances(name, var_a, var_b, beta):
    out, inp, r = 600, 500, 16
    W = torch.zeros(out, inp, dtype=torch.float64)
    ini = get_init(name).init(W, r, generator=_g(1), init_scale=beta)
    for M, want in ((ini.A, var_a(out, inp, r)), (ini.B, var_b(out, inp, r))):
        got = float(M.pow(2).mean())
        assert got == pytest.approx(beta * want, rel=0.1, abs=0)


def test_per_run_generators_reproduce_single_runs():
    W = _W()
    for name in ("A", "AB", "ortho-qr-match", "inilora-beta", "loram"):
        many = get_init(name).init(W, 4, generator=[_g(s) for s in (3, 4)], runs=2)
        assert many.A.shape == (2, 4, 40) and many.B.shape == (2, 48, 4)
        for k, s in enumerate((3, 4)):
            one = get_init(name).init(W, 4, generator=_g(s))
            torch.testing.assert_close(many.A[k], one.A, rtol=0, atol=0)
            torch.testing.assert_close(many.B[k], one.B, rtol=0, atol=0)


def test_dtype_and_device_follow_W():
    ini = get_init("AB").init(_W(dtype=torch.float32), 4, generator=_g())
    assert ini.A.dtype == torch.float32 and ini.W_residual.dtype == torch.float32


def test_unknown_scheme_one_line_error():
    with pytest.raises(KeyError) as e:
        get_init("nonsense")
    assert isinstance(e.value, UnknownSchemeError)
    msg = str(e.value)
    assert "\n" not in msg and "nonsense" in msg and "ortho-qr-match" in msg


@pytest.mark.parametrize("name", ["ortho-eye-const", "ortho-qr-match"])
def test_odd_rank_is_a_clean_error(name):
    with pytest.raises(ValueError, match="even rank") as e:
        get_init(name).init(_W(), 5, generator=_g())
    assert "\n" not in str(e.value)


def test_init_scale_refused_for_weight_derived():
    with pytest.raises(ValueError, match="computed from W"):
        get_init("pissa").init(_W(), 4, generator=_g(), init_scale=2.0)


def test_modifiers():
    assert parse_modifiers(["rslora"]).rslora
    assert parse_modifiers(["loraplus"]).lr_ratio == 16.0
    assert parse_modifiers(["loraplus=4"]).lr_ratio == 4.0
    with pytest.raises(UnknownSchemeError):
        parse_modifiers(["dora"])
