"""String-in, string-out predictions for the other packages (docs/INTERFACES.md).

Exponents cross package boundaries as exact-rational strings (``"-1/2"``, ``"0"``, ``"-oo"``).
``predict`` is :func:`gamma_calc.check.check` (numeric evaluation of the unrolled layer),
``exponents`` its exponents alone (:func:`gamma_calc.check.trajectory`, no flags) and
``max_lr`` is :func:`gamma_calc.feasible.max_lr` (exact solve), all with named schemes or
explicit entry exponents and kinds.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .check import check, trajectory
from .conditions import DEFAULT_FROM, DEFAULT_STEPS
from .exponent import Exponent
from .feasible import max_lr as _max_lr
from .lora import Trajectory
from .schemes import FactorInit, get_scheme


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


def predict(optimizer: str = "adam", a_entry: str | None = None, a_kind: str = "random",
            b_entry: str | None = None, b_kind: str = "random", lr_a: str = "-1/2",
            lr_b: str | None = None, eps: str = "0", steps: int = DEFAULT_STEPS,
            scheme: str | None = None, from_step: int = DEFAULT_FROM,
            out_width: bool | None = None, grad: str = "0",
            cancel_init_product: bool = False) -> Prediction:
    """Exponents of ``Z_A, dZ_A, Z_B, delta1..3, A, B`` at ``t = 0..steps`` for rates ``c − eps``.

    ``optimizer``: ``"adam"`` (normalised updates) or ``"sgd"`` (raw gradients). The model
    geometry (docs/theory.md §2–3): ``out_width=True`` — B has ``n`` rows (the LoRA layer of
    Beyond Zero Init §3), ``False`` — a fixed output dimension (Beyond Zero Init App. C's LoRA+
    model), ``None`` — the optimiser's default (Adam: width, SGD: fixed); ``grad`` — the exponent
    ``γ[dZ̄]`` of the backpropagated signal's entries (a finite number; for Adam it only
    matters through exact zeros). Rates ``lr_a``/``lr_b`` and init entries are exponent
    strings (``"-1/2"``, ``"-0.5"``, ``"-oo"`` for a zero init). ``cancel_init_product``:
    ``B₀A₀ = 0`` exactly although neither factor is zero, as the orthogonal schemes (implied by
    their names). Raises ``ValueError`` (or ``KeyError`` for an unknown scheme) on bad
    arguments.
    """
    A0, B0, cancel = _factors(scheme, a_entry, a_kind, b_entry, b_kind, cancel_init_product)
    res = check(optimizer, A0, B0, lr_a, lr_b, eps, steps, min(from_step, steps),
                out_width=out_width, grad=grad, cancel_init_product=cancel)
    exps = _strings(res.trajectory)
    flags = {"stable": res.stable, "efficient": res.efficient,
             "internally_stable": res.internally_stable, "robust": res.robust}
    deg = {q: None if v is None else str(Exponent.const(v)) for q, v in res.degradation.items()}
    return Prediction(exps, flags, deg, res.notes)


def exponents(optimizer: str = "adam", a_entry: str | None = None, a_kind: str = "random",
              b_entry: str | None = None, b_kind: str = "random", lr_a: str = "-1/2",
              lr_b: str | None = None, eps: str = "0", steps: int = DEFAULT_STEPS,
              scheme: str | None = None, out_width: bool | None = None, grad: str = "0",
              cancel_init_product: bool = False) -> dict[str, list[str | None]]:
    """:func:`predict`'s ``exponents`` alone (same arguments, same strings), without the
    stability flags: one unroll of the layer instead of four."""
    A0, B0, cancel = _factors(scheme, a_entry, a_kind, b_entry, b_kind, cancel_init_product)
    return _strings(trajectory(optimizer, A0, B0, lr_a, lr_b, eps, steps, out_width=out_width,
                               grad=grad, cancel_init_product=cancel))


def _strings(traj: Trajectory) -> dict[str, list[str | None]]:
    return {q: [None if e is None else str(e) for e in vals] for q, vals in traj.values.items()}


def max_lr(optimizer: str = "adam", scheme: str | None = None, a_entry: str | None = None,
           a_kind: str = "random", b_entry: str | None = None, b_kind: str = "random",
           internal: bool = False, out_width: bool | None = None, grad: str = "0") -> str:
    """Largest equal-rate exponent keeping ``Z_B`` bounded for every step (``"oo"``: no upper
    limit — nothing moves ``Z_B``; ``"none"``: unbounded at every rate); same geometry
    arguments as :func:`predict`."""
    A0, B0, cancel = _factors(scheme, a_entry, a_kind, b_entry, b_kind)
    return str(_max_lr(optimizer, A0, B0, internal=internal, out_width=out_width, grad=grad,
                       cancel_init_product=cancel))
