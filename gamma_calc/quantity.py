"""Typed asymptotic quantities: tensors described by the exponents of their entries.

docs/theory.md §1 (Beyond Zero Init Lemmas 1–2, LoRA+ Assumption 1; Tensor Programs IV, Yang & Hu
2021, arXiv 2011.14522, Thm 4.1). A vector or matrix is a sum of *factors*; each factor has an
entry exponent (an :class:`~gamma_calc.exponent.Exponent`) and, along every axis that scales
with the width ``n``, a *direction tag*. Contractions apply the rule of the summed dimension:

* a **fixed** dimension (rank ``r``, input ``d``, classes ``k``): ``+0``;
* a **width** dimension with equal tags on both sides — the terms are **aligned** (correlated
  signs, e.g. ``g_A z`` with Adam's ``g_A = sign(·) ⊗ sign(z)``): ``+1``;
* a width dimension with different tags — independent, zero-mean (CLT, e.g. ``A_0 z`` with a
  random ``A_0``): ``+1/2``.

Tags: data vectors carry their own tag (``"z"``); a random matrix named ``M`` carries
``("M", axis)`` on each axis; an outer product ``u ⊗ v`` carries the tags of ``u`` and ``v``.
A contraction with a random matrix over a *fixed* axis leaves the result coherent with that
matrix (it keeps the tag ``("M", axis)``: ``W_o (W_oᵀ df)`` sums ``n`` squares, ``+1``). Over a
*width* axis the result is a CLT vector ``("M~", axis, s)`` that remembers the tag ``s`` of what
was summed against ``M``. Contracting ``M`` with such a vector over the same axis again — the
pattern of a gradient step, where a feature update ``Δh ∝ Mᵀδ`` (SGD) or ``sign(Mᵀδ)`` (Adam)
meets the same weights on the next forward pass — is the *back-contraction* of Tensor Programs:
``M (Mᵀ u) = n σ² u + (a CLT vector of the same size)``. Its gain over the intermediate vector
is ``+1/2``, as for an independent sum, but the result has **two** factors of that exponent:
one along ``s`` (``u``'s direction: the ``+1`` alignment of ``M Mᵀ ≈ nσ² I``) and a new CLT
direction. Keeping the ``s`` part is what makes a readout ``W_o`` meet the features that its own
backward signal ``W_oᵀ df`` moved (through every hidden layer) as an aligned sum. The zero
tensor has no factors (exponent ``−∞``), so zeros propagate exactly.

Adam's normalised update of a gradient ``G`` (:func:`sign`) has ``Θ(1)`` entries wherever ``G`` is
non-zero and the direction tags of ``G``'s factors (``sign(Mᵀδ)`` keeps a ``Θ(1)`` correlation
with every factor of ``Mᵀδ``, so ``M sign(Mᵀδ)`` is again ``√n σ`` along ``δ``). With several
factors this is exact when one factor dominates along each width axis; with factors of equal
exponent the sign correlates with each of them, and keeping all their tags is the rule.
"""
from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING

from .exponent import NEG_INF, ZERO, Exponent, Lin

if TYPE_CHECKING:
    from .polyhedron import Constraint

Tag = Hashable  # a direction label along a width axis (None on fixed axes)
Tags = tuple[Tag, ...]

HALF = Exponent.const("1/2")
ONE = Exponent.const(1)


@dataclass(frozen=True)
class Dim:
    """A tensor axis: ``width=True`` when its size is (proportional to) ``n``."""

    name: str
    width: bool


@dataclass(frozen=True)
class Factor:
    exp: Exponent
    tags: Tags


@dataclass(frozen=True)
class Tensor:
    """A sum of factors over ``dims``; the entry exponent is the max over factors.

    ``domain`` (constraints on the parameters, default none) restricts every exponent to a
    polyhedron: terms that never win inside it are dropped (:meth:`Exponent.on`). Results of
    operations inherit it; the exponents are then exact on the domain only.
    """

    dims: tuple[Dim, ...]
    factors: tuple[Factor, ...] = ()
    domain: tuple[Constraint, ...] = field(default=(), compare=False)

    # -- construction -------------------------------------------------------------------
    @staticmethod
    def zero(dims: Sequence[Dim]) -> Tensor:
        return Tensor(tuple(dims))

    @staticmethod
    def random(name: str, dims: Sequence[Dim], entry: Exponent) -> Tensor:
        """i.i.d. zero-mean entries of size ``n^entry``, independent of everything else."""
        dims = tuple(dims)
        tags = tuple((name, i) if d.width else None for i, d in enumerate(dims))
        return Tensor(dims, (Factor(entry, tags),)).canonical()

    @staticmethod
    def aligned(dims: Sequence[Dim], entry: Exponent, tags: Sequence[Tag]) -> Tensor:
        """Deterministic entries of size ``n^entry`` along the given directions."""
        dims = tuple(dims)
        tags = tuple(t if d.width else None for t, d in zip(tags, dims))
        return Tensor(dims, (Factor(entry, tags),)).canonical()

    def on(self, domain: Sequence[Constraint]) -> Tensor:
        """The same tensor with its exponents restricted to ``domain``."""
        return Tensor(self.dims, self.factors, tuple(domain)).canonical()

    def canonical(self) -> Tensor:
        """Merge factors with equal tags (max of exponents); drop ``−∞`` factors."""
        return _build(self.dims, ((f.tags, f.exp.raw_terms) for f in self.factors), self.domain)

    # -- algebra ------------------------------------------------------------------------
    @property
    def exponent(self) -> Exponent:
        return Exponent.max(*(f.exp for f in self.factors)) if self.factors else NEG_INF

    @property
    def is_zero(self) -> bool:
        return not self.factors

    def __add__(self, other: Tensor) -> Tensor:
        if self.dims != other.dims:
            raise ValueError(f"shape mismatch: {self.dims} + {other.dims}")
        return Tensor(self.dims, self.factors + other.factors,
                      self.domain or other.domain).canonical()

    def scale(self, e: Exponent | Lin | int | str) -> Tensor:
        """Multiply by a scalar of exponent ``e`` (a learning rate, the LoRA scale…)."""
        e = e if isinstance(e, Exponent) else Exponent.parse(e) if isinstance(e, str) \
            else Exponent.lin(e) if isinstance(e, Lin) else Exponent.const(e)
        pieces = ((f.tags, [a + b for a in f.exp.raw_terms for b in e.raw_terms])
                  for f in self.factors)
        return _build(self.dims, pieces, self.domain)

    @property
    def T(self) -> Tensor:
        if len(self.dims) != 2:
            raise ValueError("transpose needs a matrix")
        return Tensor(self.dims[::-1], tuple(Factor(f.exp, f.tags[::-1]) for f in self.factors),
                      self.domain)

    def __matmul__(self, other: Tensor) -> Tensor:
        """Contract the last axis of ``self`` with the first axis of ``other``."""
        return contract(self, len(self.dims) - 1, other, 0)


def _build(dims: tuple[Dim, ...], pieces: Iterable[tuple[Tags, Iterable[Lin]]],
           domain: tuple[Constraint, ...]) -> Tensor:
    """A tensor from ``(tags, affine terms)`` pieces: one factor per tag tuple, its exponent the
    max of the terms (canonical on ``domain``), sorted; no terms means no factor (``−∞``)."""
    merged: dict[Tags, list[Lin]] = {}
    for tags, terms in pieces:
        merged.setdefault(tags, []).extend(terms)
    facs = tuple(Factor(Exponent.on(terms, domain), t)
                 for t, terms in sorted(merged.items(), key=lambda kv: repr(kv[0])) if terms)
    return Tensor(dims, facs, domain)


def fresh_tag(matrix: str, axis: int, source: Tag) -> Tag:
    """The CLT direction along ``axis`` of random ``matrix`` summed against a ``source`` tag."""
    return (matrix + "~", axis, source)


def _random_axis(t: Tag) -> tuple[str, int] | None:
    """``(M, axis)`` when ``t`` is a random matrix's own tag."""
    if isinstance(t, tuple) and len(t) == 2 and isinstance(t[0], str) \
            and not t[0].endswith("~"):
        return t[0], t[1]
    return None


def _back_source(t_matrix: Tag, t_vec: Tag) -> tuple[bool, Tag]:
    """Whether ``t_vec`` is a CLT vector ``("M~", axis, s)`` of the same matrix and axis as
    ``t_matrix = ("M", axis)``; then also its source ``s``."""
    ra = _random_axis(t_matrix)
    if ra is None or not (isinstance(t_vec, tuple) and len(t_vec) == 3):
        return False, None
    return (t_vec[0] == ra[0] + "~" and t_vec[1] == ra[1]), t_vec[2]


def _pair(fx: Factor, ax: int, fy: Factor, ay: int, dim: Dim) -> list[tuple[Tags, Fraction]]:
    """The ``(tags, gain)`` of the factors one contracted pair gives (module docstring)."""
    tx, ty = fx.tags[ax], fy.tags[ay]
    rest_x = tuple(t for i, t in enumerate(fx.tags) if i != ax)
    rest_y = tuple(t for i, t in enumerate(fy.tags) if i != ay)
    if not dim.width:
        return [(rest_x + rest_y, Fraction(0))]
    if tx == ty:
        return [(rest_x + rest_y, Fraction(1))]
    half = Fraction(1, 2)
    out = [(_renew(fx.tags, ax, ty) + _renew(fy.tags, ay, tx), half)]
    back, source = _back_source(tx, ty)
    if back:  # M (Mᵀ u), M the left operand: the aligned part along u's direction
        out.append((_replace(fx.tags, ax, source) + rest_y, half))
    back, source = _back_source(ty, tx)
    if back:
        out.append((rest_x + _replace(fy.tags, ay, source), half))
    return out


def _replace(tags: Tags, axis: int, source: Tag) -> Tags:
    """A random matrix's other axes after a back-contraction over ``axis``: ``source``."""
    name = (_random_axis(tags[axis]) or ("",))[0]
    return tuple(source if (_random_axis(t) or ("",))[0] == name else t
                 for i, t in enumerate(tags) if i != axis)


def _renew(tags: Tags, axis: int, summed_against: Tag) -> Tags:
    """Tags of the remaining axes after an independent (CLT) sum over ``axis``: a random
    matrix ``M``'s other width axes become a CLT direction that remembers what ``M`` was summed
    against; an outer product ``u ⊗ v`` keeps ``u``'s direction whatever it is contracted with."""
    ra = _random_axis(tags[axis])
    out = []
    for i, t in enumerate(tags):
        if i == axis:
            continue
        rt = _random_axis(t)
        if ra is not None and rt is not None and rt[0] == ra[0]:
            t = fresh_tag(rt[0], rt[1], summed_against)
        out.append(t)
    return tuple(out)


def contract(x: Tensor, ax: int, y: Tensor, ay: int) -> Tensor:
    """Sum over ``x``'s axis ``ax`` against ``y``'s axis ``ay`` (factor by factor)."""
    dim = x.dims[ax]
    if dim != y.dims[ay]:
        raise ValueError(f"cannot contract {dim} with {y.dims[ay]}")
    dims = tuple(d for i, d in enumerate(x.dims) if i != ax) + \
        tuple(d for i, d in enumerate(y.dims) if i != ay)
    pieces = []
    for fx in x.factors:
        for fy in y.factors:
            prod = [a + b for a in fx.exp.raw_terms for b in fy.exp.raw_terms]
            for tags, gain in _pair(fx, ax, fy, ay, dim):
                pieces.append((tags, [t + gain for t in prod]))
    return _build(dims, pieces, x.domain or y.domain)


def outer(u: Tensor, v: Tensor) -> Tensor:
    """``u ⊗ v`` for vectors (the single-data-point gradient structure)."""
    if len(u.dims) != 1 or len(v.dims) != 1:
        raise ValueError("outer needs two vectors")
    pieces = ((a.tags + b.tags, [p + q for p in a.exp.raw_terms for q in b.exp.raw_terms])
              for a in u.factors for b in v.factors)
    return _build(u.dims + v.dims, pieces, u.domain or v.domain)


def sign(g: Tensor) -> Tensor:
    """Adam's normalised gradient (``sign`` at step 1): ``Θ(1)`` entries where ``g ≠ 0``."""
    return _build(g.dims, ((f.tags, ZERO.raw_terms) for f in g.factors), g.domain)
