"""Rational points inside and just outside a reported polyhedron (for simulation checks).

Inside: vertices of the region cut by a box (random objectives, exact LP) and random convex
combinations of them. Across every inequality facet ``ℓ ≤ 0``: a point of the facet's relative
interior (the mean of a few of its vertices) moved along ``∇ℓ`` to ``ℓ = ±margin·max|coef(ℓ)|``
(for a facet written ``k·(exponent − bound) ≤ 0`` that is an exponent ``margin`` above or below
its bound); the outer point is kept when it lies outside every region of the union.
"""
from __future__ import annotations

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


def _mean(pts: list[dict[str, Fraction]]) -> dict[str, Fraction]:
    return {v: sum((p[v] for p in pts), Fraction(0)) / len(pts) for v in pts[0]}


def probes(region: Region, others: list[Region], seed: int = 0, inside: int = 4,
           margin: Fraction = Fraction(1, 2)) -> list[Probe]:
    """``inside`` interior points, then one point on each side of every inequality facet."""
    rng = random.Random(seed)
    names = sorted(set().union(*(c.lin.vars for c in region.constraints)))
    cons = [c.pair for c in region.constraints] + _box(names)
    verts = _vertices(cons, names, rng, 3 * inside)
    out: list[Probe] = []
    for _ in range(inside if verts else 0):
        w = [Fraction(rng.randint(1, 9)) for _ in range(3)]
        pick = [rng.choice(verts) for _ in range(3)]
        p = {v: sum((wi * q[v] for wi, q in zip(w, pick)), Fraction(0)) / sum(w) for v in names}
        out.append(Probe(p, True))
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
