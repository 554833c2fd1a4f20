"""``check``: one concrete configuration, evaluated numerically (no case splits, no LP).

The exponents of the unrolled layer are evaluated at the given rationals; the flags follow
:mod:`gamma_calc.conditions`. Robustness lowers both rates by a symbolic ``ε`` and evaluates the
*germ* (value and slope at ``ε = 0+``) of every exponent, which is exact for concrete inits: the
slopes are the "``−ε`` vs ``−2ε``" degradation of ``δ¹, δ²`` (docs/theory.md §2.10, Table 1).
This path is independent of the symbolic solver, and the tests use it as the brute-force
reference for it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from . import conditions as C
from .exponent import Exponent, to_fraction
from .lora import LoRAModel, Trajectory, model_for, unroll
from .schemes import FactorInit, paper_exponent

EPS = "eps"


@dataclass
class CheckResult:
    model: LoRAModel
    eps: Fraction
    trajectory: Trajectory
    from_step: int
    stable: bool
    efficient: bool
    internally_stable: bool
    robust: bool
    degradation: dict[str, Fraction | None]
    notes: list[str] = field(default_factory=list)

    @property
    def last(self) -> dict[str, Exponent | None]:
        return {q: v[-1] for q, v in self.trajectory.values.items()}

    @property
    def paper(self) -> dict[str, Exponent]:
        return {"A_0": paper_exponent(self.model.A0, "A"), "B_0": paper_exponent(self.model.B0, "B")}


def _shifted(model: LoRAModel, shift: Exponent) -> LoRAModel:
    return LoRAModel(model.optimizer, model.A0, model.B0, model.lr_A - shift.terms[0],
                     model.lr_B - shift.terms[0], model.out_width, model.grad, model.scale,
                     model.cancel_init_product)


def evaluate_flags(model: LoRAModel, steps: int, from_step: int) -> dict[str, bool]:
    """Stable / efficient / internally stable for a model with concrete exponents."""
    traj = unroll(model, steps)
    settled = C.all_hold(C.stationary(traj), {})
    st = settled and C.all_hold(C.stable(traj, from_step), {})
    return {
        "stable": st,
        "efficient": st and C.all_hold(C.efficient(traj, from_step), {}),
        "internally_stable": st and C.all_hold(C.internal(traj, from_step), {}),
    }


def robustness(model: LoRAModel, steps: int, from_step: int) -> tuple[bool, dict[str, Fraction | None]]:
    """Whether the model is robust (Def. 5) and the ε-slopes of ``δ¹_T, δ²_T``."""
    eps = Exponent.var(EPS)
    traj = unroll(_shifted(model, eps), steps)
    slopes = {}
    for q in ("delta1", "delta2"):
        value, slope = traj.exp(q, steps).germ({}, EPS)
        slopes[q] = None if value == float("-inf") else slope
    atoms = C.robust(traj, EPS, from_step) + C.stationary(traj)
    ok = evaluate_flags(model, steps, from_step)["efficient"] and all(
        a.germ_holds({}, EPS) for a in atoms)
    return ok, slopes


def check(optimizer: str, A0: FactorInit, B0: FactorInit, lr_A: object, lr_B: object = None,
          eps: object = 0, steps: int = C.DEFAULT_STEPS, from_step: int = C.DEFAULT_FROM,
          out_width: bool | None = None, grad: object = 0,
          cancel_init_product: bool = False) -> CheckResult:
    """Evaluate one configuration; rates are the optimal-rate candidates ``c`` and the reported
    exponents are at ``c − eps``."""
    for f in (A0, B0):
        if f.entry.vars:
            raise ValueError("check needs numeric init exponents")
    model = model_for(optimizer, A0, B0, _num(lr_A), None if lr_B is None else _num(lr_B),
                      out_width=out_width, grad=_num(grad),
                      cancel_init_product=cancel_init_product)
    e = to_fraction(eps)
    shifted = _shifted(model, Exponent.const(e))
    traj = unroll(shifted, steps)
    flags = evaluate_flags(shifted, steps, from_step)
    rob, slopes = robustness(model, steps, from_step)
    res = CheckResult(model, e, traj, from_step, flags["stable"], flags["efficient"],
                      flags["internally_stable"], rob, slopes)
    res.notes = _notes(res)
    return res


def _num(x: object) -> Exponent:
    e = x if isinstance(x, Exponent) else Exponent.parse(x if isinstance(x, str) else str(x))
    if e.vars or e.is_neg_inf:
        raise ValueError(f"expected a finite number, got {x}")
    return e


def _notes(res: CheckResult) -> list[str]:
    notes = []
    tr = res.trajectory
    for t in range(1, res.from_step):
        for q in ("Z_B", "delta1", "delta2"):
            early, late = tr.at(q, t), tr.at(q, tr.steps)
            if early is not None and late is not None and early != late:
                notes.append(f"transient: {q} at t={t} is n^({early}), settles at n^({late})")
    if res.model.A0.is_zero and res.model.B0.is_zero:
        notes.append("A_0 = B_0 = 0: both raw gradients vanish at every step, so nothing trains "
                     "(every update and δ is exactly zero)")
    elif res.model.A0.is_zero or res.model.B0.is_zero:
        which = "A" if res.model.B0.is_zero else "B"
        notes.append(f"zero init: the raw gradient of {which} vanishes at step 1, so {which} first "
                     "moves at step 2")
    return notes
