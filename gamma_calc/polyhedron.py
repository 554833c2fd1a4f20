"""Polyhedra over exponent parameters: constraints, exact simplification, regions.

A :class:`Constraint` is ``ℓ rel 0`` with ``rel`` in ``<=``, ``<``, ``==`` and ``ℓ`` affine. A
:class:`Region` is a polyhedron plus the set of parameters that are ``−∞`` (zero-initialised
factors: a case, not a linear constraint). Feasible sets are printed as short unions of regions
(merged and compared in :mod:`gamma_calc.unions`). Everything is decided exactly with
:mod:`gamma_calc.lp`.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache

from .exponent import NEG_INF_VALUE, Lin, to_fraction
from .lp import EQ, LE, LT, feasible_point, is_feasible, maximize


@dataclass(frozen=True, order=True)
class Constraint:
    """``lin rel 0``; build with :func:`le`, :func:`lt`, :func:`eq`, :func:`ge`, :func:`gt`."""

    lin: Lin = field(compare=False)
    rel: str
    key: tuple = field(default=(), repr=False)

    @staticmethod
    def make(lin: Lin, rel: str) -> Constraint:
        lin = _normalise(lin, rel)
        return Constraint(lin, rel, (lin.coefs, lin.const, rel))

    def holds(self, env: Mapping[str, object]) -> bool:
        v = self.lin.evaluate(env)
        return v == 0 if self.rel == EQ else (v < 0 if self.rel == LT else v <= 0)

    def negations(self) -> list[Constraint]:
        """Constraints whose union is the complement of this one."""
        if self.rel == LE:
            return [Constraint.make(-self.lin, LT)]
        if self.rel == LT:
            return [Constraint.make(-self.lin, LE)]
        return [Constraint.make(self.lin, LT), Constraint.make(-self.lin, LT)]

    @property
    def pair(self) -> tuple[Lin, str]:
        return (self.lin, self.rel)

    def __str__(self) -> str:
        return _pretty(self.lin, self.rel)


def _normalise(lin: Lin, rel: str) -> Lin:
    """Scale to coprime integer coefficients; equalities get a positive leading coefficient."""
    coefs = [c for _, c in lin.coefs]
    if not coefs:
        return lin
    den = math.lcm(*(c.denominator for c in coefs), lin.const.denominator)
    num = math.gcd(*(int(c * den) for c in coefs), int(lin.const * den))
    k = Fraction(den, num or 1)
    if rel == EQ and coefs[0] < 0:
        k = -k
    return lin.scale(k)


def le(lhs, rhs=0) -> Constraint:
    return Constraint.make(_lin(lhs) - _lin(rhs), LE)


def lt(lhs, rhs=0) -> Constraint:
    return Constraint.make(_lin(lhs) - _lin(rhs), LT)


def eq(lhs, rhs=0) -> Constraint:
    return Constraint.make(_lin(lhs) - _lin(rhs), EQ)


def ge(lhs, rhs=0) -> Constraint:
    return le(rhs, lhs)


def gt(lhs, rhs=0) -> Constraint:
    return lt(rhs, lhs)


def _lin(x) -> Lin:
    if isinstance(x, Lin):
        return x
    if isinstance(x, str):
        from .exponent import Exponent

        e = Exponent.parse(x)
        if len(e.terms) != 1:
            raise ValueError(f"not an affine form: {x!r}")
        return e.terms[0]
    return Lin(to_fraction(x))


# -- exact set operations ---------------------------------------------------------------
def feasible(cons: Sequence[Constraint]) -> bool:
    """Exact emptiness test (memoised: the solver asks about the same systems many times)."""
    return _feasible_keys(tuple(sorted(set(cons))))


@lru_cache(maxsize=65536)
def _feasible_keys(cons: tuple[Constraint, ...]) -> bool:
    return is_feasible([c.pair for c in cons])


def implies(cons: Sequence[Constraint], c: Constraint) -> bool:
    """``{cons} ⊆ {c}``: every negation branch of ``c`` is infeasible with ``cons``."""
    return all(not feasible(list(cons) + [n]) for n in c.negations())


def simplify(cons: Iterable[Constraint]) -> list[Constraint] | None:
    """Irredundant description of a polyhedron (``None`` if empty): implicit equalities made
    explicit, then constraints implied by the rest dropped; sorted for a canonical display."""
    cs = _tightest(cons)
    if cs is None or not feasible(cs):
        return None
    implicit = _implicit_equalities(cs)
    cs = [Constraint.make(c.lin, EQ) if c in implicit else c for c in cs]
    out = _canonical_equalities(cs)
    if out is None:
        return None
    out.sort(key=lambda c: (c.rel == EQ, len(c.lin.coefs)), reverse=True)
    i = 0
    while i < len(out):
        rest = out[:i] + out[i + 1:]
        if implies(rest, out[i]):
            out.pop(i)
        else:
            i += 1
    return sorted(out, key=_display_key)


PIVOT_ORDER = ("A0", "B0", "c_B", "c", "c_A")


def gauss_jordan(eqs: Sequence[Lin], order: Sequence[str]
                 ) -> tuple[list[tuple[str, Lin]], list[Lin]]:
    """Gauss–Jordan elimination on affine equalities ``ℓ = 0``, pivoting on the variables of
    ``order`` in turn: ``(pivots, rest)``, each pivot row normalised to coefficient 1 and free of
    the other pivots; ``rest`` holds the rows left without a pivot (constants when ``order``
    covers every variable: a non-zero one means the system is inconsistent)."""
    rows = list(eqs)
    pivots: list[tuple[str, Lin]] = []
    for v in order:
        row = next((e for e in rows if e.coef(v) != 0), None)
        if row is None:
            continue
        rows.remove(row)
        row = row.scale(1 / row.coef(v))
        rows = [e - row.scale(e.coef(v)) for e in rows]
        pivots = [(p, e - row.scale(e.coef(v))) for p, e in pivots]
        pivots.append((v, row))
    return pivots, rows


def _canonical_equalities(cs: list[Constraint]) -> list[Constraint] | None:
    """Equalities in reduced echelon form (pivots by :data:`PIVOT_ORDER`, then by name) with
    the pivot variables substituted out of the inequalities: a unique description of the affine
    hull, so equal polyhedra get equal constraint lists after redundancy removal."""
    eqs = [c.lin for c in cs if c.rel == EQ]
    others = [c for c in cs if c.rel != EQ]
    names = sorted(set().union(*(e.vars for e in eqs))) if eqs else []
    order = [v for v in PIVOT_ORDER if v in names] + [v for v in names if v not in PIVOT_ORDER]
    pivots, eqs = gauss_jordan(eqs, order)
    if any(e.is_const() and e.const != 0 for e in eqs):
        return None
    out = [Constraint.make(row, EQ) for _, row in pivots]
    for c in others:
        lin = c.lin
        for v, row in pivots:
            if lin.coef(v) != 0:
                lin = lin - row.scale(lin.coef(v))
        if lin.is_const():
            if not Constraint.make(lin, c.rel).holds({}):
                return None
            continue
        out.append(Constraint.make(lin, c.rel))
    return _dedupe(out)


def _tightest(cons: Iterable[Constraint]) -> list[Constraint] | None:
    """Drop constant constraints (``None`` if one is false) and, among inequalities with the
    same coefficients, all but the tightest (exact, no LP)."""
    best: dict[tuple, Constraint] = {}
    eqs: dict[tuple, Constraint] = {}
    for c in cons:
        if c.lin.is_const():
            if not c.holds({}):
                return None
            continue
        if c.rel == EQ:
            eqs[c.key] = c
            continue
        k = c.lin.coefs
        cur = best.get(k)
        if cur is None or (c.lin.const, c.rel == LT) > (cur.lin.const, cur.rel == LT):
            best[k] = c
    return list(eqs.values()) + list(best.values())


def _implicit_equalities(cs: list[Constraint]) -> set[Constraint]:
    """Inequalities that hold with equality on the whole (non-empty) polyhedron: maximise the
    total slack ``Σ t_i`` (``ℓ_i + t_i ≤ 0``, ``0 ≤ t_i ≤ 1``); a positive ``t_i`` clears ``i``;
    repeat on the rest until the optimum is 0 — those are the implicit equalities."""
    open_ = [c for c in cs if c.rel == LE]
    fixed = [c.pair for c in cs if c.rel != LE]
    while open_:
        slack = [f"__t{i}" for i in range(len(open_))]
        rows = fixed + [(c.pair[0] + Lin.var(t), LE) for c, t in zip(open_, slack)]
        rows += [(Lin(-1, {t: 1}), LE) for t in slack] + [(Lin(0, {t: -1}), LE) for t in slack]
        res = maximize(Lin(0, {t: 1 for t in slack}), rows)
        if res.status != "optimal" or res.value == 0:
            return set(open_)
        _, point = res.solution()
        cleared = {c for c, t in zip(open_, slack) if point.get(t, 0) > 0}
        fixed += [c.pair for c in cleared]
        open_ = [c for c in open_ if c not in cleared]
    return set()


def _dedupe(cs: list[Constraint]) -> list[Constraint]:
    seen, out = set(), []
    for c in cs:
        if c.key not in seen:
            seen.add(c.key)
            out.append(c)
    return out


def _display_key(c: Constraint) -> tuple:
    return (c.rel != EQ, len(c.lin.coefs), [v for v, _ in c.lin.coefs], c.key)


def sup(objective: Lin, cons: Sequence[Constraint]) -> tuple[str, Fraction | None, bool]:
    """``(status, supremum, attained)`` of ``objective`` over the polyhedron."""
    res = maximize(objective, [c.pair for c in cons])
    if res.status != "optimal":
        return res.status, None, False
    value, _ = res.solution()
    attained = feasible(list(cons) + [Constraint.make(objective - value, EQ)])
    return "optimal", value, attained


# -- regions ------------------------------------------------------------------------------
NO_ZEROS: frozenset[frozenset[str]] = frozenset({frozenset()})


@dataclass(frozen=True)
class Region:
    """A polyhedron over the finite parameters, valid for each set of ``−∞`` parameters in
    ``zero_sets`` (zero-initialised factors are a case, not a linear constraint). For a zero
    set ``Z`` the constraints mentioning ``Z`` are dropped — they are upper bounds, satisfied by
    ``−∞`` (see :func:`extend_to_zero`)."""

    constraints: tuple[Constraint, ...]
    zero_sets: frozenset[frozenset[str]] = NO_ZEROS

    def contains(self, point: Mapping[str, object]) -> bool:
        zeros = frozenset(v for v, val in point.items() if val == NEG_INF_VALUE)
        if zeros not in self.zero_sets:
            return False
        finite = {k: v for k, v in point.items() if v != NEG_INF_VALUE}
        return all(c.holds(finite) for c in self.constraints if not (c.lin.vars & zeros))

    def sample(self) -> dict[str, Fraction] | None:
        return feasible_point([c.pair for c in self.constraints])

    @property
    def key(self) -> tuple:
        zs = tuple(sorted(tuple(sorted(z)) for z in self.zero_sets))
        return (zs, tuple(c.key for c in self.constraints))

    def subset_of(self, other: Region) -> bool:
        return self.zero_sets <= other.zero_sets and all(
            implies(self.constraints, c) for c in other.constraints)

    def zero_note(self) -> str:
        nonempty = sorted((sorted(z) for z in self.zero_sets if z), key=lambda z: (len(z), z))
        if not nonempty:
            return ""
        names = [" and ".join(f"{v} = -oo" for v in z) for z in nonempty]
        if frozenset() not in self.zero_sets:
            return names[0] if len(names) == 1 else "one of: " + "; ".join(names)
        allowed = "; ".join(names)
        all_vars = sorted(set().union(*self.zero_sets))
        both = frozenset(all_vars) in self.zero_sets
        tail = "" if both or len(all_vars) < 2 else " (not all at once)"
        return f"also allowed: {allowed}{tail}"

    def __str__(self) -> str:
        parts = [str(c) for c in self.constraints]
        body = ",  ".join(parts) if parts else "(all values)"
        note = self.zero_note()
        if note and frozenset() not in self.zero_sets:
            return f"{note}:  {body}"
        return f"{body}   [{note}]" if note else body


def make_region(cons: Iterable[Constraint], zeros: Iterable[str] = ()) -> Region | None:
    simp = simplify(cons)
    return None if simp is None else Region(tuple(simp), frozenset({frozenset(zeros)}))


def _pretty(lin: Lin, rel: str) -> str:
    """``b - c_B <= 0`` → ``b <= c_B``; ``c_A + c_B + 1 = 0`` → ``c_A + c_B = -1``."""
    pos = {v: c for v, c in lin.coefs if c > 0}
    neg = {v: -c for v, c in lin.coefs if c < 0}
    sym = {LE: "<=", LT: "<", EQ: "="}[rel]
    if not pos and neg:  # keep variables on the left: -x - y + k <= 0 → x + y >= k
        left, right = Lin(0, neg), Lin(lin.const)
        sym = {LE: ">=", LT: ">", EQ: "="}[rel]
        return f"{left} {sym} {right}"
    left = Lin(0, pos)
    right = Lin(-lin.const, neg)
    return f"{left} {sym} {right}"
