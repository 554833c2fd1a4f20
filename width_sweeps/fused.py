"""Hand-written forward/backward for models whose head is a known formula (toy, theory layer).

Both models put one LoRA layer on an input `x` shared by every run (the frozen prefix):

    Z̄ = xWᵀ + s·(x Aᵀ) Bᵀ  [− s·(x A₀ᵀ) B₀ᵀ for the subtracting schemes]
    toy:    logits = ReLU(Z̄) W_outᵀ,  loss = mean_b CE(logits, y)
    theory: loss = ½ Σ_out (Z̄ − y)², mean over the batch

so the gradient is written out once instead of recorded by autograd:

    dZ̄ = (softmax − onehot) W_out ⊙ [Z̄ > 0] / b   (toy)      dZ̄ = (Z̄ − y) / b   (theory)
    ∇B = s·dZ̄ᵀ (x Aᵀ),   ∇A = s·(B ᵀ dZ̄ᵀ) x

What this buys on a CPU (benchmarks/RESULTS.md): `x Aᵀ` for all runs is ONE matrix product
(`A.reshape(R·r, n) @ xᵀ`, no per-run copy of the shared x), so is `∇A` (`(R·r, b) @ x`); the
per-run products are batched matmuls on persistent buffers reused every step (no fresh
activation-sized temporaries, which cost page faults here), ReLU and its backward are in place,
the 10-class head runs as `W_out @ Zᵀ` (MKL is ~2× faster in that orientation than `Z @ W_outᵀ`
for 10 columns), and the scale s is folded into dZ̄.  Each head object owns the buffers of one
block of runs; the engine makes one per block.  Equality with autograd (and with the reference
loop) in float64 is tested (tests/width_sweeps/test_fused.py, test_engine.py).
"""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from .probes import rms

Params = dict[str, Tensor]


def for_model(model: Any) -> type[LoRAHead] | None:
    """The fused head class for a bound model (width_sweeps.adapters.Bound), or None."""
    inner = getattr(model, "model", None)
    if inner is None:
        return None
    from toy_models.theory import TheoryLayer
    from toy_models.toy import ToyModel

    from .adapters import ImplicitTheory
    if isinstance(inner, ToyModel):
        return ToyHead
    if isinstance(inner, (TheoryLayer, ImplicitTheory)):
        return TheoryHead
    return None


class LoRAHead:
    """Common part: the LoRA layer `W` on a shared input and the backward through it.

    Subclasses give `_x(pre)` (the prefix's x and xWᵀ) and `_out(Z, y, backward, tag)`: the
    loss (R,) and, when `backward`, `dZ = s·dZ̄` (R, b, out) in a buffer (Z's own when the head
    no longer needs Z)."""

    layer = "W"

    def __init__(self, model: Any, R: int) -> None:
        self.model, self.R, self.s = model, R, float(model.scale)
        self._bufs: dict[tuple, Tensor] = {}

    # -- buffers ---------------------------------------------------------------------------
    def buf(self, name: str, shape: tuple[int, ...], like: Tensor) -> Tensor:
        """A persistent buffer (allocated once per name and shape)."""
        key = (name, shape, like.dtype, like.device)
        b = self._bufs.get(key)
        if b is None:
            b = self._bufs[key] = torch.empty(shape, dtype=like.dtype, device=like.device)
        return b

    # -- the LoRA layer --------------------------------------------------------------------
    @staticmethod
    def xa(x: Tensor, A: Tensor, out: Tensor) -> Tensor:
        """`x Aᵀ` of every run as one matrix product: (R, b, r) view of `out: (R·r, b)`."""
        R, r, n = A.shape
        torch.mm(A.reshape(R * r, n), x.T, out=out)
        return out.view(R, r, x.shape[0]).transpose(1, 2)

    def zbar(self, x: Tensor, xW: Tensor, P: Params, tag: str, zb_from: int | None = None,
             XA: Tensor | None = None,
             XA0: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor | None]:
        """Z̄ (R, b, out) in a persistent buffer, `x Aᵀ` (R, b, r) and, when `zb_from` is a
        row index, Z_B = RMS(s·(xAᵀ)Bᵀ) over the rows from there on (the probe rows; the
        subtracted s·B₀A₀x is not part of Z_B).  `XA`, `XA0`: `x Aᵀ`, `x A₀ᵀ` when already
        computed (test evaluation: over larger row blocks)."""
        A, B = P[f"{self.layer}.A"], P[f"{self.layer}.B"]
        R, r, _ = A.shape
        b, out = x.shape[0], B.shape[1]
        if XA is None:
            XA = self.xa(x, A, self.buf(tag + "XAt", (R * r, b), A))
        Z = self.buf(tag + "Z", (R, b, out), A)
        torch.bmm(XA, B.transpose(1, 2), out=Z)
        zb = None
        if zb_from is not None:
            zb = rms(Z[:, zb_from:]) * self.s
        if self.s != 1.0:
            Z.mul_(self.s)
        Z.add_(xW)                      # xWᵀ + s·(xAᵀ)Bᵀ, the reference's order
        A0 = P.get(f"{self.layer}.A0")
        if A0 is not None:
            if XA0 is None:
                XA0 = self.xa(x, A0, self.buf(tag + "XA0t", (R * r, b), A))
            Z.baddbmm_(XA0, P[f"{self.layer}.B0"].transpose(1, 2), alpha=-self.s)
        return Z, XA, zb

    def backward(self, x: Tensor, XA: Tensor, dZ: Tensor, P: Params,
                 want_gn: bool) -> tuple[Params, Tensor | None]:
        """Gradients of A, B from `dZ = s·dZ̄` (R, b, out); `grad_nu = ν[dZ̄ᵀx]` from b×b Gram
        matrices when `want_gn`."""
        A, B = P[f"{self.layer}.A"], P[f"{self.layer}.B"]
        R, r, n = A.shape
        b = x.shape[0]
        gn = None
        if want_gn:
            gd = torch.bmm(dZ, dZ.transpose(1, 2))
            gz = x @ x.T
            gn = (gd * gz).sum((1, 2)) / (self.s * self.s * dZ.shape[2] * x.shape[1])
        gB = self.buf("gB", tuple(B.shape), B)
        torch.bmm(dZ.transpose(1, 2), XA, out=gB)
        dXAt = self.buf("dXAt", (R, r, b), A)
        torch.bmm(B.transpose(1, 2), dZ.transpose(1, 2), out=dXAt)
        gA = self.buf("gA", tuple(A.shape), A)
        torch.mm(dXAt.view(R * r, b), x, out=gA.view(R * r, n))
        return {f"{self.layer}.A": gA, f"{self.layer}.B": gB}, gn

    # -- what the engine calls -------------------------------------------------------------
    def _x(self, pre: Any) -> tuple[Tensor, Tensor]:
        raise NotImplementedError

    def _out(self, Z: Tensor, y: Tensor, yp: Tensor | None, backward: bool,
             tag: str) -> tuple[Tensor, Tensor | None, Tensor | None]:
        """(loss (R,) of the first len(y) rows, loss of the remaining rows against `yp` or
        None, dZ = s·dZ̄ (R, len(y), out) of the first rows when `backward`)."""
        raise NotImplementedError

    def train(self, pre: Any, P: Params, y: Tensor, want_gn: bool, yp: Tensor | None = None,
              want_probe: bool = False) -> tuple[Tensor, Params, Tensor | None, tuple | None]:
        """One training step's forward and backward.  With `yp`, the prefix's last len(yp)
        rows are the probe batch: its forward under the same parameters rides along (one set
        of larger matrix products instead of two) and comes back as the `probe` tuple.

        Returns (loss (R,), gradients of the trained factors, grad_nu or None, probe)."""
        x, xW = self._x(pre)
        b = y.shape[0]
        Z, XA, zb = self.zbar(x, xW, P, "t", zb_from=b if want_probe else None)
        loss, lp, dZ = self._out(Z, y, yp, True, "t")
        assert dZ is not None, "_out returns dZ when backward"
        grads, gn = self.backward(x[:b], XA[:, :b], dZ, P, want_gn)
        probe = None
        if yp is not None:
            probe = (lp, x[b:], XA[:, b:] if want_probe else None, zb)
        return loss, grads, gn, probe

    def probe(self, pre: Any, P: Params, y: Tensor,
              want: bool) -> tuple[Tensor, Tensor, Tensor | None, Tensor | None]:
        """(loss (R,), the layer input z (shared), and when `want`: z Aᵀ (R, P, r), Z_B (R,))."""
        x, xW = self._x(pre)
        Z, XA, zb = self.zbar(x, xW, P, "p", zb_from=0 if want else None)
        loss, _, _ = self._out(Z, y, None, False, "p")
        return loss, x, (XA if want else None), zb


class ToyHead(LoRAHead):
    """toy_models.toy.ToyModel: Z̄ = hWᵀ + s(hAᵀ)Bᵀ, logits = ReLU(Z̄) W_outᵀ, CE."""

    def _x(self, pre: Any) -> tuple[Tensor, Tensor]:
        return pre.h, pre.hW

    def _logits_t(self, Z: Tensor, tag: str) -> Tensor:
        """ReLU in place, then the logits transposed: (K, R·b) = W_out · ReLU(Z̄)ᵀ."""
        Z.clamp_(min=0)
        W = self.model.frozen.W_out
        R, b, n = Z.shape
        lt = self.buf(tag + "logits", (W.shape[0], R * b), Z)
        torch.mm(W, Z.view(R * b, n).T, out=lt)
        return lt

    @staticmethod
    def _ce(lt: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        """Mean cross-entropy per run from transposed logits `lt` (K, R, m); also the
        log-sum-exp (1, R, m)."""
        lse = torch.logsumexp(lt, 0, keepdim=True)
        idx = y.view(1, 1, -1).expand(1, lt.shape[1], -1)
        return (lse - lt.gather(0, idx))[0].mean(1), lse

    def _out(self, Z: Tensor, y: Tensor, yp: Tensor | None, backward: bool,
             tag: str) -> tuple[Tensor, Tensor | None, Tensor | None]:
        R, rows, n = Z.shape
        b = y.shape[0]
        W = self.model.frozen.W_out
        lt = self._logits_t(Z, tag).view(W.shape[0], R, rows)
        loss, lse = self._ce(lt[:, :, :b], y)
        lp = self._ce(lt[:, :, b:], yp)[0] if yp is not None else None
        if not backward:
            return loss, lp, None
        # dZ = s·dZ̄ = s/b · (softmax − onehot) W_out ⊙ [Z̄ > 0]   (Z holds ReLU(Z̄) here)
        p = (lt[:, :, :b] - lse).exp_()
        p.scatter_add_(0, y.view(1, 1, -1).expand(1, R, b),
                       torch.full((1, R, b), -1.0, dtype=p.dtype, device=p.device))
        p = p.mul_(self.s / b).permute(1, 2, 0).reshape(R * b, -1)
        dZ = self.buf(tag + "dZ", (R, b, n), Z)
        torch.mm(p, W, out=dZ.view(R * b, n))
        torch.ops.aten.threshold_backward.grad_input(dZ, Z[:, :b], 0.0, grad_input=dZ)
        return loss, lp, dZ

    @torch.no_grad()
    def evaluate(self, blocks: Any, P: Params, n_total: int,
                 budget: int = 8 << 20) -> dict[str, Tensor]:
        """Test loss and accuracy per run over (prefix, y) blocks.  `x Aᵀ` is one matrix
        product per block (N = block rows, efficient); Z̄ and the head run in row chunks sized
        so one (runs × rows × width) activation stays under `budget` bytes (cache-sized)."""
        A = P[f"{self.layer}.A"]
        A0 = P.get(f"{self.layer}.A0")
        R, r, _ = A.shape
        tot = torch.zeros(R, dtype=A.dtype, device=A.device)
        correct = torch.zeros(R, dtype=A.dtype, device=A.device)
        for pre, y in blocks:
            x, xW = self._x(pre)
            nb = x.shape[0]
            XAt = self.buf("eXAt", (R * r, nb), A)
            self.xa(x, A, XAt)
            XA0t = None
            if A0 is not None:
                XA0t = self.buf("eXA0t", (R * r, nb), A)
                self.xa(x, A0, XA0t)
            rows = int(max(8, budget // (R * xW.shape[1] * A.element_size())))
            for j in range(0, nb, rows):
                e = min(j + rows, nb)
                XA = XAt[:, j:e].view(R, r, e - j).transpose(1, 2)
                XA0 = (None if XA0t is None
                       else XA0t[:, j:e].view(R, r, e - j).transpose(1, 2))
                Z, _, _ = self.zbar(x[j:e], xW[j:e], P, f"e{e - j}", XA=XA, XA0=XA0)
                lt = self._logits_t(Z, f"e{e - j}")
                yr = y[j:e].repeat(R).view(1, -1)
                lse = torch.logsumexp(lt, 0, keepdim=True)
                tot += (lse - lt.gather(0, yr)).view(R, e - j).sum(1)
                correct += (lt.argmax(0) == yr[0]).view(R, e - j).to(A.dtype).sum(1)
        return {"test_loss": tot / n_total, "test_acc": correct / n_total}


class TheoryHead(LoRAHead):
    """toy_models.theory.TheoryLayer (dense or implicit W): loss ½Σ(Z̄ − y)², batch mean."""

    def _x(self, pre: Any) -> tuple[Tensor, Tensor]:
        return pre.z, pre.Wz

    def _out(self, Z: Tensor, y: Tensor, yp: Tensor | None, backward: bool,
             tag: str) -> tuple[Tensor, Tensor | None, Tensor | None]:
        b = y.shape[0]
        Z.sub_(y if yp is None else torch.cat([y, yp]))
        half_sq = 0.5 * torch.linalg.vector_norm(Z, dim=-1).square()       # (R, rows)
        loss = half_sq[:, :b].mean(-1)
        lp = half_sq[:, b:].mean(-1) if yp is not None else None
        if not backward:
            return loss, lp, None
        return loss, lp, Z[:, :b].mul_(self.s / b)     # dZ = s·dZ̄ = s(Z̄ − y)/b, in place


__all__ = ["LoRAHead", "TheoryHead", "ToyHead", "for_model"]
