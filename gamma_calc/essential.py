"""The essential terms of a max-plus polynomial, on the whole space or on a polyhedron.

A term ``ℓ_i`` of ``max(ℓ_1, …, ℓ_k)`` is *essential* on a domain ``D`` when
``{ℓ_i > ℓ_j ∀ j ≠ i} ∩ D`` is non-empty: dropping the others leaves the same function on ``D``,
and the essential terms of a convex piecewise-affine function are unique (docs/theory.md §1).
Deciding it takes one exact LP per term (:mod:`gamma_calc.lp`); two cheap exact shortcuts come
first:

* **witness points** — a term that is the unique maximum at a rational point of ``D`` is
  essential (fixed sample points without a domain; midpoints of vertices of ``D`` with one);
* **dominance by one constraint** — a term ``t`` with ``o − t = λ·(−g) + μ`` for another term
  ``o``, a constraint ``g ≤ 0`` of ``D``, ``λ ≥ 0`` and ``μ ≥ 0`` is never above ``o`` on ``D``
  (the typical case inside a stable set, where ``g`` is a condition already imposed).
"""
from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from functools import lru_cache

from .exponent import Lin
from .lp import EQ, LE, LT, maximize
from .polyhedron import Constraint, feasible


def essential_terms(terms: list[Lin], domain: Sequence[Constraint]) -> list[Lin]:
    """Terms ``ℓ_i`` for which ``{ℓ_i > ℓ_j ∀ j ≠ i} ∩ domain`` is non-empty (kept in order)."""
    if len(terms) <= 1:
        return list(terms)
    dom = tuple(domain)
    proven = _winners(terms, _sample_points(terms, _domain_points(dom) if dom else ()))
    directions = _directions(dom)
    keep = list(terms)
    i = 0
    while i < len(keep) and len(keep) > 1:
        t = keep[i]
        if t in proven:
            i += 1
            continue
        if any(_dominates(o - t, directions) for j, o in enumerate(keep) if j != i):
            keep.pop(i)
            continue
        region = list(dom) + [Constraint.make(o - t, LT) for j, o in enumerate(keep) if j != i]
        if feasible(region):
            i += 1
        else:
            keep.pop(i)
    return keep


def _winners(terms: list[Lin], points: Sequence[dict[str, Fraction]]) -> set[Lin]:
    won: set[Lin] = set()
    for env in points:
        vals = [t.evaluate(env) for t in terms]
        top = max(vals)
        if vals.count(top) == 1:
            won.add(terms[vals.index(top)])
    return won


_SAMPLES = 48


def _sample_points(terms: list[Lin], base: Sequence[dict[str, Fraction]] = ()
                   ) -> list[dict[str, Fraction]]:
    """Points at which every term can be evaluated: the ``base`` points (of a domain), or
    ``_SAMPLES`` blank ones, each completed with rational values from a fixed linear
    congruential sequence (deterministic) for the variables it lacks — variables the domain
    does not mention are free."""
    names = sorted(set().union(*(t.vars for t in terms)))
    pts, state = [], 12345
    for p in base or [{} for _ in range(_SAMPLES)]:
        env = dict(p)
        for v in names:
            state = (1103515245 * state + 12345) % 2 ** 31
            env.setdefault(v, Fraction(state % 97 - 48, 8))
        pts.append(env)
    return pts


@lru_cache(maxsize=256)
def _domain_points(domain: tuple[Constraint, ...], count: int = 10
                   ) -> tuple[dict[str, Fraction], ...]:
    """Midpoints of pairs of vertices of ``domain`` cut by the box ``|x| ≤ 16`` (exact LPs with
    deterministic objectives); every variable of the domain gets a value."""
    names = sorted(set().union(*(c.lin.vars for c in domain)))
    cons = [c.pair for c in domain] + [(Lin(-16, {v: 1}), LE) for v in names] + \
        [(Lin(-16, {v: -1}), LE) for v in names]
    verts, state = [], 777
    for _ in range(count):
        coefs = {}
        for v in names:
            state = (1103515245 * state + 12345) % 2 ** 31
            coefs[v] = state % 7 - 3
        res = maximize(Lin(0, coefs), cons)
        if res.status == "optimal":
            _, point = res.solution()
            verts.append({v: point.get(v, Fraction(0)) for v in names})
    mids = [{v: (a[v] + b[v]) / 2 for v in names} for a, b in zip(verts, verts[1:] + verts[:1])]
    return tuple(m for m in mids if all(c.holds(m) for c in domain))


Direction = tuple[tuple[str, Fraction], ...]


def _direction(lin: Lin) -> tuple[Direction, Fraction]:
    """Coefficients scaled so that the first has absolute value 1, and that scale."""
    k = abs(lin.coefs[0][1])
    return tuple((v, c / k) for v, c in lin.coefs), k


@lru_cache(maxsize=256)
def _directions(domain: tuple[Constraint, ...]) -> dict[Direction, list[Fraction]]:
    """For every constraint ``g rel 0`` (so ``−g ≥ 0`` on the domain; for an equality also
    ``g ≥ 0``): the direction of ``−g`` → the constants of ``−g`` divided by its scale."""
    out: dict[Direction, list[Fraction]] = {}
    for c in domain:
        if c.lin.is_const():
            continue
        for nonneg in ((-c.lin, c.lin) if c.rel == EQ else (-c.lin,)):
            d, k = _direction(nonneg)
            out.setdefault(d, []).append(nonneg.const / k)
    return out


def _dominates(diff: Lin, directions: dict[Direction, list[Fraction]]) -> bool:
    """``diff ≥ 0`` on the domain, shown by ``diff = λ·h + μ`` with ``h ≥ 0`` there (a
    constraint), ``λ > 0`` and ``μ ≥ 0``."""
    if diff.is_const():
        return diff.const >= 0
    d, k = _direction(diff)
    return any(diff.const - k * const >= 0 for const in directions.get(d, ()))
