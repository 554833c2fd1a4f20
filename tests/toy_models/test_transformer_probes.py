"""Projection inputs and backpropagated signals of the μP GPT (hooks), checked by hand."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

pytest.importorskip("transformers")

from toy_models.transformer import TransformerConfig, build
from toy_models.transformer_probes import (
    input_rms,
    kind,
    layer,
    output_grad_tensors,
    projection_inputs,
)

CFG = TransformerConfig(width=32, base_width=16, zero_query=False)
IDS = torch.randint(0, 256, (3, 12), generator=torch.Generator().manual_seed(0))


def test_names_and_kinds() -> None:
    assert kind("base_model.model.transformer.h.1.mlp.c_proj") == "mlp.c_proj"
    assert layer("transformer.h.0.attn.c_attn") == 0
    assert kind("transformer.h.0.attn.c_attn.lora_A") is None and kind("lm_head") is None


def test_inputs_match_a_hand_computed_first_layer_norm() -> None:
    model = build(CFG)
    z = projection_inputs(model, IDS)
    assert sorted(kind(n) for n in z) == sorted(["attn.c_attn", "attn.c_proj", "mlp.c_fc",
                                                  "mlp.c_proj"] * 2)
    tr = model.transformer
    with torch.no_grad():
        x = tr.wte.weight[IDS] + tr.wpe.weight[torch.arange(12)]
        x = (x - x.mean(-1, keepdim=True)) / (x.var(-1, unbiased=False, keepdim=True)
                                              + 1e-5).sqrt()
    torch.testing.assert_close(z["transformer.h.0.attn.c_attn"], x, rtol=1e-4, atol=1e-4)
    assert z["transformer.h.0.mlp.c_proj"].shape == (3, 12, 4 * 32)
    rms = input_rms(model, IDS)               # LayerNorm outputs with unit gain: RMS 1
    assert rms["transformer.h.1.mlp.c_fc"] == pytest.approx([1.0] * 3, abs=1e-3)


def test_output_gradients_agree_with_finite_differences() -> None:
    """⟨dL/dZ̄, u⟩ = (L(Z̄ + εu) − L(Z̄ − εu)) / 2ε for a random direction u (float64)."""
    model = build(CFG).double()
    name = "transformer.h.0.mlp.c_fc"
    g = output_grad_tensors(model, IDS)[name]
    u = torch.randn(g.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    module = dict(model.named_modules())[name]

    def loss_at(eps: float) -> float:
        h = module.register_forward_hook(lambda m, a, out: out + eps * u)
        try:
            with torch.no_grad():     # the mean next-byte loss, in float64 (HF's upcasts to 32)
                logits = model(input_ids=IDS).logits[:, :-1]
                return float(F.cross_entropy(logits.reshape(-1, 256), IDS[:, 1:].reshape(-1)))
        finally:
            h.remove()

    fd = (loss_at(1e-4) - loss_at(-1e-4)) / 2e-4
    assert float((g * u).sum()) == pytest.approx(fd, rel=1e-4)
    assert all(p.grad is None for p in model.parameters())          # left clean


def test_sign_alignment_is_adams_first_step(tmp_path, monkeypatch) -> None:
    """From Init[B], torch's own Adam moves A by −η sign(g_A) at step 1, so
    RMS(ΔA z) = η · fan_in · mean|z| · κ (the identity behind the diagnostic)."""
    pytest.importorskip("peft")
    from peft import LoraConfig, get_peft_model
    from peft.tuners.lora import LoraLayer

    from toy_models.transformer_probes import sign_alignment
    model = get_peft_model(build(CFG), LoraConfig(r=4, lora_alpha=4, fan_in_fan_out=True,
                                                  target_modules=["c_attn", "c_proj", "c_fc"]))
    inputs = {"input_ids": IDS, "labels": IDS}
    kappa = sign_alignment(model, inputs, seed=3)
    assert len(kappa) == 8 and all(0 < k <= 1 for k in kappa.values())
    z = {}
    layers = {n: m for n, m in model.named_modules() if isinstance(m, LoraLayer)}
    for n, m in layers.items():
        m.register_forward_pre_hook(lambda mod, args, n=n: z.__setitem__(n, args[0].detach()))
    A0 = {n: m.lora_A["default"].weight.detach().clone() for n, m in layers.items()}
    assert all(torch.all(a == 0) for a in A0.values())               # Init[B]: A = 0
    eta = 1e-3
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=eta)
    model(**inputs).loss.backward()
    opt.step()
    for n, m in layers.items():
        dA = m.lora_A["default"].weight.detach() - A0[n]
        zz = z[n].reshape(-1, dA.shape[1])
        rms = (zz @ dA.T).pow(2).mean().sqrt()
        want = eta * dA.shape[1] * zz.abs().mean() * kappa[n]
        assert float(rms) == pytest.approx(float(want), rel=1e-3), n
