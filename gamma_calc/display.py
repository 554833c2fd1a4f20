"""Human-readable feasible sets: the same polyhedra, written the way the papers write them.

A region's equalities are put in reduced echelon form pivoting on the init exponents first, so
rate-only relations (``c_A + c_B = −1``) come out on their own; a rate pinned to a constant is
substituted everywhere; every constraint on an init exponent is rewritten against that factor's
own rate (``A0`` with ``c_A``, ``B0`` with ``c_B``, as Beyond Zero Init Eq. 5 and App. C Eq. 30
do) and solved for it. Nothing here changes the set — the tests compare memberships before and
after.
"""
from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

from .exponent import Lin
from .lp import EQ, LE, LT
from .polyhedron import Constraint, Region, gauss_jordan

OWN_RATE = {"A0": "c_A", "B0": "c_B"}
INIT_VARS = ("A0", "B0")


def _echelon(eqs: list[Lin], order: Sequence[str]) -> list[Lin]:
    """Gauss–Jordan on affine equalities ``ℓ = 0`` with the given pivot preference."""
    pivots, rows = gauss_jordan(eqs, order)
    return [e for _, e in pivots] + [r for r in rows if not r.is_const()]


def _eliminate(lin: Lin, var: str, eq: Lin) -> Lin:
    k = eq.coef(var)
    return lin if k == 0 or lin.coef(var) == 0 else lin - eq.scale(lin.coef(var) / k)


def _solved_for(lin: Lin, rel: str, var: str) -> str:
    """``k·var + rest rel 0`` → ``var rel' −rest/k``."""
    k = lin.coef(var)
    rest = (lin - Lin(0, {var: k})).scale(Fraction(-1) / k)
    sym = {EQ: "=", LE: "<=", LT: "<"}[rel]
    if k < 0 and rel != EQ:
        sym = {"<=": ">=", "<": ">"}[sym]
    return f"{var} {sym} {rest}"


def _plain(lin: Lin, rel: str) -> str:
    return str(Constraint.make(lin, rel))


def pretty_constraints(region: Region) -> list[str]:
    cons = list(region.constraints)
    eqs = [c.lin for c in cons if c.rel == EQ]
    order = list(INIT_VARS) + ["c_B", "c", "c_A"]
    eqs = _echelon(eqs, order)
    rate_eqs = [e for e in eqs if not (e.vars & set(INIT_VARS))]
    pinned = {}
    for e in rate_eqs:
        if len(e.vars) == 1:
            (v,) = e.vars
            pinned[v] = -e.const / e.coef(v)
    lines: list[str] = []
    for e in rate_eqs:
        lines.append(_plain(e, EQ) if len(e.vars) > 1 else f"{next(iter(e.vars))} = "
                     f"{Lin(pinned[next(iter(e.vars))])}")
    others = [(e, EQ) for e in eqs if e.vars & set(INIT_VARS)] + \
        [(c.lin, c.rel) for c in cons if c.rel != EQ]
    for lin, rel in others:
        lin = lin.substitute(pinned)
        inits = [v for v in INIT_VARS if lin.coef(v) != 0]
        if len(inits) == 1:
            own = OWN_RATE[inits[0]]
            for e in rate_eqs:
                for foreign in e.vars - {own}:
                    lin = _eliminate(lin, foreign, e)
            lines.append(_solved_for(lin, rel, inits[0]))
        elif lin.is_const():
            continue
        else:
            lines.append(_plain(lin, rel))
    return lines


def pretty_region(region: Region) -> str:
    body = ",  ".join(pretty_constraints(region)) or "(all values)"
    note = region.zero_note()
    if note and frozenset() not in region.zero_sets:
        return f"{note}:  {body}"
    return f"{body}   [{note}]" if note else body


def pretty_regions(regions: Sequence[Region]) -> list[str]:
    return [pretty_region(r) for r in regions] or ["(empty: no exponents satisfy the conditions)"]
