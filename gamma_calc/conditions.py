"""Stability, efficiency, internal stability and robustness as max-plus conditions.

Definitions (Beyond Zero Init Def. 3–5, App. B.2; docs/theory.md §2.5), imposed on the *settled
window* ``t = from_step … T`` of an unrolled trajectory plus *stationarity* at ``T``:

* **stable** — ``γ[Z_B^t] = 0`` (bounded and not vanishing);
* **efficient** — stable and ``γ[δ¹_t] = γ[δ²_t] = 0``;
* **internally stable** — stable and ``γ[Z_A^t] ≤ 0``;
* **robust** — efficient at the rates ``c``, and after lowering both rates to ``c − ε``,
  ``γ[δ¹_t], γ[δ²_t] ≥ −ε`` for every small enough ``ε > 0`` (Def. 5 / Theorem 1);
* **bounded** (for the largest stable rate) — ``γ[Z_B^t] ≤ 0`` for every ``t``.

Stationarity (the state exponents of ``A_T, B_T`` equal those of ``A_{T−1}, B_{T−1}``) makes the
window conditions hold for *all* later steps: the recursion is deterministic, so a repeated
state repeats forever. The paper's Def. 3–4 read "for all t ≥ 2"; the derivation shows Init[A]
(``B_0 = 0``) has ``δ²_2 = Θ(n^{-1/2})`` because ``A`` first moves at step 2, so efficiency in that
literal sense fails for it; the default window therefore starts at ``t = 3``, where every
recursion has settled (``from_step=2`` gives the literal reading).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

from .exponent import NEG_INF, NEG_INF_VALUE, ZERO, Exponent
from .lora import Trajectory
from .lp import EQ, LE, LT
from .polyhedron import Constraint

DEFAULT_STEPS = 5
DEFAULT_FROM = 3


@dataclass(frozen=True)
class Atom:
    """``lhs rel rhs`` between two exponents, ``rel`` in ``<=``, ``<``, ``==``."""

    lhs: Exponent
    rel: str
    rhs: Exponent
    label: str = ""

    def holds(self, env: Mapping[str, object]) -> bool:
        a, b = self.lhs.evaluate(env), self.rhs.evaluate(env)
        return a == b if self.rel == EQ else (a < b if self.rel == LT else a <= b)

    def germ_holds(self, env: Mapping[str, object], var: str) -> bool:
        """Holds for every small enough ``var > 0`` (lexicographic value/slope comparison)."""
        a, b = self.lhs.germ(env, var), self.rhs.germ(env, var)
        if a[0] == NEG_INF_VALUE and b[0] == NEG_INF_VALUE:
            return self.rel != LT
        return a == b if self.rel == EQ else (a < b if self.rel == LT else a <= b)

    def clauses(self) -> list[list[list[Constraint]]] | None:
        """The condition as a conjunction of clauses, each a disjunction of conjunctions of
        affine constraints; ``None`` when it is false, ``[]`` when it is true.

        ``max L ≤ max R`` ⇔ every ``l ∈ L`` is below some ``r ∈ R`` (one clause per ``l``; a
        term shared by both sides is trivially below); ``<`` likewise; ``max L = max R`` is the
        two inequalities (with ``R = {0}``: all ``l ≤ 0`` and some ``l ≥ 0``).
        """
        L, R = self.lhs.terms, self.rhs.terms
        if self.rel == EQ:
            if not L or not R:
                return [] if not L and not R else None
            a = Atom(self.lhs, LE, self.rhs).clauses()
            b = Atom(self.rhs, LE, self.lhs).clauses()
            return None if a is None or b is None else a + b
        if not L:
            return [] if (self.rel == LE or R) else None
        if not R:
            return None
        shared = set(R) if self.rel == LE else set()
        out = []
        for li in L:
            if li in shared:
                continue
            clause = _clean([[Constraint.make(li - rj, self.rel)] for rj in R])
            if not clause:
                return None
            if [] in clause:
                continue  # already true
            out.append(clause)
        return out


def _clean(alts: list[list[Constraint]]) -> list[list[Constraint]]:
    out = []
    for alt in alts:
        if any(c.lin.is_const() and not c.holds({}) for c in alt):
            continue
        out.append([c for c in alt if not c.lin.is_const()])
    return out


def _window(traj: Trajectory, from_step: int) -> range:
    if not 1 <= from_step <= traj.steps:
        raise ValueError(f"from_step must be in 1..{traj.steps}")
    return range(from_step, traj.steps + 1)


def stable(traj: Trajectory, from_step: int = DEFAULT_FROM) -> list[Atom]:
    return [Atom(traj.exp("Z_B", t), EQ, ZERO, f"Z_B^{t} = Θ(1)") for t in _window(traj, from_step)]


def efficient(traj: Trajectory, from_step: int = DEFAULT_FROM) -> list[Atom]:
    return stable(traj, from_step) + [
        Atom(traj.exp(q, t), EQ, ZERO, f"{q}_{t} = Θ(1)")
        for t in _window(traj, from_step) for q in ("delta1", "delta2")]


def internal(traj: Trajectory, from_step: int = DEFAULT_FROM) -> list[Atom]:
    return [Atom(traj.exp("Z_A", t), LE, ZERO, f"Z_A^{t} = O(1)") for t in _window(traj, from_step)]


def bounded(traj: Trajectory) -> list[Atom]:
    return [Atom(traj.exp("Z_B", t), LE, ZERO, f"Z_B^{t} = O(1)") for t in range(traj.steps + 1)]


def robust(shifted: Trajectory, eps: str = "eps", from_step: int = DEFAULT_FROM) -> list[Atom]:
    """On the trajectory at rates ``c − eps``: ``γ[δ¹], γ[δ²] ≥ −eps`` over the window."""
    floor = Exponent.parse(f"-{eps}")
    return [Atom(floor, LE, shifted.exp(q, t), f"{q}_{t} >= -{eps}")
            for t in _window(shifted, from_step) for q in ("delta1", "delta2")]


def stationary(traj: Trajectory) -> list[Atom]:
    """State exponents at ``T`` equal those at ``T − 1`` (factor by factor)."""
    atoms = []
    (A1, B1), (A0, B0) = traj.states[-1], traj.states[-2]
    for name, now, before in (("A", A1, A0), ("B", B1, B0)):
        prev = {f.tags: f.exp for f in before.factors}
        for f in now.factors:
            atoms.append(Atom(f.exp, EQ, prev.get(f.tags, NEG_INF), f"{name} settled"))
    return [a for a in atoms if a.lhs != a.rhs]


def all_hold(atoms: list[Atom], env: Mapping[str, object]) -> bool:
    return all(a.holds(env) for a in atoms)


def slope(traj: Trajectory, q: str, t: int, env: Mapping[str, object], var: str = "eps") -> Fraction:
    """``d γ[q_t] / d var`` at ``var = 0+`` (−1 or −2 for δ under smaller rates)."""
    return traj.exp(q, t).germ(env, var)[1]
