"""Find the LoRA adapters of any `nn.Module` and swap in probed, run-stackable ones.

An *adapter* is a frozen base map plus a low-rank update (docs/theory.md §2, Eq. 1)

    z̄ = base(z) + s·(B A − B₀A₀) z,        A: r × in,  B: out × r,  s = α/r (or α/√r),

where the `B₀A₀` term is present only for init schemes that subtract their initial product from
W (it is kept here as a per-run constant instead of rewriting the shared W).  Recognised:

* Hugging Face peft `LoraLayer`s — `lora.Linear` over `nn.Linear` or GPT-2's `Conv1D`
  (`fan_in_fan_out`; W is stored in × out there and read transposed) and `lora.Embedding`
  (A: r × vocab, so `A z` is a column lookup);
* `toy_models.lora.LoRALinear`.

`wrap` replaces each adapter in its parent by a `ProbedAdapter` holding the same base module and
parameters `A`, `B` (buffers `A0`, `B0`), whose forward is the formula above — peft's forward for
one active adapter with no dropout, DoRA or LoRA bias (those are refused with a one-line error);
under vmap over runs a linear adapter whose W is kept is one op with its own vmap rule
(`width_sweeps.lowrank`).  The forward records its input `z` into a tap dict.
`memoize_frozen` makes every frozen leaf module (the adapters' bases included) reuse its output
while its input is the same for every run and repeats exactly (the frozen layers below the
first adapter, on a batch reused every step): one frozen base per width, computed once per
distinct input.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .lowrank import lowrank_add

__all__ = ["Adapter", "AdapterError", "ProbedAdapter", "a_times_z", "find_adapters",
           "memoize_frozen", "wrap"]


class AdapterError(ValueError):
    """A model whose adapters cannot be probed (one-line message naming the module)."""


@dataclass
class Adapter:
    """One LoRA adapter of a model: where it is, its shapes, scale and frozen base.

    `W()` is the base weight as out × in (what W-derived init schemes read); `kind` is
    "linear" (z is a feature vector) or "embedding" (z is a token index)."""

    name: str
    kind: str
    base: nn.Module
    A: Tensor
    B: Tensor
    scale: float
    weight: Callable[[], Tensor]
    padding_idx: int | None = None

    @property
    def r(self) -> int:
        return int(self.A.shape[0])

    @property
    def in_features(self) -> int:
        return int(self.A.shape[1])

    @property
    def out_features(self) -> int:
        return int(self.B.shape[0])


class _FrozenLinear(nn.Module):
    """`x Wᵀ` with W (out × in) as a buffer: the base of a toy_models `LoRALinear`."""

    def __init__(self, weight: Tensor) -> None:
        super().__init__()
        self.register_buffer("weight", weight)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, cast(Tensor, self.weight))


def _same(W: Tensor) -> Tensor:
    return W


def _peft_adapter(name: str, m: Any) -> Adapter:
    from peft.tuners import lora
    active = [a for a in m.active_adapters if a in m.lora_A or a in m.lora_embedding_A]
    if len(active) != 1:
        raise AdapterError(f"module {name!r}: {len(active)} active LoRA adapters (need one)")
    a = active[0]
    if m.merged:
        raise AdapterError(f"module {name!r}: adapter {a!r} is merged into the base weight")
    if m.use_dora.get(a) or m.lora_bias.get(a) or a in getattr(m, "lora_variant", {}):
        raise AdapterError(f"module {name!r}: DoRA, LoRA bias and LoRA variants are not probed")
    base = m.get_base_layer()
    s = float(m.scaling[a])
    if isinstance(m, lora.Embedding):
        if m._get_embed_scale() is not None:
            raise AdapterError(f"module {name!r}: scaled embeddings are not probed")
        return Adapter(name, "embedding", base, m.lora_embedding_A[a], m.lora_embedding_B[a], s,
                       lambda: base.weight.T, base.padding_idx)
    if type(m) is not lora.Linear:
        raise AdapterError(f"module {name!r}: peft {type(m).__name__} adapters are not probed "
                           "(Linear, Conv1D and Embedding are)")
    flip = bool(m.fan_in_fan_out)
    return Adapter(name, "linear", base, cast(Tensor, m.lora_A[a].weight),
                   cast(Tensor, m.lora_B[a].weight), s,
                   lambda: base.weight.T if flip else base.weight)


def find_adapters(model: nn.Module) -> list[Adapter]:
    """Every LoRA adapter of `model`, in `named_modules` order (an error if there is none)."""
    from toy_models.lora import LoRALinear
    peft_layers: tuple[type, ...] = ()
    try:
        from peft.tuners.lora import LoraLayer
        peft_layers = (LoraLayer,)
    except ImportError:                       # peft is optional
        pass
    found = []
    for name, m in model.named_modules():
        if isinstance(m, LoRALinear):
            W = cast(Tensor, m.weight)
            found.append(Adapter(name, "linear", _FrozenLinear(W), m.A, m.B, m.scale,
                                 partial(_same, W)))
        elif peft_layers and isinstance(m, peft_layers):
            found.append(_peft_adapter(name, m))
    if not found:
        raise AdapterError("model: no LoRA adapter found (peft LoraLayer or "
                           "toy_models.lora.LoRALinear)")
    return found


def _is_batched(x: Tensor) -> bool:
    """True inside `torch.func.vmap` when `x` carries the run dimension."""
    probe = getattr(torch._C._functorch, "is_batchedtensor", None)
    return True if probe is None else bool(probe(x))


def a_times_z(kind: str, z: Tensor, A: Tensor) -> Tensor:
    """`A z` for every run: `z` (P, in) shared or (R, P, in) (embedding: indices (P,) or
    (R, P)), `A` (R, r, in) → (R, P, r)."""
    if kind == "embedding":
        if z.dim() == 1:
            return A[:, :, z].transpose(1, 2)
        idx = z.unsqueeze(1).expand(-1, A.shape[1], -1)
        return torch.gather(A, 2, idx).transpose(1, 2)
    if z.dim() == 2:
        R, r, n = A.shape
        return (A.reshape(R * r, n) @ z.T).view(R, r, z.shape[0]).transpose(1, 2)
    return torch.matmul(z, A.transpose(1, 2))


class ProbedAdapter(nn.Module):
    """`base(z) + s·(B A − B₀A₀) z` with its input recorded in `taps[name]` (module doc)."""

    def __init__(self, ad: Adapter) -> None:
        super().__init__()
        self.name, self.kind, self.scale = ad.name, ad.kind, ad.scale
        self.padding_idx = ad.padding_idx
        self.base = ad.base
        self.weight_fn = ad.weight
        self.A = nn.Parameter(ad.A.detach().clone(), requires_grad=False)
        self.B = nn.Parameter(ad.B.detach().clone(), requires_grad=False)
        self.register_buffer("A0", torch.zeros_like(self.A))
        self.register_buffer("B0", torch.zeros_like(self.B))
        self.subtract = False                 # set when some run's scheme rewrites W
        self.taps: dict[str, Tensor] | None = None

    def _low_rank(self, x: Tensor, A: Tensor, B: Tensor) -> Tensor:
        if self.kind == "embedding":
            return F.embedding(x, A.T, padding_idx=self.padding_idx) @ B.T
        return F.linear(F.linear(x.to(A.dtype), A), B)

    def forward(self, x: Tensor) -> Tensor:
        if self.taps is not None:
            self.taps[self.name] = x
        if self.kind == "linear" and not self.subtract and _is_batched(self.A):
            # under vmap over runs: one op with its own vmap rule (width_sweeps.lowrank)
            return lowrank_add(self.base(x), x.to(self.A.dtype), self.A, self.B, self.scale)
        d = self._low_rank(x, self.A, self.B)
        if self.subtract:
            d = d - self._low_rank(x, cast(Tensor, self.A0), cast(Tensor, self.B0))
        return torch.add(self.base(x), d, alpha=self.scale)


class _Memo:
    """A frozen leaf's forward, its output reused while a run-independent input (not batched
    by vmap, not requiring grad) repeats exactly: the very tensor it was computed from, not
    modified since (same object, same version counter), or equal values bit for bit
    (`torch.equal` against a copy)."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.last: tuple[Tensor, int, Tensor, Tensor] | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        x = args[0] if len(args) == 1 and not kwargs else None
        if not isinstance(x, Tensor) or x.requires_grad or _is_batched(x):
            return self.fn(*args, **kwargs)
        c = self.last
        if c is not None and ((c[0] is x and c[1] == x._version) or (
                c[2].shape == x.shape and c[2].dtype == x.dtype and torch.equal(c[2], x))):
            return c[3]
        out = self.fn(x)
        if isinstance(out, Tensor) and not out.requires_grad and not _is_batched(out):
            self.last = (x, x._version, x.detach().clone(), out)
        return out


def memoize_frozen(model: nn.Module) -> list[nn.Module]:
    """Give every frozen leaf module with weights a memoised forward (module doc); returns them
    (`unmemoize` restores their forwards)."""
    done = []
    for m in model.modules():
        if next(m.children(), None) is not None or isinstance(m.forward, _Memo):
            continue
        tensors = [*m.parameters(recurse=False), *m.buffers(recurse=False)]
        if tensors and not any(t.requires_grad for t in m.parameters(recurse=False)):
            m.forward = _Memo(m.forward)      # type: ignore[method-assign]
            done.append(m)
    return done


def unmemoize(modules: list[nn.Module]) -> None:
    for m in modules:
        if isinstance(m.forward, _Memo):
            del m.forward


def wrap(model: nn.Module, adapters: list[Adapter]) -> dict[str, ProbedAdapter]:
    """Replace each adapter module of `model` (in place) by its `ProbedAdapter`."""
    out = {}
    for ad in adapters:
        parent_name, _, child = ad.name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        if not child:
            raise AdapterError("model: the model itself is an adapter; wrap it in a module")
        out[ad.name] = ProbedAdapter(ad)
        setattr(parent, child, out[ad.name])
    return out
