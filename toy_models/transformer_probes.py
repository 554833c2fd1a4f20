"""Diagnostics of the μP GPT's projections (the LoRA targets) on a batch, without LoRA.

* ``projection_inputs`` — the input ``z`` of every projection (``attn.c_attn``, ``attn.c_proj``,
  ``mlp.c_fc``, ``mlp.c_proj`` of each block): the single-LoRA-layer theory's premise is that
  ``z`` has Θ(1) entries at every width (docs/theory.md §2.1).  ``input_rms`` gives the RMS
  entry per sequence (the unit a bootstrap over the data resamples).
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

import numpy as np
import torch
from torch import Tensor, nn

__all__ = ["KINDS", "input_rms", "kind", "layer", "output_grad_tensors", "output_grads",
           "projection_inputs"]

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


def input_rms(model: nn.Module, input_ids: Tensor) -> dict[str, np.ndarray]:
    """{module name: RMS entry of its input, one value per sequence (batch,)}."""
    return {n: z.double().pow(2).mean((1, 2)).sqrt().cpu().numpy()
            for n, z in projection_inputs(model, input_ids).items()}


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
