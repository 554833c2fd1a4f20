"""Carry a registry init scheme to a Hugging Face `peft` LoRA model (optional extra
`gammakit[peft]`; tested with peft 0.21.2, transformers 5.23.0).

    model = get_peft_model(base, LoraConfig(r=8, lora_alpha=16, target_modules=[...]))
    apply_scheme(model, "AB", seed=0)   # every LoRA layer of the adapter, in module order

For each peft LoRA layer the base weight W (out × in; transposed for `fan_in_fan_out`
layers such as GPT-2's Conv1D) is handed to `get_init(name).init`, the factors are copied
into `lora_A` (r × in) and `lora_B` (out × r), and subtracting schemes replace the base weight
by W − s·B₀A₀ with peft's own scale s (`module.scaling`, α/r or α/√r), so the model starts
from W exactly.  Layer k is drawn from seed `seed + k` (our run-generator streams).  Apply a
scheme once, to a freshly wrapped model: a subtracting scheme rewrites the base weights, so a
second call would start from the residual.
"""
from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .base import run_generator
from .inits import get_init

__all__ = ["apply_scheme", "original_base", "save_for_original_base", "tiny_causal_lm"]


def _lora_layers(model: nn.Module, adapter: str) -> list[tuple[str, Any]]:
    from peft.tuners.lora import LoraLayer
    return [(name, m) for name, m in model.named_modules()
            if isinstance(m, LoraLayer) and adapter in m.lora_A]


@torch.no_grad()
def apply_scheme(model: nn.Module, scheme: str, *, seed: int = 0, init_scale: float = 1.0,
                 adapter: str = "default") -> dict[str, dict]:
    """Initialise every LoRA layer of `adapter` with registry scheme `scheme`; returns, per
    layer name, its shape, rank, scale and whether W was replaced by the residual."""
    sch = get_init(scheme)
    layers = _lora_layers(model, adapter)
    if not layers:
        raise ValueError(f"no peft LoRA layer with adapter {adapter!r} in the model")
    report = {}
    for k, (name, mod) in enumerate(layers):
        base = mod.get_base_layer()
        flip = bool(getattr(mod, "fan_in_fan_out", False))
        W = base.weight.T if flip else base.weight
        s = float(mod.scaling[adapter])
        ini = sch.init(W.float(), mod.r[adapter], generator=run_generator(seed + k),
                       init_scale=init_scale)
        A_mod, B_mod = mod.lora_A[adapter].weight, mod.lora_B[adapter].weight
        A_mod.copy_(ini.A.to(A_mod))
        B_mod.copy_(ini.B.to(B_mod))
        if sch.subtract:
            resid = W.float() - s * (ini.B @ ini.A)
            base.weight.copy_((resid.T if flip else resid).to(base.weight))
            init = getattr(mod, "gammakit_init", {})
            init[adapter] = (ini.A.clone(), ini.B.clone(), s)
            mod.gammakit_init = init
        report[name] = {"out": W.shape[0], "in": W.shape[1], "r": mod.r[adapter], "scale": s,
                        "subtracted": sch.subtract}
    return report


def _subtracted(model: nn.Module, adapter: str) -> list[tuple[str, Any, tuple]]:
    return [(name, m, m.gammakit_init[adapter]) for name, m in _lora_layers(model, adapter)
            if adapter in getattr(m, "gammakit_init", {})]


@contextmanager
def original_base(model: Any, adapter: str = "default") -> Iterator[nn.Module]:
    """The pretrained function: base weights W = residual + s·B₀A₀ restored and adapters off
    for the duration (a subtracting scheme left W − s·B₀A₀ in the base layers)."""
    saved = []
    with torch.no_grad():
        for _, m, (A0, B0, s) in _subtracted(model, adapter):
            base = m.get_base_layer()
            saved.append((base, base.weight.detach().clone()))
            d = s * (B0 @ A0)
            base.weight.add_((d.T if m.fan_in_fan_out else d).to(base.weight))
    try:
        with model.disable_adapter():
            yield model
    finally:
        with torch.no_grad():
            for base, w in saved:
                base.weight.copy_(w)


def save_for_original_base(model: Any, path: str | Path, adapter: str = "default") -> Path:
    """Write an adapter that reproduces the trained model on the ORIGINAL base (module doc):
    rank 2r, [B, B₀]·[A; −A₀] for layers whose scheme subtracted (zero-padded elsewhere)."""
    import copy

    from peft.utils import get_peft_model_state_dict
    from safetensors.torch import save_file
    cfg = copy.deepcopy(model.peft_config[adapter])
    if cfg.rank_pattern or cfg.alpha_pattern:
        raise ValueError("save_for_original_base: rank_pattern / alpha_pattern are not supported")
    sd = get_peft_model_state_dict(model, adapter_name=adapter)
    init = {name: i for name, _, i in _subtracted(model, adapter)}
    for name, m in _lora_layers(model, adapter):
        ka, kb = f"{name}.lora_A.weight", f"{name}.lora_B.weight"
        A, B = sd[ka], sd[kb]
        A0, B0 = (init[name][0], init[name][1]) if name in init else (
            torch.zeros_like(A), torch.zeros_like(B))
        sd[ka] = torch.cat([A, -A0.to(A)], 0).contiguous()
        sd[kb] = torch.cat([B, B0.to(B)], 1).contiguous()
    cfg.r = 2 * cfg.r
    cfg.lora_alpha = cfg.lora_alpha * (math.sqrt(2) if cfg.use_rslora else 2)
    cfg.init_lora_weights = True
    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    cfg.save_pretrained(str(out))
    save_file(sd, str(out / "adapter_model.safetensors"))
    return out


def tiny_causal_lm(*, hidden: int = 32, layers: int = 2, heads: int = 4, vocab: int = 96,
                   seed: int = 0) -> nn.Module:
    """A tiny randomly initialised Llama-style causal LM built from a config (no download)."""
    from transformers import LlamaConfig, LlamaForCausalLM
    cfg = LlamaConfig(vocab_size=vocab, hidden_size=hidden, intermediate_size=2 * hidden,
                      num_hidden_layers=layers, num_attention_heads=heads,
                      num_key_value_heads=heads, max_position_embeddings=64)
    with torch.random.fork_rng(devices=[]):  # HF draws from the global RNG: keep it untouched
        torch.manual_seed(seed)
        return LlamaForCausalLM(cfg).eval()
