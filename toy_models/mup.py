"""Parametrisations of the toy's pretraining: standard (SP) and maximal-update (μP).

docs/theory.md §7 (abc-parametrisations) and §8 (the μP toy).  The toy's three weights play the
three roles of `gamma_calc.mlp`: W_in (n × d, fixed fan-in d) is the *input* layer, W (n × n) the
*hidden* layer, W_out (classes × n) the *readout*.  A parametrisation fixes, per role, an init
variance and an Adam rate at every width n:

    Var[W_l] = σ_l² · (n / n₀)^{v_l},      η_l = η_base · (n / n₀)^{c_l}

with σ_l² the Kaiming variances *at the base width n₀* — 2/d (W_in), 2/n₀ (W), 1/n₀ (W_out) —
and the exponents (v_l, c_l):

* **SP** (the toy of Beyond Zero Initialization, §3.4): Kaiming at every width, one rate:
  v = (0, −1, −1), c = (0, 0, 0).
* **μP** (Yang & Hu 2021; Tensor Programs V, Yang et al. 2022, arXiv 2203.03466): the point of
  the maximal-update set that `gamma-solve mlp --optimizer adam --hidden-layers 1` derives —
  v = (0, −1, −2), c = (0, −1, −1).  The exponents are read from `gamma_calc.mlp.solve_mlp`,
  never typed here.

At n = n₀ both parametrisations are the same network with the same rates (μP's readout
variance σ²·(n/n₀)^{−2} equals Kaiming's 1/n₀ there), so a base-rate sweep starts from one
common point and differs only in how it extrapolates in n (microsoft/mup's "base shapes").

Readout init: μP allows any readout variance ≤ n^{−2} under Adam, zero included.  We take the
largest, n₀/n² (not zero): it keeps μP ≡ SP at n₀, and a zero readout would leave W_in and W
without a gradient at the first step.  The LoRA premise (z = φ(W_in x) = Θ(1)) does not depend
on this choice; the readout only sets the output's size at init.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

__all__ = [
    "MUP_BASE_LR",
    "MUP_BASE_WIDTH",
    "MUP_DEFAULTS",
    "MUP_STEPS",
    "PARAMETRIZATIONS",
    "ROLES",
    "Parametrization",
    "RoleScaling",
    "mup_exponents",
    "scaling",
]

PARAMETRIZATIONS = ("sp", "mup")
# The μP testbed (model `toy-mup`): base width n₀, base rate η_base and pretraining steps.
# η_base = 2^-9 is the best MNIST test loss of the base-rate sweep at n₀ (docs/toy_models.md;
# figures/mup_pretraining.py re-measures it); 500 steps (4 epochs of the 8 000 training
# images) keep the n = 4096 pretraining at ≈ 8 min on one CPU core.
MUP_BASE_WIDTH = 128
MUP_BASE_LR = 2.0 ** -9
MUP_STEPS = 500
MUP_DEFAULTS = {"parametrization": "mup", "pretrain_lr": MUP_BASE_LR, "pretrain_steps": MUP_STEPS,
                "base_width": MUP_BASE_WIDTH}
ROLES = {"W_in": "input", "W": "hidden", "W_out": "output"}   # toy weight → gamma_calc role


@dataclass(frozen=True)
class RoleScaling:
    """Width exponents of one role: init variance ∝ n^v, Adam rate ∝ n^c."""
    init_var_exponent: Fraction
    lr_exponent: Fraction


@lru_cache(maxsize=4)
def mup_exponents(optimizer: str = "adam") -> dict[str, RoleScaling]:
    """μP's (v, c) per toy weight, as `gamma_calc.mlp.solve_mlp(optimizer, hidden_layers=1)`
    reports them (its maximal-update point with the largest init variances)."""
    from gamma_calc.mlp import solve_mlp
    res = solve_mlp(optimizer, hidden_layers=1)
    out = {}
    for weight, role in ROLES.items():
        m = res.mup[role]
        out[weight] = RoleScaling(Fraction(m["init_var_exponent"]), Fraction(m["lr_exponent"]))
    return out


SP_EXPONENTS = {"W_in": RoleScaling(Fraction(0), Fraction(0)),
                "W": RoleScaling(Fraction(-1), Fraction(0)),
                "W_out": RoleScaling(Fraction(-1), Fraction(0))}


@dataclass(frozen=True)
class Parametrization:
    """Init standard deviations and Adam rates of the toy's weights at one width."""
    name: str
    width: int
    base_width: int
    exponents: dict[str, RoleScaling]
    init_std: dict[str, float]
    lr: dict[str, float]


def scaling(name: str, width: int, d: int, base_lr: float,
            base_width: int = MUP_BASE_WIDTH) -> Parametrization:
    """The toy's parametrisation `name` ("sp" | "mup") at `width` (module doc)."""
    if name not in PARAMETRIZATIONS:
        raise ValueError(f"unknown parametrization {name!r}; valid: {', '.join(PARAMETRIZATIONS)}")
    if width < 1 or base_width < 1 or d < 1 or not base_lr > 0:
        raise ValueError("width, base_width and d must be positive integers and base_lr > 0")
    exps = SP_EXPONENTS if name == "sp" else mup_exponents("adam")
    base_var = {"W_in": Fraction(2, d), "W": Fraction(2, base_width),
                "W_out": Fraction(1, base_width)}
    ratio = Fraction(width, base_width)      # exact: SP's stds are Kaiming's to the last bit
    std = {k: float(base_var[k] * ratio ** e.init_var_exponent) ** 0.5 for k, e in exps.items()}
    lr = {k: base_lr * float(ratio ** e.lr_exponent) for k, e in exps.items()}
    return Parametrization(name, width, base_width, dict(exps), std, lr)
