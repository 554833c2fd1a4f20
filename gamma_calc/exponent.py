"""The exponent domain of the γ-operator (docs/theory.md §1; Beyond Zero Init §2.1, App. A.2).

A quantity ``v = Θ(n^γ[v])`` is described by its exponent ``γ[v]``. Exponents here are

* exact rationals (``Fraction``), ``-oo`` for an exact zero (``γ[0] = −∞``),
* affine forms in user parameters (``c_A + 1``, ``-c/2 - 1/2``): :class:`Lin`,
* and tropical (max-plus) polynomials of those: :class:`Exponent` = ``max`` of affine terms.

Tropical arithmetic: the exponent of a product is the sum (``γ[xy] = γ[x] + γ[y]``, written
``x + y``), of a sum the maximum (``γ[x + y] = max(γ[x], γ[y])``, written ``x | y`` or
``Exponent.max``). ``−∞`` absorbs ``+`` and is neutral for ``max``.

Canonical form: ``+`` is pushed into ``max`` (``a + max(b, c) = max(a + b, a + c)``) and every term
that is nowhere the unique maximum is dropped — also terms dominated only by the *max of the
others*, e.g. ``max(x, -x, 0) = max(x, -x)`` — decided exactly by linear programming. The
remaining ("essential") terms of a convex piecewise-affine function are unique, so two exponents
are equal as functions of the parameters iff their canonical forms are equal. sympy's ``Max``
does not do this, which is why the domain is implemented here on ``fractions.Fraction`` (fast
to import, exact); sympy is used for pretty and LaTeX printing.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from fractions import Fraction
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .polyhedron import Constraint

Number = int | Fraction
NEG_INF_VALUE = float("-inf")


class ExponentError(ValueError):
    """A malformed exponent (the message is one line, fit for a CLI)."""


def to_fraction(x: object) -> Fraction:
    """Exact rational from an int, Fraction, decimal/fraction string or float (exact decimal)."""
    if isinstance(x, Fraction):
        return x
    if isinstance(x, bool):
        raise ExponentError(f"not a number: {x!r}")
    if isinstance(x, int):
        return Fraction(x)
    if isinstance(x, float):
        if not math.isfinite(x):
            raise ExponentError(f"not a finite number: {x!r}")
        return Fraction(repr(x))
    if isinstance(x, str):
        try:
            return Fraction(x.strip().replace("−", "-"))
        except (ValueError, ZeroDivisionError):
            raise ExponentError(f"malformed number: {x!r}") from None
    raise ExponentError(f"not a number: {x!r}")


def _fmt_frac(q: Fraction) -> str:
    return str(q.numerator) if q.denominator == 1 else f"{q.numerator}/{q.denominator}"


class Lin:
    """An affine form ``const + Σ coef·var`` with exact rational coefficients (immutable)."""

    __slots__ = ("_hash", "coefs", "const")

    def __init__(self, const: Number = 0, coefs: Mapping[str, Number] | None = None):
        self.const = to_fraction(const)
        items = ((v, to_fraction(c)) for v, c in (coefs or {}).items())
        self.coefs: tuple[tuple[str, Fraction], ...] = tuple(
            sorted((v, c) for v, c in items if c != 0))
        self._hash = hash((self.const, self.coefs))

    @staticmethod
    def var(name: str) -> Lin:
        return Lin(0, {name: 1})

    # -- arithmetic ---------------------------------------------------------------------
    def _combine(self, other: Lin, sign: int) -> Lin:
        d = dict(self.coefs)
        for v, c in other.coefs:
            d[v] = d.get(v, 0) + sign * c
        return Lin(self.const + sign * other.const, d)

    def __add__(self, other: Lin | Number) -> Lin:
        return self._combine(other if isinstance(other, Lin) else Lin(other), 1)

    __radd__ = __add__

    def __sub__(self, other: Lin | Number) -> Lin:
        return self._combine(other if isinstance(other, Lin) else Lin(other), -1)

    def __neg__(self) -> Lin:
        return self.scale(-1)

    def scale(self, k: Number) -> Lin:
        k = to_fraction(k)
        return Lin(self.const * k, {v: c * k for v, c in self.coefs})

    # -- queries ------------------------------------------------------------------------
    @property
    def vars(self) -> frozenset[str]:
        return frozenset(v for v, _ in self.coefs)

    def coef(self, name: str) -> Fraction:
        return dict(self.coefs).get(name, Fraction(0))

    def is_const(self) -> bool:
        return not self.coefs

    def evaluate(self, env: Mapping[str, object]) -> Fraction:
        total = self.const
        for v, c in self.coefs:
            if v not in env:
                raise ExponentError(f"no value for parameter {v!r}")
            total += c * to_fraction(env[v])
        return total

    def substitute(self, env: Mapping[str, Lin | Number]) -> Lin:
        out = Lin(self.const)
        for v, c in self.coefs:
            val = env.get(v)
            if val is None:
                out = out + Lin(0, {v: c})
            else:
                out = out + (val if isinstance(val, Lin) else Lin(val)).scale(c)
        return out

    def sort_key(self) -> tuple:
        return (self.coefs, self.const)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Lin) and self.const == other.const and self.coefs == other.coefs

    def __hash__(self) -> int:
        return self._hash

    def __repr__(self) -> str:
        return f"Lin({self})"

    def __str__(self) -> str:
        parts: list[str] = []
        for v, c in self.coefs:
            mag = abs(c)
            body = v if mag.numerator == 1 else f"{mag.numerator}*{v}"
            if mag.denominator != 1:
                body += f"/{mag.denominator}"
            parts.append(("- " if c < 0 else "+ ") + body)
        if self.const != 0 or not parts:
            parts.append(("- " if self.const < 0 else "+ ") + _fmt_frac(abs(self.const)))
        text = " ".join(parts)
        return text[2:] if text.startswith("+ ") else "-" + text[2:]


class Exponent:
    """A max-plus polynomial ``max(ℓ_1, …, ℓ_k)`` of affine forms; no terms means ``−∞``.

    Always stored in canonical form (see the module docstring), so ``==`` is equality of
    functions over all real parameter values. Use :meth:`simplify` to drop further terms under
    domain assumptions such as ``eps > 0``.
    """

    __slots__ = ("_canon", "_hash", "_raw")

    def __init__(self, terms: Iterable[Lin] = ()):
        self._raw: tuple[Lin, ...] = _syntactic(terms)
        self._canon: tuple[Lin, ...] | None = self._raw if len(self._raw) <= 2 else None
        self._hash: int | None = None
        if len(self._raw) > _EAGER:
            _ = self.terms

    @property
    def terms(self) -> tuple[Lin, ...]:
        """The canonical (essential) terms, computed on first use."""
        if self._canon is None:
            from .essential import essential_terms  # local: it imports this module

            self._canon = tuple(essential_terms(list(self._raw), []))
            self._raw = self._canon
        return self._canon

    # -- constructors -------------------------------------------------------------------
    @classmethod
    def const(cls, value: object) -> Exponent:
        return cls([Lin(to_fraction(value))])

    @classmethod
    def var(cls, name: str) -> Exponent:
        return cls([Lin.var(name)])

    @classmethod
    def lin(cls, form: Lin) -> Exponent:
        return cls([form])

    @classmethod
    def on(cls, terms: Iterable[Lin], domain: Sequence[object] = ()) -> Exponent:
        """``max`` of ``terms`` in canonical form *on a domain* (a list of
        :class:`~gamma_calc.polyhedron.Constraint`): terms that are nowhere the unique maximum
        inside the domain are dropped, so the result equals the ``max`` there (and only there).
        Without a domain this is the ordinary constructor."""
        if not domain:
            return cls(terms)
        out = cls(())
        out._raw = out._canon = _essential_on(_syntactic(terms), tuple(domain))
        return out

    @property
    def raw_terms(self) -> tuple[Lin, ...]:
        """The stored affine terms (canonical when already computed; never triggers an LP)."""
        return self._raw

    @classmethod
    def parse(cls, text: str | Fraction | float | Exponent) -> Exponent:
        """Parse ``"-1/2"``, ``"-0.5"``, ``"-oo"``, ``"c_A + 1"``, ``"max(a, c_A + 1)"``."""
        if isinstance(text, Exponent):
            return text
        if not isinstance(text, str):
            return cls.const(text)
        from .exponent_parse import parse_text  # local: it imports this module

        return parse_text(text)

    # -- tropical arithmetic ------------------------------------------------------------
    @property
    def is_neg_inf(self) -> bool:
        return not self._raw

    def __add__(self, other: Exponent | Lin | Number) -> Exponent:
        other = _coerce(other)
        if self.is_neg_inf or other.is_neg_inf:
            return NEG_INF
        return Exponent(a + b for a in self._raw for b in other._raw)

    __radd__ = __add__

    def __sub__(self, other: Lin | Number) -> Exponent:
        """Shift by a finite affine form (``max`` has no tropical inverse)."""
        if isinstance(other, Exponent):
            if len(other.terms) != 1:
                raise ExponentError("can only subtract a single affine term")
            other = other.terms[0]
        shift = other if isinstance(other, Lin) else Lin(other)
        return Exponent(t - shift for t in self._raw)

    def __or__(self, other: Exponent | Lin | Number) -> Exponent:
        return Exponent(self._raw + _coerce(other)._raw)

    __ror__ = __or__

    @staticmethod
    def max(*items: Exponent | Lin | Number) -> Exponent:
        return Exponent(t for it in items for t in _coerce(it)._raw)

    def scale(self, k: Number) -> Exponent:
        """Multiply by a non-negative rational (``γ[x^k] = k γ[x]``)."""
        k = to_fraction(k)
        if k < 0:
            raise ExponentError("max-plus scaling needs a non-negative factor")
        if self.is_neg_inf:
            return NEG_INF
        return Exponent(t.scale(k) for t in self._raw)

    # -- evaluation ---------------------------------------------------------------------
    @property
    def vars(self) -> frozenset[str]:
        return frozenset().union(*(t.vars for t in self._raw)) if self._raw else frozenset()

    def is_const(self) -> bool:
        return all(t.is_const() for t in self._raw)

    def value(self) -> Fraction | float:
        """The constant value (``-inf`` for ``−∞``); raises if parameters remain."""
        if not self.is_const():
            raise ExponentError(f"exponent {self} still depends on {sorted(self.vars)}")
        return self.terms[0].const if self.terms else NEG_INF_VALUE

    def evaluate(self, env: Mapping[str, object]) -> Fraction | float:
        if not self._raw:
            return NEG_INF_VALUE
        return max(t.evaluate(env) for t in self._raw)

    def germ(self, env: Mapping[str, object], var: str) -> tuple[Fraction | float, Fraction]:
        """Value and right-slope in ``var`` at ``var = 0+`` (lexicographic max of the terms).

        With every other parameter fixed by ``env`` this is exact: for all small enough
        ``var > 0`` the exponent equals ``value + slope·var``.
        """
        if not self._raw:
            return (NEG_INF_VALUE, Fraction(0))
        env0 = dict(env)
        env0[var] = 0
        return max((t.evaluate(env0), t.coef(var)) for t in self._raw)

    def substitute(self, env: Mapping[str, Lin | Number]) -> Exponent:
        return Exponent(t.substitute(env) for t in self._raw)

    def simplify(self, domain: Iterable[Constraint] = ()) -> Exponent:
        """Drop terms that are never the unique maximum on ``domain`` (constraints)."""
        from .essential import essential_terms  # local: it imports this module

        out = Exponent(())
        out._raw = out._canon = tuple(essential_terms(list(self.terms), list(domain)))
        return out

    # -- comparison / printing ----------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        if isinstance(other, (int, Fraction, Lin)):
            other = _coerce(other)
        return isinstance(other, Exponent) and self.terms == other.terms

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(self.terms)
        return self._hash

    def __repr__(self) -> str:
        return f"Exponent({self})"

    def __str__(self) -> str:
        if not self.terms:
            return "-oo"
        if len(self.terms) == 1:
            return str(self.terms[0])
        return "max(" + ", ".join(str(t) for t in self.terms) + ")"

    def to_sympy(self, symbols: Mapping[str, object] | None = None):
        """The same function as a sympy expression (``-oo``, ``Rational``, ``Max``)."""
        import sympy

        if not self.terms:
            return sympy.S.NegativeInfinity
        syms = dict(symbols or {})

        def conv(t: Lin):
            expr = sympy.Rational(t.const.numerator, t.const.denominator)
            for v, c in t.coefs:
                s = syms.setdefault(v, sympy.Symbol(v, real=True))
                expr += sympy.Rational(c.numerator, c.denominator) * s
            return expr

        exprs = [conv(t) for t in self.terms]
        return exprs[0] if len(exprs) == 1 else sympy.Max(*exprs, evaluate=False)

    def latex(self) -> str:
        import sympy

        return sympy.latex(self.to_sympy())

    def pretty(self) -> str:
        import sympy

        return sympy.pretty(self.to_sympy(), use_unicode=True)

    @classmethod
    def from_sympy(cls, expr) -> Exponent:
        """Inverse of :meth:`to_sympy` for ``Max``/``Add``/``Mul``-by-rational expressions."""
        from .exponent_parse import parse_text  # local: it imports this module

        return parse_text(str(expr).replace("Max", "max"))


_EAGER = 8  # canonicalise at once beyond this many terms (keeps products small)


@lru_cache(maxsize=1 << 16)
def _essential_on(terms: tuple[Lin, ...], domain: tuple) -> tuple[Lin, ...]:
    if len(terms) <= 1:
        return terms
    from .essential import essential_terms  # local: it imports this module

    return tuple(essential_terms(list(terms), list(domain)))


def _syntactic(terms: Iterable[Lin]) -> tuple[Lin, ...]:
    """Per coefficient vector keep the largest constant (exact, no LP); sorted."""
    best: dict[tuple, Lin] = {}
    for t in terms:
        cur = best.get(t.coefs)
        if cur is None or t.const > cur.const:
            best[t.coefs] = t
    return tuple(sorted(best.values(), key=Lin.sort_key))


NEG_INF = Exponent(())
ZERO = Exponent.const(0)


def _coerce(x: Exponent | Lin | Number | str) -> Exponent:
    if isinstance(x, Exponent):
        return x
    if isinstance(x, Lin):
        return Exponent([x])
    if isinstance(x, str):
        return Exponent.parse(x)
    return Exponent.const(x)
