"""Typed asymptotic quantities: tensors described by the exponents of their entries.

THEORY §1 (seed 000 Lemmas 1–2, LoRA+ Assumption 1). A vector or matrix is a sum of *factors*;
each factor has an entry exponent (an :class:`~gamma_calc.exponent.Exponent`) and, along every
axis that scales with the width ``n``, a *direction tag*. Contractions apply the rule of the
summed dimension:

* a **fixed** dimension (rank ``r``, input ``d``, classes ``k``): ``+0``;
* a **width** dimension with equal tags on both sides — the terms are **aligned** (correlated
  signs, e.g. ``g_A z`` with Adam's ``g_A = sign(·) ⊗ sign(z)``): ``+1``;
* a width dimension with different tags — independent, zero-mean (CLT, e.g. ``A_0 z`` with a
  random ``A_0``): ``+1/2``.

Tags: data vectors carry their own tag (``"z"``); a random matrix named ``M`` carries
``("M", axis)`` on each axis; an outer product ``u ⊗ v`` carries the tags of ``u`` and ``v``.
A contraction with a random matrix over a *fixed* axis leaves the result coherent with that
matrix (it keeps the tag ``("M", axis)``: ``W_out (W_outᵀ df)`` sums ``n`` squares, ``+1``), while
over a *width* axis the result is a fresh CLT direction ``("M~", axis)`` — contracting it with
``M`` again gives ``+1/2``, which is what the exact computation ``W Wᵀu ≈ nσ²u`` gives in terms of
the intermediate vector's own exponent. The zero tensor has no factors (exponent ``−∞``), so
zeros propagate exactly.

Adam's normalised update of a gradient ``G`` (:func:`sign`) has ``Θ(1)`` entries wherever ``G`` is
non-zero and the direction tags of ``G``'s factors. With several factors this is exact when one
factor dominates along each width axis (always the case for the single-data-point models here).
"""
from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from .exponent import NEG_INF, ZERO, Exponent, Lin

Tag = Hashable  # a direction label along a width axis (None on fixed axes)

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
    tags: tuple[Tag, ...]


@dataclass(frozen=True)
class Tensor:
    """A sum of factors over ``dims``; the entry exponent is the max over factors."""

    dims: tuple[Dim, ...]
    factors: tuple[Factor, ...] = ()

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

    def canonical(self) -> Tensor:
        """Merge factors with equal tags (max of exponents); drop ``−∞`` factors."""
        merged: dict[tuple, Exponent] = {}
        for f in self.factors:
            if f.exp.is_neg_inf:
                continue
            merged[f.tags] = merged[f.tags] | f.exp if f.tags in merged else f.exp
        facs = tuple(Factor(e, t) for t, e in sorted(merged.items(), key=lambda kv: repr(kv[0])))
        return Tensor(self.dims, facs)

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
        return Tensor(self.dims, self.factors + other.factors).canonical()

    def scale(self, e: Exponent | Lin | int) -> Tensor:
        """Multiply by a scalar of exponent ``e`` (a learning rate, the LoRA scale…)."""
        e = e if isinstance(e, Exponent) else Exponent.parse(e) if isinstance(e, str) \
            else Exponent.lin(e) if isinstance(e, Lin) else Exponent.const(e)
        return Tensor(self.dims, tuple(Factor(f.exp + e, f.tags) for f in self.factors)).canonical()

    @property
    def T(self) -> Tensor:
        if len(self.dims) != 2:
            raise ValueError("transpose needs a matrix")
        return Tensor(self.dims[::-1], tuple(Factor(f.exp, f.tags[::-1]) for f in self.factors))

    def __matmul__(self, other: Tensor) -> Tensor:
        """Contract the last axis of ``self`` with the first axis of ``other``."""
        return contract(self, len(self.dims) - 1, other, 0)


def _contraction_gain(dim: Dim, t1: Tag, t2: Tag) -> Exponent:
    if not dim.width:
        return ZERO
    return ONE if t1 == t2 else HALF


def _is_random_tag(t: Tag) -> bool:
    return isinstance(t, tuple) and len(t) == 2 and isinstance(t[0], str) \
        and not t[0].endswith("~")


def _result_tag(tags: tuple[Tag, ...], axis: int, contracted: Dim, aligned: bool) -> tuple:
    """Tags of the remaining axes. When a random matrix ``M`` is summed over a width axis
    without alignment, its other axes become a fresh CLT direction ``("M~", axis)``; an outer
    product ``u ⊗ v`` keeps ``u``'s direction whatever it is contracted with."""
    summed = tags[axis]
    fresh = contracted.width and not aligned and _is_random_tag(summed)
    out = []
    for i, t in enumerate(tags):
        if i == axis:
            continue
        if fresh and _is_random_tag(t) and t[0] == summed[0]:
            t = (t[0] + "~", t[1])
        out.append(t)
    return tuple(out)


def contract(x: Tensor, ax: int, y: Tensor, ay: int) -> Tensor:
    """Sum over ``x``'s axis ``ax`` against ``y``'s axis ``ay`` (factor by factor)."""
    dim = x.dims[ax]
    if dim != y.dims[ay]:
        raise ValueError(f"cannot contract {dim} with {y.dims[ay]}")
    dims = tuple(d for i, d in enumerate(x.dims) if i != ax) + \
        tuple(d for i, d in enumerate(y.dims) if i != ay)
    factors = []
    for fx in x.factors:
        for fy in y.factors:
            aligned = dim.width and fx.tags[ax] == fy.tags[ay]
            exp = fx.exp + fy.exp + _contraction_gain(dim, fx.tags[ax], fy.tags[ay])
            tags = _result_tag(fx.tags, ax, dim, aligned) + _result_tag(fy.tags, ay, dim, aligned)
            factors.append(Factor(exp, tags))
    return Tensor(dims, tuple(factors)).canonical()


def outer(u: Tensor, v: Tensor) -> Tensor:
    """``u ⊗ v`` for vectors (the single-data-point gradient structure)."""
    if len(u.dims) != 1 or len(v.dims) != 1:
        raise ValueError("outer needs two vectors")
    return Tensor(u.dims + v.dims, tuple(Factor(a.exp + b.exp, a.tags + b.tags)
                                         for a in u.factors for b in v.factors)).canonical()


def sign(g: Tensor) -> Tensor:
    """Adam's normalised gradient (``sign`` at step 1): ``Θ(1)`` entries where ``g ≠ 0``."""
    return Tensor(g.dims, tuple(Factor(ZERO, f.tags) for f in g.factors)).canonical()
