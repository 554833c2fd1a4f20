"""Exact rational linear programming (two-phase simplex, Bland's rule) on ``Fraction``.

The solver needs many tiny LPs (≤ ~10 variables, ≤ ~40 constraints): feasibility of a
polyhedron given by ``ℓ ≤ 0``, ``ℓ < 0`` and ``ℓ = 0`` constraints, and the supremum of an
affine objective over it. sympy's ``lpmin``/``lpmax`` solve the same problems exactly but cost
milliseconds each and ~0.5 s to import; the tests check this module against them.

Strict inequalities are handled with the usual slack trick: the system with strict rows
``ℓ_i < 0`` is feasible iff ``max t`` subject to ``ℓ_i + t ≤ 0`` (and the other rows),
``0 ≤ t ≤ 1`` is positive.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from .exponent import Lin

LE, LT, EQ = "<=", "<", "=="


@dataclass(frozen=True)
class LPResult:
    status: str  # "optimal" | "unbounded" | "infeasible"
    value: Fraction | None = None
    point: dict[str, Fraction] | None = None

    def solution(self) -> tuple[Fraction, dict[str, Fraction]]:
        """``(value, point)`` of an optimal result."""
        if self.value is None or self.point is None:
            raise ValueError(f"no optimal solution (status {self.status})")
        return self.value, self.point


_ZERO = Fraction(0)


def _pivot(rows: list[list[int]], basis: list[int], r: int, c: int, d: int) -> int:
    """Fraction-free (Bareiss) pivot: the tableau holds ``d ×`` the true one, all integers;
    returns the new common denominator (the pivot element, always positive here)."""
    pr = rows[r]
    p = pr[c]
    for i, row in enumerate(rows):
        if i != r:
            f = row[c]
            if f:
                rows[i] = [(p * a - f * b) // d for a, b in zip(row, pr)]
            elif p != d:
                rows[i] = [(p * a) // d for a in row]
    basis[r] = c
    if p < 0:  # keep the common denominator positive (only when driving out artificials)
        for i, row in enumerate(rows):
            rows[i] = [-v for v in row]
        return -p
    return p


def _iterate(rows: list[list[int]], basis: list[int], ncols: int, d: int) -> tuple[str, int]:
    """Maximise; the last row holds ``d ×`` (reduced costs ``-c`` | objective value)."""
    while True:
        obj = rows[-1]
        enter = next((j for j in range(ncols) if obj[j] < 0), None)
        if enter is None:
            return "optimal", d
        best_r = -1
        for i in range(len(rows) - 1):
            a = rows[i][enter]
            if a > 0:
                if best_r < 0:
                    best_r = i
                    continue
                num, den = rows[best_r][-1], rows[best_r][enter]
                lhs, rhs = rows[i][-1] * den, num * a  # ratio_i vs ratio_best
                if lhs < rhs or (lhs == rhs and basis[i] < basis[best_r]):
                    best_r = i
        if best_r < 0:
            return "unbounded", d
        d = _pivot(rows, basis, best_r, enter, d)


def _simplex(c: list[int], A: list[list[int]], b: list[int]) -> LPResult:
    """max c·x s.t. A x ≤ b, x ≥ 0, all integers (each row scaled by its own positive factor:
    its slack is rescaled with it, so the initial basis is the identity and the common
    denominator starts at 1 — lrs-style integer pivoting, Bland's rule)."""
    m, k = len(A), len(c)
    ncols = k + m  # structural + slack
    n_art = sum(1 for v in b if v < 0)
    total = ncols + n_art
    rows: list[list[int]] = []
    basis: list[int] = []
    art_rows: list[int] = []
    for i in range(m):
        sign = -1 if b[i] < 0 else 1
        row = [sign * a for a in A[i]] + [0] * (total - k) + [sign * b[i]]
        row[k + i] = sign
        if b[i] < 0:
            col = ncols + len(art_rows)
            art_rows.append(i)
            row[col] = 1
            basis.append(col)
        else:
            basis.append(k + i)
        rows.append(row)
    d = 1
    if art_rows:  # phase 1: maximise -Σ artificials
        obj = [0] * (total + 1)
        for i in art_rows:
            obj = [a - r for a, r in zip(obj, rows[i])]
        for j in range(ncols, total):
            obj[j] = 0
        rows.append(obj)
        _, d = _iterate(rows, basis, total, d)
        if rows[-1][-1] != 0:
            return LPResult("infeasible")
        rows.pop()
        for i, col in enumerate(basis):  # drive artificials out of the basis
            if col >= ncols:
                piv = next((j for j in range(ncols) if rows[i][j] != 0), None)
                if piv is not None:
                    d = _pivot(rows, basis, i, piv, d)
        keep = [i for i, col in enumerate(basis) if col < ncols]
        rows = [rows[i][:ncols] + [rows[i][-1]] for i in keep]
        basis = [basis[i] for i in keep]
    else:
        rows = [r[:ncols] + [r[-1]] for r in rows]
    obj = [-cj * d for cj in c] + [0] * (ncols - k + 1)
    for i, col in enumerate(basis):
        f = obj[col]
        if f:
            obj = [(d * a - f * r) // d for a, r in zip(obj, rows[i])]
    rows.append(obj)
    status, d = _iterate(rows, basis, ncols, d)
    if status == "unbounded":
        return LPResult("unbounded")
    x = [_ZERO] * ncols
    for i, col in enumerate(basis):
        x[col] = Fraction(rows[i][-1], d)
    return LPResult("optimal", Fraction(rows[-1][-1], d), {f"x{j}": x[j] for j in range(k)})


def _int_row(lin: Lin, idx: dict[str, int], k: int, t_coef: int) -> tuple[list[int], int]:
    """Row ``ℓ(x) + t_coef·t ≤ 0`` in integers over ``x⁺, x⁻ (, t)``: coefficients, right side."""
    scale = math.lcm(lin.const.denominator, *(c.denominator for _, c in lin.coefs))
    r = [0] * k
    for v, cf in lin.coefs:
        q = cf.numerator * (scale // cf.denominator)
        r[2 * idx[v]] += q
        r[2 * idx[v] + 1] -= q
    if t_coef:
        r[-1] = t_coef * scale
    return r, -lin.const.numerator * (scale // lin.const.denominator)


def _standard_form(objective: Lin, cons: Sequence[tuple[Lin, str]], extra_t: bool):
    """Split free variables ``v = v⁺ − v⁻`` and write integer rows ``A x ≤ b``; with
    ``extra_t`` a last column ``t`` is added to the strict rows (``t ≤ 1``)."""
    names = sorted(set(objective.vars).union(*(lin.vars for lin, _ in cons)))
    idx = {v: i for i, v in enumerate(names)}
    k = 2 * len(names) + (1 if extra_t else 0)
    A: list[list[int]] = []
    b: list[int] = []
    for lin, rel in cons:
        t = 1 if (rel == LT and extra_t) else 0
        for part in ((lin, -lin) if rel == EQ else (lin,)):
            r, rhs = _int_row(part, idx, k, t)
            A.append(r)
            b.append(rhs)
    if extra_t:
        r = [0] * k
        r[-1] = 1
        A.append(r)
        b.append(1)
    oscale = math.lcm(*(c.denominator for _, c in objective.coefs)) if objective.coefs else 1
    c = [0] * k
    for v, cf in objective.coefs:
        q = cf.numerator * (oscale // cf.denominator)
        c[2 * idx[v]] += q
        c[2 * idx[v] + 1] -= q
    return names, A, b, c, oscale


def _unsplit(names: list[str], point: dict[str, Fraction]) -> dict[str, Fraction]:
    return {v: point[f"x{2 * i}"] - point[f"x{2 * i + 1}"] for i, v in enumerate(names)}


def _presolve(cons: Sequence[tuple[Lin, str]], objective: Lin
              ) -> tuple[list[tuple[Lin, str]], Lin, list[tuple[str, Lin]]] | None:
    """Substitute every equality out (exact): fewer rows and columns for the tableau. Returns
    the reduced system, objective and the substitutions (``None`` if a constant row fails)."""
    cons = list(cons)
    subs: list[tuple[str, Lin]] = []
    while True:
        i = next((i for i, (lin, rel) in enumerate(cons) if rel == EQ and not lin.is_const()),
                 None)
        if i is None:
            break
        lin = cons.pop(i)[0]
        v, k = lin.coefs[0]
        expr = (lin - Lin(0, {v: k})).scale(-1 / k)
        cons = [(l.substitute({v: expr}) if v in l.vars else l, r) for l, r in cons]
        objective = objective.substitute({v: expr}) if v in objective.vars else objective
        subs.append((v, expr))
    if any(lin.is_const() and not _const_holds(lin, rel) for lin, rel in cons):
        return None
    return [(l, r) for l, r in cons if not l.is_const()], objective, subs


def _complete(point: dict[str, Fraction], subs: list[tuple[str, Lin]]) -> dict[str, Fraction]:
    point = dict(point)
    for v, expr in reversed(subs):
        for w in expr.vars:
            point.setdefault(w, _ZERO)
        point[v] = expr.evaluate(point)
    return point


def maximize(objective: Lin, cons: Sequence[tuple[Lin, str]]) -> LPResult:
    """Supremum of ``objective`` over the closure of ``{x : ℓ rel 0 for (ℓ, rel) in cons}``."""
    closed = [(lin, LE if rel == LT else rel) for lin, rel in cons]
    pre = _presolve(closed, objective)
    if pre is None:
        return LPResult("infeasible")
    cons, objective, subs = pre
    res = _maximize(objective, cons)
    if res.point is not None:
        res = LPResult(res.status, res.value, _complete(res.point, subs))
    return res


def _maximize(objective: Lin, cons: Sequence[tuple[Lin, str]]) -> LPResult:
    names, A, b, c, oscale = _standard_form(objective, cons, extra_t=False)
    if not A:
        if objective.is_const():
            return LPResult("optimal", objective.const, {v: _ZERO for v in names})
        return LPResult("unbounded")
    res = _simplex(c, A, b)
    if res.status != "optimal":
        return res
    value, point = res.solution()
    return LPResult("optimal", value / oscale + objective.const, _unsplit(names, point))


def feasible_point(cons: Sequence[tuple[Lin, str]]) -> dict[str, Fraction] | None:
    """A point of ``{ℓ rel 0}`` honouring strictness, or ``None`` when it is empty."""
    pre = _presolve(cons, Lin(0))
    if pre is None:
        return None
    cons, _, subs = pre
    point = _feasible_point(cons)
    return None if point is None else _complete(point, subs)


def _feasible_point(cons: Sequence[tuple[Lin, str]]) -> dict[str, Fraction] | None:
    strict = any(rel == LT for _, rel in cons)
    if not cons:
        return {}
    names, A, b, c, _ = _standard_form(Lin(0), cons, extra_t=strict)
    if strict:
        c = [0] * (len(c) - 1) + [1]
    res = _simplex(c, A, b)
    if res.status != "optimal":
        return None
    value, point = res.solution()
    if strict and value <= 0:
        return None
    return _unsplit(names, point)


def is_feasible(cons: Sequence[tuple[Lin, str]]) -> bool:
    return feasible_point(cons) is not None


def _const_holds(lin: Lin, rel: str, closure: bool = False) -> bool:
    v = lin.const
    if rel == EQ:
        return v == 0
    if rel == LT and not closure:
        return v < 0
    return v <= 0
