"""LoRAM's 5-layer MLP: Prop. 1 reparametrisations (float64), the Linear baseline, runs."""
import dataclasses

import pytest
import torch

from toy_models.base import init_lora_params
from toy_models.mlp5 import MLP5, Prop1Split, layer_magnitudes, teacher_data
from toy_models.train import TrainConfig, train_reference

F64 = torch.float64
SMALL = {"width": 32, "r": 4, "d_in": 8, "d_out": 3, "alpha": 16.0}


def _w_lora(model, fr, res, cfg):
    """s′·(B_T A_T − B₀A₀) per LoRA layer, from the final parameters and a fresh init."""
    init = init_lora_params(model, fr, cfg.scheme, [cfg.seed], init_scale=cfg.init_scale,
                            a_mult=cfg.a_mult, b_mult=cfg.b_mult)
    return {k: model.scale * (res.params[f"{k}.B"] @ res.params[f"{k}.A"]
                              - init[f"{k}.B"][0] @ init[f"{k}.A"][0])
            for k in model.lora_weights(fr)}


def _run(model, cfg, fr, data):
    res = train_reference(model, fr, data, cfg)
    assert res.status == "ok"
    return res, _w_lora(model, fr, res, cfg)


@pytest.mark.parametrize("optimizer,lr", [("sgd", 2e-3), ("adam", 1e-3)])
@pytest.mark.parametrize("scheme", ["A", "AB-practical"])
def test_prop1_reparametrisations_agree_and_alpha1_lr4_does_not(optimizer, lr, scheme):
    base = MLP5(**SMALL)
    fr = base.build_frozen(dtype=F64)
    data = teacher_data(base, 32, dtype=F64)
    cfg = TrainConfig(scheme=scheme, optimizer=optimizer, lr=lr, steps=12, batch_size=8,
                      eps=1e-300)  # Adam with ε → 0
    ref_res, ref_w = _run(base, cfg, fr, data)
    for split in (Prop1Split(4.0, 2.0, 2.0), Prop1Split(32.0, 0.5, 1.0), Prop1Split(2.0, 1, 8)):
        m2, cfg2 = split.apply(base, cfg)
        assert m2.alpha * split.alpha_A * split.alpha_B == pytest.approx(16.0)
        res, w = _run(m2, cfg2, fr, data)
        for k in ref_w:
            torch.testing.assert_close(w[k], ref_w[k], rtol=1e-9, atol=1e-13)
        torch.testing.assert_close(torch.tensor(res.history["nu_W"]),
                                   torch.tensor(ref_res.history["nu_W"]), rtol=1e-9, atol=0)
    # "α = 1, η × 4" is not a Prop. 1 reparametrisation
    m3 = dataclasses.replace(base, alpha=1.0)
    _, w3 = _run(m3, dataclasses.replace(cfg, lr=4 * lr), fr, data)
    assert max(float((w3[k] - ref_w[k]).abs().max()) for k in ref_w) > 1e-3 * max(
        float(ref_w[k].abs().max()) for k in ref_w)


def test_head_with_runs_equals_loop_and_linear_mode():
    m = MLP5(**SMALL)
    fr = m.build_frozen(dtype=F64)
    x, _ = teacher_data(m, 5, dtype=F64)
    lora = init_lora_params(m, fr, "AB", [1, 2])
    out = m.head(fr, m.prefix(fr, x), lora)
    assert out.shape == (2, 5, 3)
    plain = x
    for k, W in enumerate(fr.weights):  # AB subtracts its product: the net starts at W
        plain = plain @ W.T
        plain = torch.relu(plain) if k < 4 else plain
    for k in range(2):
        single = m.head(fr, m.prefix(fr, x), {n: v[k:k + 1] for n, v in lora.items()})
        torch.testing.assert_close(out[k], single[0], rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(out[k], plain, rtol=1e-10, atol=1e-12)
    lin = MLP5(**SMALL, mode="linear")
    v = lin.init_params(fr, "A", [0])
    torch.testing.assert_close(lin.head(fr, lin.prefix(fr, x), v)[0], plain)


def test_lora_update_magnitude_is_width_suppressed_vs_linear():
    """Prop. 2 / Fig. 2(b): under SGD, Noise & Zeros grows ν[W_LoRA] far slower than the
    plainly trainable layer of the same magnitude (k₁ = r/m ≪ 1)."""
    m = MLP5(width=64, r=4, d_in=8, d_out=3, alpha=4.0)  # s = 1, as Prop. 2 assumes
    fr = m.build_frozen(dtype=F64)
    data = teacher_data(m, 64, dtype=F64)
    cfg = TrainConfig(scheme="A", optimizer="sgd", lr=1e-2, steps=20, batch_size=16)
    lora = train_reference(m, fr, data, cfg).history
    lin = train_reference(dataclasses.replace(m, mode="linear"), fr, data, cfg).history
    assert lora["nu_W"][-1] < 0.2 * lin["nu_W"][-1]
    assert abs(lora["nu_A"][-1] / lora["nu_A"][0] - 1) < 0.05  # ‖A‖ barely moves


def test_bad_config_is_an_error():
    with pytest.raises(ValueError):
        MLP5(probe=0)
    with pytest.raises(ValueError):
        MLP5(mode="dense")


def test_on_step_hook_reads_every_layer():
    m = MLP5(**SMALL)
    fr = m.build_frozen(dtype=F64)
    seen = []

    def hook(t, params, rec):
        if t == 0:
            seen.append({k: v.clone() for k, v in params.items()})
        mags = layer_magnitudes(m, params, seen[0])
        assert mags[m.probe_layer]["nu_W"] == pytest.approx(rec["nu_W"], rel=1e-9, abs=1e-300)
        seen.append(mags)

    train_reference(m, fr, teacher_data(m, 16, dtype=F64),
                    TrainConfig(scheme="AB-practical", optimizer="sgd", lr=1e-2, steps=3,
                                batch_size=8), on_step=hook)
    assert len(seen) == 5 and set(seen[-1]) == {"L1", "L2", "L3"}
