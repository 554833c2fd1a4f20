"""Rational points inside and just outside a reported polyhedron (for simulation checks).

Inside: every vertex of the region that no box bound cuts (exact enumeration: if the reported
set were too large, some of its vertices would lie outside the true set, and a condition missing
from the report shows first at such a vertex), and random convex combinations of vertices of
the region cut by a box (random objectives, exact LP). Across every inequality facet ``ℓ ≤ 0``:
a point of the facet's relative interior (the mean of a few of its vertices) moved along ``∇ℓ``
to ``ℓ = ±margin·max|coef(ℓ)|`` (for a facet written ``k·(exponent − bound) ≤ 0`` that is an
exponent ``margin`` above or below its bound); the outer point is kept when it lies outside
every region of the union.
"""
from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass
from fractions import Fraction

from gamma_calc.exponent import Lin
from gamma_calc.lp import EQ, LE, maximize
from gamma_calc.polyhedron import Region

BOX = (Fraction(-4), Fraction(2))


@dataclass(frozen=True)
class Probe:
    point: dict[str, Fraction]
    inside: bool
    facet: str = ""  # the crossed facet, for outside probes


def _box(names: list[str]) -> list[tuple[Lin, str]]:
    lo, hi = BOX
    return [(Lin(lo, {v: -1}), LE) for v in names] + [(Lin(-hi, {v: 1}), LE) for v in names]


def _vertices(cons: list[tuple[Lin, str]], names: list[str], rng: random.Random,
              count: int) -> list[dict[str, Fraction]]:
    pts = []
    for _ in range(count):
        obj = Lin(0, {v: rng.randint(-3, 3) for v in names})
        res = maximize(obj, cons)
        if res.status == "optimal":
            pts.append({v: res.point.get(v, Fraction(0)) for v in names})
    return pts


def _solve(rows: list[Lin], names: list[str]) -> dict[str, Fraction] | None:
    """The unique solution of ``ℓ = 0`` for every row (Gaussian elimination), else ``None``."""
    m = [[r.coef(v) for v in names] + [-r.const] for r in rows]
    for col in range(len(names)):
        piv = next((i for i in range(col, len(m)) if m[i][col] != 0), None)
        if piv is None:
            return None
        m[col], m[piv] = m[piv], m[col]
        m[col] = [x / m[col][col] for x in m[col]]
        for i in range(len(m)):
            if i != col and m[i][col] != 0:
                m[i] = [a - m[i][col] * b for a, b in zip(m[i], m[col])]
    return {v: m[i][-1] for i, v in enumerate(names)}


def tight_vertices(region: Region, budget: int = 20000) -> list[dict[str, Fraction]]:
    """Every vertex of ``region ∩ box`` at which no box bound is tight — where a missing
    condition would show first — by exact enumeration (``None`` entries when the count of
    candidate systems exceeds ``budget``: then an empty list)."""
    fixed = {}
    for c in region.constraints:
        if c.rel == EQ:
            if len(c.lin.vars) != 1:
                return []
            (v,) = c.lin.vars
            fixed[v] = -c.lin.const / c.lin.coef(v)
    ineqs = [c.lin.substitute(fixed) for c in region.constraints if c.rel != EQ]
    names = sorted(set().union(*(e.vars for e in ineqs)))
    if not names or math.comb(len(ineqs), len(names)) > budget:
        return []
    lo, hi = BOX
    out = []
    for rows in itertools.combinations(ineqs, len(names)):
        p = _solve(list(rows), names)
        if p is None or any(e.evaluate(p) > 0 for e in ineqs) \
                or any(not lo <= x <= hi for x in p.values()):
            continue
        p.update(fixed)
        if p not in out:
            out.append(p)
    return out


def _mean(pts: list[dict[str, Fraction]]) -> dict[str, Fraction]:
    return {v: sum((p[v] for p in pts), Fraction(0)) / len(pts) for v in pts[0]}


def probes(region: Region, others: list[Region], seed: int = 0, inside: int = 4,
           margin: Fraction = Fraction(1, 2)) -> list[Probe]:
    """Every vertex of the region away from the box (:func:`tight_vertices`), ``inside``
    random interior points, then one point on each side of every inequality facet."""
    rng = random.Random(seed)
    names = sorted(set().union(*(c.lin.vars for c in region.constraints)))
    cons = [c.pair for c in region.constraints] + _box(names)
    out = [Probe(p, True, "(vertex)") for p in tight_vertices(region)]
    verts = _vertices(cons, names, rng, 3 * inside)
    for _ in range(inside if verts else 0):
        w = [Fraction(rng.randint(1, 9)) for _ in range(3)]
        pick = [rng.choice(verts) for _ in range(3)]
        p = {v: sum((wi * q[v] for wi, q in zip(w, pick)), Fraction(0)) / sum(w) for v in names}
        out.append(Probe(p, True, "(interior)"))
    for c in region.constraints:
        if c.rel == EQ:
            continue
        on = _vertices(cons + [(c.lin, EQ)], names, rng, 4)
        if not on:
            continue
        p = _mean(on)
        grad = dict(c.lin.coefs)
        step = margin * max(abs(g) for g in grad.values()) / sum(g * g for g in grad.values())
        for sign, inner in ((-1, True), (1, False)):
            q = {v: p[v] + sign * step * grad.get(v, 0) for v in names}
            kept = region.contains(q) if inner else not any(r.contains(q)
                                                            for r in [region, *others])
            if kept:
                out.append(Probe(q, inner, str(c)))
    return out


def exponents(point: dict[str, Fraction], groups: list[str], hidden_layers: int
              ) -> tuple[list[float], list[float]]:
    """Per-layer ``(variance, rate)`` exponents (input, hidden…, output) of a point whose
    variables are named per role (``v_hidden``) or per hidden layer (``v_hidden2``)."""
    def get(prefix: str, group: str) -> float:
        return float(point[f"{prefix}_{group}"])

    per_layer = "hidden" not in groups
    hidden = [f"hidden{i + 1}" if per_layer else "hidden" for i in range(hidden_layers)]
    layers = ["input", *hidden, "output"]
    return [get("v", g) for g in layers], [get("c", g) for g in layers]
