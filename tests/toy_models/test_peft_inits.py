"""The entry exponents declared for peft's `init_lora_weights` values (gamma_calc.peft) against
peft itself: LoRA on an n × n layer with a Kaiming-like W at several widths, slope of the RMS
entry of A and B in log n (tolerance 0.1).  Independent of gammakit's draws: peft draws."""
import math

import numpy as np
import pytest
import torch
from torch import nn

from gamma_calc.peft import PEFT

peft = pytest.importorskip("peft")

NS = [64, 256, 1024]


def _lora(n, init, r=4):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(n)
        m = nn.Sequential(nn.Linear(n, n, bias=False))
        with torch.no_grad():
            m[0].weight.normal_(0, 1 / math.sqrt(n))
        pm = peft.get_peft_model(m, peft.LoraConfig(r=r, lora_alpha=r, target_modules=["0"],
                                                    init_lora_weights=init))
    lay = pm.base_model.model[0]
    return pm, lay.lora_A["default"].weight.detach(), lay.lora_B["default"].weight.detach()


def _check(value, rms_a, rms_b):
    for factor, rms in (("A", rms_a), ("B", rms_b)):
        declared = getattr(PEFT[value], factor)
        if declared.is_zero:
            assert max(rms) == 0.0, (value, factor)
            continue
        slope = float(np.polyfit(np.log(NS), np.log(rms), 1)[0])
        assert abs(slope - float(declared.entry.value())) < 0.1, (value, factor, slope)


def _rms(t):
    return float(t.pow(2).mean().sqrt())


@pytest.mark.parametrize("value, init", [("True", True), ("False", False),
                                         ("gaussian", "gaussian"), ("orthogonal", "orthogonal"),
                                         ("pissa", "pissa"), ("pissa_niter_<k>", "pissa_niter_4"),
                                         ("olora", "olora"), ("mica", "mica")])
def test_declared_entries_match_peft_draws(value, init):
    ra, rb = [], []
    for n in NS:
        _, A, B = _lora(n, init)
        ra.append(_rms(A))
        rb.append(_rms(B))
    _check(value, ra, rb)


def test_eva_entries_and_alignment():
    """EVA's A rows are principal directions of the layer's inputs: entries n^-1/2 (unit rows)
    and A₀z grows with n (aligned; a random A₀ of the same entries gives A₀z = Θ(1))."""
    from peft import EvaConfig, initialize_lora_eva_weights
    ra, rb, raz = [], [], []
    for n in NS:
        g = torch.Generator().manual_seed(n)
        X = torch.randn(64, n, generator=g) + 1.0           # Θ(1) entries, a common direction
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(n)
            m = nn.Sequential(nn.Linear(n, n, bias=False))
            pm = peft.get_peft_model(m, peft.LoraConfig(
                r=4, lora_alpha=4, target_modules=["0"], init_lora_weights="eva",
                eva_config=EvaConfig(rho=1.0)))
            initialize_lora_eva_weights(
                pm, dataloader=[{"x": X[i:i + 16]} for i in range(0, 64, 16)],
                forward_fn=lambda model, inputs: model(inputs["x"]),
                prepare_model_inputs_fn=None, prepare_layer_inputs_fn=None, show_progress_bar=False)
        lay = pm.base_model.model[0]
        A, B = lay.lora_A["default"].weight.detach(), lay.lora_B["default"].weight.detach()
        ra.append(_rms(A))
        rb.append(_rms(B))
        raz.append(_rms(X @ A.T))
    _check("eva", ra, rb)
    assert PEFT["eva"].A.kind == "aligned"
    assert float(np.polyfit(np.log(NS), np.log(raz), 1)[0]) > 0.2
