"""gamma_calc's Python API: the functions behind every ``gamma-solve`` subcommand.

Exponents go in and come out as exact-rational strings (``"-1/2"``, ``"0"``, ``"-oo"``), inits
as a named scheme (``scheme="A"``, docs/theory.md §5) or as explicit entry exponents and kinds.

* :func:`check` — one configuration evaluated numerically (``gamma-solve check``): the full
  :class:`~gamma_calc.check.CheckResult`; :func:`predict` is the same as plain strings (what
  the other packages use), :func:`exponents` its exponents alone (one unroll, no flags);
* :func:`feasible_set` — the exact set of rates and init exponents (``gamma-solve solve``);
* :func:`max_lr` — the largest stable equal-rate exponent (``gamma-solve max-lr``);
* :func:`table` — one row per named scheme, Beyond Zero Init's Table 1 and more
  (``gamma-solve table``);
* :func:`mlp` — an MLP's stable and maximal-update sets and the μP they imply
  (``gamma-solve mlp``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from . import conditions as C
from . import feasible as _feasible
from .check import CheckResult, trajectory
from .check import check as _check
from .exponent import Exponent
from .mlp import MLPResult, solve_mlp
from .schemes import SCHEMES, FactorInit, get_scheme, paper_exponent

__all__ = ["Prediction", "check", "exponents", "feasible_set", "max_lr", "mlp", "predict",
           "table"]


@dataclass
class Prediction:
    """Per-step exponent strings (``None`` where undefined, e.g. ``δ`` at ``t = 0``), flags."""

    exponents: dict[str, list[str | None]]
    flags: dict[str, bool]
    degradation: dict[str, str | None] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def at(self, quantity: str, step: int) -> str | None:
        """Exponent of ``quantity`` at ``step``; ``nu_A``/``nu_B`` are twice ``A``/``B``."""
        if quantity in ("nu_A", "nu_B"):
            e = self.exponents[quantity[-1]][step]
            return None if e is None else str(Exponent.parse(e).scale(2))
        return self.exponents[quantity][step]


def _factors(scheme: str | None, a_entry: str | None, a_kind: str, b_entry: str | None,
             b_kind: str, cancel: bool = False) -> tuple[FactorInit, FactorInit, bool]:
    if scheme is not None:
        s = get_scheme(scheme)
        return s.A, s.B, s.cancel_init_product
    if a_entry is None or b_entry is None:
        raise ValueError("give a scheme name or both a_entry and b_entry")
    return FactorInit.parse(a_entry, a_kind), FactorInit.parse(b_entry, b_kind), cancel


def check(optimizer: str = "adam", a_entry: str | None = None, a_kind: str = "random",
          b_entry: str | None = None, b_kind: str = "random", lr_a: str = "-1/2",
          lr_b: str | None = None, eps: str = "0", steps: int = C.DEFAULT_STEPS,
          scheme: str | None = None, from_step: int = C.DEFAULT_FROM,
          out_width: bool | None = None, grad: str = "0",
          cancel_init_product: bool = False) -> CheckResult:
    """One LoRA layer unrolled for ``steps`` steps at rates ``n^(lr_a − eps)``,
    ``n^(lr_b − eps)`` and judged on the window ``t = from_step … steps`` (docs/theory.md §2.4–2.6;
    Beyond Zero Init, Eq. 3–4, Definitions 3–5).

    ``optimizer``: ``"adam"`` (normalised updates) or ``"sgd"`` (raw gradients). The model
    geometry (docs/theory.md §2–3): ``out_width=True`` — B has ``n`` rows (the LoRA layer of
    Beyond Zero Init §3), ``False`` — a fixed output dimension (Beyond Zero Init App. C's LoRA+
    model), ``None`` — the optimiser's default (Adam: width, SGD: fixed); ``grad`` — the exponent
    ``γ[dZ̄]`` of the backpropagated signal's entries (a finite number; for Adam it only
    matters through exact zeros). Rates and init entries are exponent strings (``"-1/2"``,
    ``"-0.5"``, ``"-oo"`` for a zero init); ``lr_b`` defaults to ``lr_a``.
    ``cancel_init_product``: ``B₀A₀ = 0`` exactly although neither factor is zero (implied by
    the orthogonal schemes' names). Returns the trajectory of ``Exponent`` objects, the flags
    ``stable``/``efficient``/``internally_stable``/``robust`` and the ε-``degradation`` slopes
    of ``δ¹, δ²``. Raises ``ValueError`` (``KeyError`` for an unknown scheme) on bad arguments.
    """
    A0, B0, cancel = _factors(scheme, a_entry, a_kind, b_entry, b_kind, cancel_init_product)
    return _check(optimizer, A0, B0, lr_a, lr_b, eps, steps, min(from_step, steps),
                  out_width=out_width, grad=grad, cancel_init_product=cancel)


def predict(optimizer: str = "adam", a_entry: str | None = None, a_kind: str = "random",
            b_entry: str | None = None, b_kind: str = "random", lr_a: str = "-1/2",
            lr_b: str | None = None, eps: str = "0", steps: int = C.DEFAULT_STEPS,
            scheme: str | None = None, from_step: int = C.DEFAULT_FROM,
            out_width: bool | None = None, grad: str = "0",
            cancel_init_product: bool = False) -> Prediction:
    """:func:`check` as strings: exponents of ``Z_A, dZ_A, Z_B, delta1..3, A, B`` at
    ``t = 0..steps`` (``Prediction.at(quantity, t)``), the four flags and the ε-slopes.
    Same arguments as :func:`check`."""
    res = check(optimizer, a_entry, a_kind, b_entry, b_kind, lr_a, lr_b, eps, steps, scheme,
                from_step, out_width, grad, cancel_init_product)
    exps = {q: [None if e is None else str(e) for e in vals]
            for q, vals in res.trajectory.values.items()}
    flags = {"stable": res.stable, "efficient": res.efficient,
             "internally_stable": res.internally_stable, "robust": res.robust}
    deg = {q: None if v is None else str(Exponent.const(v)) for q, v in res.degradation.items()}
    return Prediction(exps, flags, deg, res.notes)


def exponents(optimizer: str = "adam", a_entry: str | None = None, a_kind: str = "random",
              b_entry: str | None = None, b_kind: str = "random", lr_a: str = "-1/2",
              lr_b: str | None = None, eps: str = "0", steps: int = C.DEFAULT_STEPS,
              scheme: str | None = None, out_width: bool | None = None, grad: str = "0",
              cancel_init_product: bool = False) -> dict[str, list[str | None]]:
    """:func:`predict`'s ``exponents`` alone (its arguments but ``from_step``, the same
    strings), without the flags: one unroll of the layer instead of four (each distinct
    question derived once per process; the caller gets its own lists)."""
    got = _exponents(optimizer, a_entry, a_kind, b_entry, b_kind, lr_a, lr_b, eps, steps,
                     scheme, out_width, grad, cancel_init_product)
    return {q: list(vals) for q, vals in got}


@lru_cache(maxsize=4096)
def _exponents(optimizer: str, a_entry: str | None, a_kind: str, b_entry: str | None,
               b_kind: str, lr_a: str, lr_b: str | None, eps: str, steps: int,
               scheme: str | None, out_width: bool | None, grad: str,
               cancel_init_product: bool) -> tuple[tuple[str, tuple[str | None, ...]], ...]:
    A0, B0, cancel = _factors(scheme, a_entry, a_kind, b_entry, b_kind, cancel_init_product)
    traj = trajectory(optimizer, A0, B0, lr_a, lr_b, eps, steps, out_width=out_width, grad=grad,
                      cancel_init_product=cancel)
    return tuple((q, tuple(None if e is None else str(e) for e in vals))
                 for q, vals in traj.values.items())


def max_lr(optimizer: str = "adam", scheme: str | None = None, a_entry: str | None = None,
           a_kind: str = "random", b_entry: str | None = None, b_kind: str = "random",
           internal: bool = False, out_width: bool | None = None, grad: str = "0") -> str:
    """Largest equal-rate exponent ``c`` keeping ``γ[Z_B^t] ≤ 0`` at every step
    (docs/theory.md §2.11: ``"-1/2"`` for Init[A], ``"-1"`` for Init[B]); ``"oo"``: no upper
    limit (nothing moves ``Z_B``); ``"none"``: unbounded at every rate. ``internal`` also keeps
    ``Z_A = O(1)``; the geometry arguments are :func:`check`'s."""
    A0, B0, cancel = _factors(scheme, a_entry, a_kind, b_entry, b_kind)
    return str(_feasible.max_lr(optimizer, A0, B0, internal=internal, out_width=out_width,
                                grad=grad, cancel_init_product=cancel))


def feasible_set(optimizer: str = "adam", *, equal_lr: bool = False, internal: bool = False,
                 robust: bool = False, convention: str = "entry", steps: int = C.DEFAULT_STEPS,
                 from_step: int = C.DEFAULT_FROM, out_width: bool | None = None,
                 grad: str = "0", kind: str = "random") -> _feasible.FeasibleSet:
    """Every ``(c_A, c_B, A0, B0)`` — or ``(c, A0, B0)`` with ``equal_lr`` — that makes the layer
    efficient (and internally stable / robust as asked), solved exactly as a union of polyhedra
    (docs/theory.md §2.7–2.9, §3.2; Beyond Zero Init Eq. 5, Eq. 6, App. B.2, App. C Eq. 30).

    ``A0``, ``B0`` are entry exponents of ``kind`` inits, or with ``convention="paper"`` the
    paper's ``γ[A₀] := γ[A₀z] − 1`` (docs/theory.md §1.6). ``FeasibleSet.contains({"c":
    Fraction(-1, 2), "A0": 0, "B0": float("-inf")})`` tests a point (``-inf``: a zero init);
    ``str()`` prints the regions."""
    q = _feasible.Query(optimizer, equal_lr, internal, robust, convention, steps,
                        min(from_step, steps), out_width, grad, kind)
    return _feasible.feasible_set(q)


def _table_row(optimizer: str, lr: str, name: str) -> dict[str, Any]:
    s = SCHEMES[name]
    r = _check(optimizer, s.A, s.B, lr, cancel_init_product=s.cancel_init_product)
    top = _feasible.max_lr(optimizer, s.A, s.B, cancel_init_product=s.cancel_init_product)
    return {
        "scheme": s.name, "paper_name": s.paper_name,
        "A_0": str(paper_exponent(s.A, "A")), "B_0": str(paper_exponent(s.B, "B")),
        "A_entry": str(s.A.entry), "B_entry": str(s.B.entry),
        "stable": r.stable, "efficient": r.efficient,
        "internally_stable": r.internally_stable, "robust": r.robust,
        "degradation": {q: None if v is None else str(Exponent.const(v))
                        for q, v in r.degradation.items()},
        "max_lr": str(top),
    }


def table(optimizer: str = "adam", lr: str = "-1/2", *, peft: bool = False
          ) -> list[dict[str, Any]]:
    """One row per named scheme at the equal rate exponent ``lr`` (docs/theory.md §2.10, §5.2):
    paper exponents ``A_0``/``B_0``, entry exponents, the four flags, the ε-``degradation`` of
    ``δ¹, δ²`` and ``max_lr``. ``peft=True``: one row per value of peft's
    ``init_lora_weights`` and the schemes it draws instead (docs/theory.md §5.4)."""
    lr = str(Exponent.parse(lr))
    if peft:
        from . import peft as peft_table
        return peft_table.table_rows(optimizer, lr)
    return [_table_row(optimizer, lr, name) for name in SCHEMES]


def mlp(optimizer: str = "adam", hidden_layers: int = 1, steps: int = 2,
        per_layer: bool = False) -> MLPResult:
    """An MLP's stable and maximal-update sets, solved exactly, and the μP point they imply
    (docs/theory.md §7.2–7.3; Tensor Programs V, Table 3): ``result.mup[group]`` holds the
    ``init_var_exponent`` and ``lr_exponent`` of each weight group (``input``, ``hidden``,
    ``output``; ``hidden1…`` with ``per_layer``). ``steps``: optimiser steps unrolled."""
    return solve_mlp(optimizer, hidden_layers, steps, per_layer)
