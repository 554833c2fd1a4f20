"""Solving max-plus condition systems exactly: case splits, polyhedra, unions.

Each condition ``max(ℓ…) rel max(r…)`` is split into the cases of which term attains each
maximum (:meth:`Atom.alternatives`); a depth-first search conjoins the cases of all conditions,
pruning every branch whose polyhedron is empty (exact LP); the surviving polyhedra are simplified
(implicit equalities, redundant constraints) and the union is shortened
(:func:`~gamma_calc.unions.merge_union`). Zero-initialised factors are separate cases
(``−∞`` is not a linear value) that are folded back when they are the limit of a finite region.

Robustness quantifies over "every small enough ``ε > 0``": :func:`germ_project` turns a
polyhedron in ``(p, ε)`` into the set of ``p`` whose ``ε``-section contains an interval
``(0, ε₀)``: each constraint ``ℓ(p) + sε rel 0`` becomes ``ℓ(p) < 0`` or (``ℓ(p) = 0`` and
``s rel 0``).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from fractions import Fraction

from .conditions import Atom
from .exponent import Lin
from .lp import EQ, LE, LT
from .polyhedron import Constraint, Region, feasible, implies, simplify, sup
from .unions import absorb_zero_cases, merge_union


class Unsatisfiable(Exception):
    """A condition system with no solution."""


def cases(atoms: Sequence[Atom], base: Sequence[Constraint] = ()) -> list[list[Constraint]]:
    """The solution set of the conjunction of ``atoms`` as a list of polyhedra.

    Every atom is a conjunction of clauses (:meth:`Atom.clauses`); single-alternative clauses
    are added up front, the rest explored depth-first, smallest clause first. A clause already
    implied by the current polyhedron is skipped, and a branch whose polyhedron is empty is
    pruned (exact LP). The leaves may overlap; the caller merges them.
    """
    units: list[Constraint] = list(base)
    clauses: list[list[list[Constraint]]] = []
    seen = set()
    for a in atoms:
        key = (a.lhs, a.rel, a.rhs)
        if key in seen:
            continue
        seen.add(key)
        cl = a.clauses()
        if cl is None:
            return []
        for c in cl:
            if len(c) == 1:
                units.extend(c[0])
            else:
                clauses.append(c)
    clauses.sort(key=len)
    found: dict[tuple, list[Constraint]] = {}

    def dfs(i: int, current: list[Constraint]) -> None:
        while i < len(clauses) and _satisfied(clauses[i], current):
            i += 1
        if i == len(clauses):
            simp = simplify(current)
            if simp is not None:
                found.setdefault(tuple(c.key for c in simp), simp)
            return
        have = set(current)
        for opt in clauses[i]:
            new = [c for c in opt if c not in have]
            nxt = current + new
            if new and not feasible(nxt):
                continue
            dfs(i + 1, nxt)

    root = simplify(units)
    if root is not None:
        dfs(0, root)
    return list(found.values())


def _satisfied(clause: list[list[Constraint]], current: list[Constraint]) -> bool:
    """Some alternative of ``clause`` is implied by ``current``."""
    have = set(current)
    for opt in clause:
        if all(c in have for c in opt):
            return True
    return any(all(implies(current, c) for c in opt) for opt in clause)


def germ_project(cons: Sequence[Constraint], var: str) -> list[list[Constraint]]:
    """``{p : ∃ε₀ > 0 ∀ε ∈ (0, ε₀): (p, ε) satisfies cons}`` as a union of polyhedra in ``p``."""
    alts: list[list[Constraint]] = [[]]
    for c in cons:
        s = c.lin.coef(var)
        rest = c.lin - Lin(0, {var: s})
        options: list[list[Constraint]] = []
        if c.rel == EQ:
            if s == 0:
                options = [[Constraint.make(rest, EQ)]]
        else:
            options.append([Constraint.make(rest, LT)])
            if s < 0 or (s == 0 and c.rel == LE):
                options.append([Constraint.make(rest, EQ)])
        options = [[x for x in o if not (x.lin.is_const() and x.holds({}))] for o in options
                   if not any(x.lin.is_const() and not x.holds({}) for x in o)]
        alts = [a + o for a in alts for o in options]
        alts = [a for a in alts if feasible(a)]
        if not alts:
            return []
    return alts


def regions(atoms_by_zeros: Iterable[tuple[frozenset[str], Sequence[Atom]]],
            base: Sequence[Constraint] = (), germ_var: str | None = None) -> list[Region]:
    """The solution set of several zero cases, as a short union of regions."""
    out: list[Region] = []
    for zeros, atoms in atoms_by_zeros:
        polys = cases(atoms, base)
        if germ_var is not None:
            polys = [q for p in polys for q in germ_project(p, germ_var)]
        for p in polys:
            simp = simplify(p)
            if simp is not None:
                out.append(Region(tuple(simp), frozenset({zeros})))
    out = merge_union(out)
    out = absorb_zero_cases(out)
    return merge_union(out)


def supremum(objective: Lin, regs: Sequence[Region]) -> tuple[str, Fraction | None, bool]:
    """Largest value of ``objective`` over a union: ``("optimal", value, attained)``,
    ``("unbounded", None, False)`` or ``("infeasible", None, False)``."""
    best: tuple[str, Fraction | None, bool] = ("infeasible", None, False)
    for r in regs:
        status, value, attained = sup(objective, r.constraints)
        if status == "unbounded":
            return ("unbounded", None, False)
        if status == "optimal" and value is not None and (
                best[1] is None or value > best[1] or (value == best[1] and attained)):
            best = ("optimal", value, attained or (best[1] == value and best[2]))
    return best
