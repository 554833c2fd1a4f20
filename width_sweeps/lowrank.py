"""The LoRA update added to a frozen output, `base + s·(x Aᵀ) Bᵀ`, as one op that vmap batches
well (docs/theory.md §2, Eq. 1).

`lowrank_add(base, x, A, B, s)` is a `torch.autograd.Function` with its own vmap rule.  Under
`torch.func.vmap` over runs (A: (R, r, in), B: (R, out, r) stacked, the input `x` and the frozen
output `base` usually shared by every run) the rule computes every run at once with two
matrix products on the stacked tensors, which autograd differentiates as usual:

* `A x` for all runs as one (R·r) × in by in × P product when `x` is shared (the runs' rows of A
  stacked), else one batched product;
* `base + s·(A x)ᵀ Bᵀ` as one `baddbmm` writing the (R, P, out) result once.

vmap's own rules for the same expression (`F.linear` twice, then `add`) expand the shared `x`
over the runs — the gradient of A then becomes a strided batched product, several times slower
on CPU — and write the (R, P, out) product twice (the product, then the sum).  Outside vmap the
Function's forward and backward are the plain formulas.  Under a single vmap level the rule is
applied directly through functorch's unwrap / wrap primitives (the Function's Python dispatch
costs more than the whole op at small widths); without them (another torch) the Function runs.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

__all__ = ["lowrank_add"]


class _LowRankAdd(torch.autograd.Function):
    """`base + s·(x Aᵀ) Bᵀ`: x (…, in), A (r, in), B (out, r), base (…, out)."""

    @staticmethod
    def forward(base: Tensor, x: Tensor, A: Tensor, B: Tensor, s: float) -> Tensor:
        x2 = x.reshape(-1, x.shape[-1])
        out = torch.addmm(base.reshape(-1, B.shape[0]), x2 @ A.T, B.T, alpha=s)
        return out.view(*x.shape[:-1], B.shape[0])

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: Tensor) -> None:
        _, x, A, B, s = inputs
        ctx.save_for_backward(x, A, B)
        ctx.s = s

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Tensor | None, ...]:
        x, A, B = ctx.saved_tensors
        x2, g2 = x.reshape(-1, x.shape[-1]), g.reshape(-1, B.shape[0])
        xa = x2 @ A.T
        gxa = ctx.s * (g2 @ B)                       # ∂/∂(x Aᵀ)
        grads = (g if ctx.needs_input_grad[0] else None,
                 (gxa @ A).view(x.shape) if ctx.needs_input_grad[1] else None,
                 gxa.T @ x2 if ctx.needs_input_grad[2] else None,
                 ctx.s * (g2.T @ xa) if ctx.needs_input_grad[3] else None)
        return (*grads, None)

    @staticmethod
    def vmap(info: Any, in_dims: tuple, base: Tensor, x: Tensor, A: Tensor, B: Tensor,
             s: float) -> tuple[Tensor, int]:
        return _stacked(info.batch_size, base, x, A, B, s, in_dims[:4]), 0


def _stacked(R: int, base: Tensor, x: Tensor, A: Tensor, B: Tensor, s: float,
             dims: tuple) -> Tensor:
    """Every run at once on the physical tensors (run dims `dims`, None: shared) → (R, …, out),
    with autograd recording the two products (module doc)."""
    bb, bx, bA, bB = dims
    A = A.movedim(bA, 0) if bA is not None else A.expand(R, *A.shape)
    B = B.movedim(bB, 0) if bB is not None else B.expand(R, *B.shape)
    r, n_in, n_out = A.shape[1], A.shape[2], B.shape[1]
    if bx is None:                                   # shared input: one (R·r) × P product
        lead = x.shape[:-1]
        xa = (A.reshape(R * r, n_in) @ x.reshape(-1, n_in).T).view(R, r, -1).mT
    else:
        x = x.movedim(bx, 0)
        lead = x.shape[1:-1]
        xa = x.reshape(R, -1, n_in) @ A.mT
    P = xa.shape[1]
    if bb is None:
        base = base.reshape(P, n_out).expand(R, P, n_out)
    else:
        base = base.movedim(bb, 0).reshape(R, P, n_out)
    # Bᵀ made contiguous (r × out per run, a small copy): the backward's `g B` then reads it
    # with unit stride along `out` — ~3× faster on CPU than through the (out, r) layout
    return torch.baddbmm(base, xa, B.mT.contiguous(), alpha=s).view(R, *lead, n_out)


_F = torch._C._functorch
_DIRECT = all(hasattr(_F, f) for f in ("maybe_get_level", "_unwrap_batched", "_add_batch_dim"))


def lowrank_add(base: Tensor, x: Tensor, A: Tensor, B: Tensor, s: float) -> Tensor:
    """`base + s·(x Aᵀ) Bᵀ` (module doc): x (…, in), A (r, in), B (out, r), base (…, out).

    Under one level of vmap with A and B batched, the vmap rule is applied directly — the
    operands unwrapped at that level, the result wrapped back, as the Function's vmap
    dispatch does — without the autograd.Function dispatch, whose Python machinery costs more
    than the op itself at small widths; elsewhere the Function runs."""
    if _DIRECT:
        level = _F.maybe_get_level(A)
        ops = (base, x, A, B)
        if level > 0 and all(_F.maybe_get_level(t) in (level, -1) for t in ops):
            (pb, bb), (px, bx), (pA, bA), (pB, bB) = (_F._unwrap_batched(t, level) for t in ops)
            if bA is not None and bB is not None:
                out = _stacked(pA.shape[bA], pb, px, pA, pB, s, (bb, bx, bA, bB))
                return _F._add_batch_dim(out, 0, level)
    return _LowRankAdd.apply(base, x, A, B, s)
