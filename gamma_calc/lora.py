"""One LoRA layer unrolled step by step in the γ-algebra (docs/theory.md §2–3).

Layer ``Z̄ = W z + s·B A z`` (``A: r × n``, ``B: out × r``, ``s = α/r = Θ(1)``), one data point
``z`` with ``Θ(1)`` entries, backpropagated signal ``dZ̄`` with entries ``Θ(n^g)``, only ``A, B``
trained. Raw gradients (Beyond Zero Init App. C Eq. 23–24 for the scalar case):
``∇_A = s (Bᵀ dZ̄) zᵀ`` and ``∇_B = s dZ̄ (A z)ᵀ``. Updates ``A_t = A_{t−1} − η_A g_A``,
``B_t = B_{t−1} − η_B g_B`` with

* Adam: ``g`` = the normalised gradient (``sign`` at step 1), ``Θ(1)`` entries, zero where the
  raw gradient is zero (Beyond Zero Init §3.2; so Init[A]'s ``A`` and Init[B]'s ``B`` first move at
  step 2);
* SGD: ``g`` = the raw gradient (Beyond Zero Init App. C).

Recorded per step ``t``: ``Z_A = A_t z``, its update part ``dZ_A = (A_t − A_0) z`` (the sum of
the updates; ``Z_A``'s γ is the max of ``γ[A_0 z]`` and ``γ[dZ_A]``, and a sweep that measures
both sees which term dominates at finite width), ``Z_B = s B_t A_t z`` and the decomposition of
Beyond Zero Init Eq. 2, ``δ¹_t = s B_{t−1} ΔA_t z``, ``δ²_t = s ΔB_t A_{t−1} z``,
``δ³_t = s ΔB_t ΔA_t z``, plus the entry exponents of ``A_t`` and ``B_t``. Nothing here assumes
Eq. 3–4: they come out of the typed contractions (:mod:`gamma_calc.quantity`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .exponent import ZERO, Exponent
from .quantity import Dim, Tensor, outer, sign
from .schemes import RANK, WIDTH, FactorInit
from .vocab import UNROLLED as QUANTITIES

OPTIMIZERS = ("adam", "sgd")


@dataclass(frozen=True)
class LoRAModel:
    """Everything the unrolled recursion depends on.

    ``out_width=True`` is the LoRA layer of Beyond Zero Init §3 (``B: n × r``);
    ``out_width=False`` is the LoRA+ model of Beyond Zero Init App. C (``f = b aᵀx``, scalar
    output). ``grad`` is ``γ[dZ̄]`` (irrelevant for Adam except through zeros).
    """

    optimizer: str
    A0: FactorInit
    B0: FactorInit
    lr_A: Exponent
    lr_B: Exponent
    out_width: bool = True
    grad: Exponent = ZERO
    scale: Exponent = ZERO
    cancel_init_product: bool = False  # B_0 A_0 = 0 exactly (orthogonal schemes)

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r} (adam or sgd)")


@dataclass
class Trajectory:
    """``values[q][t]``: exponent of quantity ``q`` at step ``t`` (``None`` if undefined);
    ``states[t]``: the typed ``(A_t, B_t)`` (for stationarity checks)."""

    values: dict[str, list[Exponent | None]] = field(default_factory=dict)
    states: list[tuple[Tensor, Tensor]] = field(default_factory=list)

    @property
    def steps(self) -> int:
        return len(self.states) - 1

    def at(self, q: str, t: int) -> Exponent | None:
        return self.values[q][t]

    def exp(self, q: str, t: int) -> Exponent:
        """As :meth:`at` for a defined entry (``δ`` is undefined only at ``t = 0``)."""
        e = self.values[q][t]
        if e is None:
            raise ValueError(f"{q} is undefined at step {t}")
        return e


def unroll(model: LoRAModel, steps: int) -> Trajectory:
    """Exponents of every recorded quantity for ``t = 0..steps``."""
    if steps < 1:
        raise ValueError("steps must be at least 1")
    out = Dim("out", model.out_width)
    z = Tensor.aligned((WIDTH,), ZERO, ("z",))
    dZ = Tensor.aligned((out,), model.grad, ("g",))
    A = model.A0.tensor("A0", (RANK, WIDTH), (None, "z"))
    B = model.B0.tensor("B0", (out, RANK), ("g", None))
    s = model.scale
    traj = Trajectory({q: [] for q in QUANTITIES})
    record = _record_cancelled if model.cancel_init_product else _record
    moved = Tensor.zero(A.dims)                    # A_t − A_0, the sum of the updates
    record(traj, A, B, z, s, None, moved)
    for _ in range(steps):
        Az = A @ z
        grad_A = outer((B.T @ dZ).scale(s), z)
        grad_B = outer(dZ.scale(s), Az)
        if model.optimizer == "adam":
            dA, dB = sign(grad_A).scale(model.lr_A), sign(grad_B).scale(model.lr_B)
        else:
            dA, dB = grad_A.scale(model.lr_A), grad_B.scale(model.lr_B)
        dAz = dA @ z
        deltas = ((B @ dAz).scale(s), (dB @ Az).scale(s), (dB @ dAz).scale(s))
        A, B, moved = A + dA, B + dB, moved + dA
        record(traj, A, B, z, s, deltas, moved)
    return traj


def _record(traj: Trajectory, A: Tensor, B: Tensor, z: Tensor, s: Exponent,
            deltas: tuple[Tensor, Tensor, Tensor] | None, moved: Tensor) -> None:
    Az = A @ z
    v = traj.values
    v["Z_A"].append(Az.exponent)
    v["dZ_A"].append((moved @ z).exponent)
    v["Z_B"].append((B @ Az).scale(s).exponent)
    for name, d in zip(("delta1", "delta2", "delta3"), deltas or (None,) * 3):
        v[name].append(None if d is None else d.exponent)
    v["A"].append(A.exponent)
    v["B"].append(B.exponent)
    traj.states.append((A, B))


def _split(T: Tensor, tags: tuple) -> tuple[Tensor, Tensor]:
    """(the factor with these tags, the rest)."""
    init = tuple(f for f in T.factors if f.tags == tags)
    return Tensor(T.dims, init), Tensor(T.dims, tuple(f for f in T.factors if f.tags != tags))


def _record_cancelled(traj: Trajectory, A: Tensor, B: Tensor, z: Tensor, s: Exponent,
                      deltas: tuple[Tensor, Tensor, Tensor] | None, moved: Tensor) -> None:
    """As :func:`_record`, with the exact cancellation ``B_0 A_0 = 0`` marked by the user:
    ``B_t A_t z = B_0 (A_t − A_0) z + (B_t − B_0) A_t z`` (docs/theory.md §1.3: sums are max-plus
    unless the terms cancel exactly). Needs random factors, whose tags identify the init parts."""
    _record(traj, A, B, z, s, deltas, moved)
    _A0, dA = _split(A, (None, ("A0", 1)))
    B0, dB = _split(B, (("B0", 0), None))
    traj.values["Z_B"][-1] = ((B0 @ (dA @ z)) + (dB @ (A @ z))).scale(s).exponent


def model_for(optimizer: str, A0: FactorInit, B0: FactorInit, lr_A: Exponent | str,
              lr_B: Exponent | str | None = None, *, out_width: bool | None = None,
              grad: Exponent | str = "0", cancel_init_product: bool = False) -> LoRAModel:
    """Convenience constructor. SGD defaults to Beyond Zero Init App. C's LoRA+ model (scalar
    output, ``dZ̄ = f − y = Θ(1)``); Adam to the LoRA layer of §3 (for Adam the two coincide)."""
    lr_A = Exponent.parse(lr_A)
    lr_B = lr_A if lr_B is None else Exponent.parse(lr_B)
    if out_width is None:
        out_width = optimizer != "sgd"
    if cancel_init_product and not (A0.kind == "random" and B0.kind == "random"):
        raise ValueError("marking B_0 A_0 = 0 needs random A_0 and B_0")
    return LoRAModel(optimizer, A0, B0, lr_A, lr_B, out_width, Exponent.parse(grad),
                     cancel_init_product=cancel_init_product)
