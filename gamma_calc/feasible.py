"""Symbolic queries on the LoRA layer: the feasible set, the largest stable rate.

``feasible_set`` derives, e.g., Beyond Zero Init Eq. 5 (Adam: ``c_A + c_B = −1``, ``B0 ≤ c_B``,
``A0 ≤ c_A + 1/2`` in entry exponents), Eq. 6 (equal rates), App. B.2 (internal stability) and
App. C Eq. 30 (SGD, "at least one equality") from the unrolled recursion; ``max_lr`` the largest
equal-rate exponent for which ``Z_B`` never blows up (docs/theory.md §2.11: ``−1/2`` for Init[A],
``−1`` for Init[B]). Parameters: rates ``c_A, c_B`` (or ``c``), inits ``A0, B0`` in the chosen
convention, ``eps`` for robustness.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction

from . import conditions as C
from .exponent import Exponent, Lin
from .lora import LoRAModel, unroll
from .polyhedron import Region, gt
from .schemes import FactorInit, paper_offset
from .solve import regions, supremum

CONVENTIONS = ("entry", "paper")


@dataclass(frozen=True)
class Query:
    optimizer: str = "adam"
    equal_lr: bool = False
    internal: bool = False
    robust: bool = False
    convention: str = "entry"
    steps: int = C.DEFAULT_STEPS
    from_step: int = C.DEFAULT_FROM
    out_width: bool | None = None
    grad: str = "0"
    kind: str = "random"

    def __post_init__(self) -> None:
        if self.convention not in CONVENTIONS:
            raise ValueError(f"unknown convention {self.convention!r} (entry or paper)")

    @property
    def rate_vars(self) -> tuple[str, ...]:
        return ("c",) if self.equal_lr else ("c_A", "c_B")

    @property
    def variables(self) -> tuple[str, ...]:
        return self.rate_vars + ("A0", "B0")


@dataclass
class FeasibleSet:
    query: Query
    regions: list[Region] = field(default_factory=list)

    def contains(self, point: Mapping[str, object]) -> bool:
        return any(r.contains(point) for r in self.regions)

    def __str__(self) -> str:
        """One line per region, as `gamma-solve solve` prints it (rates pinned first)."""
        from .display import pretty_regions
        return "\n".join(pretty_regions(self.regions))


def _factor(var: str, zero: bool, offset: Lin, kind: str) -> FactorInit:
    if zero:
        return FactorInit(Exponent(()), "zero")
    return FactorInit(Exponent.lin(Lin.var(var) + offset), kind)


def query_model(q: Query, zero_a: bool, zero_b: bool, shift: Lin | None = None) -> LoRAModel:
    """The symbolic layer of a query (rates ``c_A, c_B`` or ``c``, inits ``A0, B0`` as
    variables, ``zero_*`` a factor set to exactly zero), its rates lowered by ``shift``."""
    offset = paper_offset(q.kind) if q.convention == "paper" else Lin(0)
    A0 = _factor("A0", zero_a, offset, q.kind)
    B0 = _factor("B0", zero_b, Lin(0), q.kind)
    ca, cb = (Lin.var("c"), Lin.var("c")) if q.equal_lr else (Lin.var("c_A"), Lin.var("c_B"))
    if shift is not None:
        ca, cb = ca - shift, cb - shift
    out_width = q.optimizer != "sgd" if q.out_width is None else q.out_width
    return LoRAModel(q.optimizer, A0, B0, Exponent.lin(ca), Exponent.lin(cb), out_width,
                     Exponent.parse(q.grad))


def _atoms(q: Query, zero_a: bool, zero_b: bool) -> list[C.Atom]:
    traj = unroll(query_model(q, zero_a, zero_b), q.steps)
    atoms = C.efficient(traj, q.from_step) + C.stationary(traj)
    if q.internal:
        atoms += C.internal(traj, q.from_step)
    if q.robust:
        shifted = unroll(query_model(q, zero_a, zero_b, Lin.var("eps")), q.steps)
        atoms += C.robust(shifted, "eps", q.from_step) + C.stationary(shifted)
    return atoms


ZERO_CASES = ((False, False), (True, False), (False, True), (True, True))


def feasible_set(q: Query) -> FeasibleSet:
    """All ``(rates, inits)`` that make the layer efficient (+ internal / robust as asked)."""
    cases = []
    for za, zb in ZERO_CASES:
        zeros = frozenset(v for v, z in (("A0", za), ("B0", zb)) if z)
        cases.append((zeros, _atoms(q, za, zb)))
    base = [gt("eps", 0)] if q.robust else []
    return FeasibleSet(q, regions(cases, base, germ_var="eps" if q.robust else None))


@dataclass(frozen=True)
class MaxLR:
    """Largest equal-rate exponent ``c`` keeping ``γ[Z_B^t] ≤ 0`` for every ``t``."""

    status: str  # "optimal" | "unbounded" (no limit: nothing trains) | "infeasible"
    value: Fraction | None
    attained: bool

    def __str__(self) -> str:
        if self.status == "unbounded":
            return "oo"
        if self.status == "infeasible":
            return "none"
        return str(Exponent.const(self.value))


def max_lr(optimizer: str, A0: FactorInit, B0: FactorInit, *, internal: bool = False,
           steps: int = C.DEFAULT_STEPS, out_width: bool | None = None, grad: str = "0",
           cancel_init_product: bool = False) -> MaxLR:
    if out_width is None:
        out_width = optimizer != "sgd"
    c = Exponent.var("c")
    model = LoRAModel(optimizer, A0, B0, c, c, out_width, Exponent.parse(grad),
                      cancel_init_product=cancel_init_product)
    traj = unroll(model, steps)
    atoms = C.bounded(traj) + C.stationary(traj)
    if internal:
        atoms += C.internal(traj, 1)
    regs = regions([(frozenset(), atoms)])
    status, value, attained = supremum(Lin.var("c"), regs)
    return MaxLR(status, value, attained)
