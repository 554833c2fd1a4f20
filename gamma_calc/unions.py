"""Unions of regions: shortening and comparing them exactly (docs/theory.md §1).

A feasible set is a finite union of :class:`~gamma_calc.polyhedron.Region` objects (a
polyhedron plus the cases of parameters at ``−∞``). :func:`merge_union` shortens a union
(drops regions inside others, glues ``ℓ < 0`` ∪ ``ℓ = 0`` into ``ℓ ≤ 0``),
:func:`absorb_zero_cases` folds a ``−∞`` case into the finite region whose extension
(:func:`extend_to_zero`) equals it, and :func:`same_union` / :func:`union_subset` decide
equality and inclusion of unions exactly (complement splitting, one zero case at a time).
Every test is an exact LP from :mod:`gamma_calc.lp`.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

from .lp import EQ, LE, LT
from .polyhedron import Constraint, Region, feasible, implies, simplify


def extend_to_zero(region: Region, zeros: frozenset[str]) -> list[Constraint] | None:
    """The constraints left when the parameters ``zeros`` go to ``−∞``: upper bounds on them are
    dropped; a lower bound or an equality on one makes the extension empty (``None``)."""
    kept = []
    for c in region.constraints:
        hit = c.lin.vars & zeros
        if not hit:
            kept.append(c)
        elif c.rel == EQ or any(c.lin.coef(v) < 0 for v in hit):
            return None
    return kept


def same_polyhedron(a: Sequence[Constraint], b: Sequence[Constraint]) -> bool:
    return all(implies(a, c) for c in b) and all(implies(b, c) for c in a)


def absorb_zero_cases(regions: list[Region]) -> list[Region]:
    """Fold a zero-case region into a finite region whose extension to ``−∞`` equals it."""
    out = list(regions)
    changed = True
    while changed:
        changed = False
        for i, r in enumerate(out):
            for j, full in enumerate(out):
                if i == j or len(r.zero_sets) != 1:
                    continue
                (z,) = r.zero_sets
                if not z or z in full.zero_sets or frozenset() not in full.zero_sets:
                    continue
                ext = extend_to_zero(full, z)
                if ext is None:
                    continue
                if same_polyhedron(ext, list(r.constraints)):
                    out[j] = Region(full.constraints, full.zero_sets | {z})
                    out.pop(i)
                    changed = True
                    break
            if changed:
                break
    return out


def merge_union(regions: Iterable[Region]) -> list[Region]:
    """Shorten a union: drop duplicates and regions inside others, and glue pairs that differ
    in one constraint only when their union is that constraint relaxed (``ℓ < 0`` ∪ ``ℓ = 0``,
    ``ℓ ≤ 0`` ∪ ``ℓ ≥ 0``)."""
    rs = {r.key: r for r in regions}
    out = list(rs.values())
    changed = True
    while changed:
        changed = False
        for i in range(len(out)):
            for j in range(len(out)):
                if i != j and out[i].subset_of(out[j]):
                    out.pop(i)
                    changed = True
                    break
            if changed:
                break
            for j in range(i + 1, len(out)):
                glued = _glue(out[i], out[j])
                if glued is not None:
                    out[j] = glued
                    out.pop(i)
                    changed = True
                    break
            if changed:
                break
    return sorted(out, key=lambda r: r.key)


def _glue(r1: Region, r2: Region) -> Region | None:
    if r1.zero_sets != r2.zero_sets:
        return None
    s1, s2 = set(r1.constraints), set(r2.constraints)
    common = s1 & s2
    d1, d2 = list(s1 - common), list(s2 - common)
    if len(d1) != 1 or len(d2) != 1:
        return None
    a, b = d1[0], d2[0]
    relaxed = _relax_pair(a, b)
    if relaxed is None:
        return None
    simp = simplify(list(common) + relaxed)
    return None if simp is None else Region(tuple(simp), r1.zero_sets)


def _relax_pair(a: Constraint, b: Constraint) -> list[Constraint] | None:
    """The constraint list equal to ``{a} ∪ {b}`` when that union is convex and simple."""
    for x, y in ((a, b), (b, a)):
        if x.rel == LT and y.rel == EQ and (y.lin == x.lin or y.lin == -x.lin):
            return [Constraint.make(x.lin, LE)]
        if x.rel in (LE, LT) and y.rel in (LE, LT) and y.lin == -x.lin and LE in (x.rel, y.rel):
            return []
    return None


# -- comparing unions ---------------------------------------------------------------------
def _restrict(region: Region, zeros: frozenset[str]) -> list[Constraint]:
    return [c for c in region.constraints if not (c.lin.vars & zeros)]


def _covered(piece: list[Constraint], others: list[list[Constraint]]) -> bool:
    """``piece ⊆ ∪ others`` exactly: remove the first set, recurse on what is left."""
    if not feasible(piece):
        return True
    if not others:
        return False
    first, rest = others[0], others[1:]
    for c in first:
        for neg in c.negations():
            part = piece + [neg]
            if feasible(part) and not _covered(part, rest):
                return False
    return True


def union_subset(a: Sequence[Region], b: Sequence[Region]) -> bool:
    """Every point of the union ``a`` (each zero case separately) lies in the union ``b``."""
    for r in a:
        for z in r.zero_sets:
            others = [_restrict(s, z) for s in b if z in s.zero_sets]
            if not _covered(_restrict(r, z), others):
                return False
    return True


def same_union(a: Sequence[Region], b: Sequence[Region]) -> bool:
    return union_subset(a, b) and union_subset(b, a)
