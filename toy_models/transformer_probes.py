"""Diagnostics of the μP GPT's projections (the LoRA targets) on a batch, without LoRA.

* ``projection_inputs`` — the input ``z`` of every projection (``attn.c_attn``, ``attn.c_proj``,
  ``mlp.c_fc``, ``mlp.c_proj`` of each block): the single-LoRA-layer theory's premise is that
  ``z`` has Θ(1) entries at every width (docs/theory.md §2.1).  ``input_rms`` gives the RMS
  entry per sequence (the unit a bootstrap over the data resamples).
* ``sign_alignment`` — κ, the coherence of Adam's first LoRA update ``sign(g_A)`` with z
  (LoRA+ Assumption 1, docs/theory.md §1.3): Θ(1) when ΔA·z is an aligned width sum.
* ``output_grads`` — the backpropagated signal ``dL/dZ̄`` at each projection's output, RMS
  entry (docs/theory.md §3.3: its exponent enters SGD's conditions; Adam's normalised update
  removes it unless ``|g|`` falls to Adam's ε).
Module names are those of ``GPT2LMHeadModel`` ("transformer.h.0.attn.c_attn"); ``kind`` maps
any name (peft's prefixes included) to its projection type.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

__all__ = ["KINDS", "input_rms", "input_stats", "kind", "layer", "output_grad_tensors",
           "output_grads", "projection_inputs", "sign_alignment"]

KINDS = {"attn.c_attn": "attention in (c_attn → q, k, v)",
         "attn.c_proj": "attention out (c_proj)",
         "mlp.c_fc": "MLP in (c_fc)",
         "mlp.c_proj": "MLP out (c_proj)"}
_NAME = re.compile(r"h\.(\d+)\.(attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)$")


def kind(name: str) -> str | None:
    """``attn.c_attn`` … ``mlp.c_proj`` for a projection's module name, else None."""
    m = _NAME.search(name)
    return m.group(2) if m else None


def layer(name: str) -> int | None:
    m = _NAME.search(name)
    return int(m.group(1)) if m else None


def _projections(model: nn.Module) -> dict[str, nn.Module]:
    return {n: m for n, m in model.named_modules() if kind(n) is not None}


@contextmanager
def _hooks(model: nn.Module, pre, post=None) -> Iterator[None]:
    handles = []
    for name, m in _projections(model).items():
        handles.append(m.register_forward_pre_hook(lambda mod, args, name=name: pre(name, args[0])))
        if post is not None:
            handles.append(m.register_forward_hook(
                lambda mod, args, out, name=name: post(name, out)))
    try:
        yield
    finally:
        for h in handles:
            h.remove()


@torch.no_grad()
def projection_inputs(model: nn.Module, input_ids: Tensor) -> dict[str, Tensor]:
    """{module name: its input (batch, seq, in)} on ``input_ids``."""
    found: dict[str, Tensor] = {}
    with _hooks(model, lambda name, x: found.__setitem__(name, x.detach())):
        model(input_ids=input_ids)
    return found


def input_stats(model: nn.Module, input_ids: Tensor) -> dict[str, dict[str, np.ndarray]]:
    """{module name: {"rms": RMS entry, "l1": mean |entry|} of its input, one value per
    sequence (batch,)}.  Adam's sign update contracts z like an L1 norm (Σ sign·z), so the
    aligned-sum rule needs mean |z| = Θ(1), which RMS z = Θ(1) implies only for a fixed shape
    of the entries' distribution."""
    return {n: {"rms": z.double().pow(2).mean((1, 2)).sqrt().cpu().numpy(),
                "l1": z.double().abs().mean((1, 2)).cpu().numpy()}
            for n, z in projection_inputs(model, input_ids).items()}


def input_rms(model: nn.Module, input_ids: Tensor) -> dict[str, np.ndarray]:
    """{module name: RMS entry of its input, one value per sequence (batch,)}."""
    return {n: v["rms"] for n, v in input_stats(model, input_ids).items()}


def sign_alignment(peft_model: nn.Module, inputs: dict[str, Tensor], seed: int
                   ) -> dict[str, float]:
    """κ per LoRA adapter at Adam's first step from Init[B] (A = 0, B ~ N(0, 1/r), seed
    ``seed``), where the update is exactly −η sign(g_A) (docs/theory.md §1.5):
    κ = RMS(sign(g_A) z) / (fan_in · mean |z|), z the adapter's input on ``inputs`` (the
    training batch).  ΔA·z = −η sign(g_A) z, so γ[ΔA z] = c + 1 + γ[mean |z|] + γ[κ]: the
    aligned-sum rule (LoRA+ Assumption 1) is γ[κ] = 0; an incoherent sign pattern gives −1/2."""
    from peft.tuners.lora import LoraLayer

    from .peft_bridge import apply_scheme
    apply_scheme(peft_model, "B", seed=seed)
    layers: dict[str, Any] = {n: m for n, m in peft_model.named_modules()
                              if isinstance(m, LoraLayer) and kind(n) is not None}
    zs: dict[str, Tensor] = {}
    handles = [m.register_forward_pre_hook(lambda mod, args, n=n: zs.__setitem__(n, args[0]))
               for n, m in layers.items()]
    try:
        with torch.enable_grad():
            peft_model(**inputs).loss.backward()
    finally:
        for h in handles:
            h.remove()
    out = {}
    for n, m in layers.items():
        A: Tensor = m.lora_A["default"].weight          # r × in
        assert A.grad is not None, n
        fan_in = int(A.shape[1])
        z = zs[n].detach().reshape(-1, fan_in).double()
        u = z @ torch.sign(A.grad.double()).T     # (tokens, r)
        out[n] = float(u.pow(2).mean().sqrt() / (fan_in * z.abs().mean()))
    peft_model.zero_grad(set_to_none=True)
    return out


def output_grad_tensors(model: nn.Module, input_ids: Tensor) -> dict[str, Tensor]:
    """{module name: dL/dZ̄ (batch, seq, out)} at each projection's output, L the mean
    next-byte loss (the model's own ``.loss``)."""
    outs: dict[str, Tensor] = {}

    def keep(name: str, out: Tensor) -> None:
        out.retain_grad()
        outs[name] = out

    with _hooks(model, lambda name, x: None, keep), torch.enable_grad():
        loss = model(input_ids=input_ids, labels=input_ids).loss
        loss.backward()
    model.zero_grad(set_to_none=True)
    return {n: o.grad.detach() for n, o in outs.items() if o.grad is not None}


def output_grads(model: nn.Module, input_ids: Tensor) -> dict[str, float]:
    """{module name: RMS entry of dL/dZ̄ at its output}."""
    return {n: float(g.double().pow(2).mean().sqrt())
            for n, g in output_grad_tensors(model, input_ids).items()}
