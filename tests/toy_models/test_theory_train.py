"""The theory layer and the reference loop against hand-derived gradients (docs/theory.md §2–3)."""
import math

import pytest
import torch

from toy_models.base import batch_schedule, init_lora_params
from toy_models.theory import TheoryLayer, make_theory_data
from toy_models.train import QUANTITIES, TrainConfig, train_reference

F64 = torch.float64


def _setup(n=64, r=4, w_init="kaiming", batch=1, alpha=None):
    m = TheoryLayer(width=n, r=r, w_init=w_init, alpha=alpha)
    fr = m.build_frozen(dtype=F64)
    return m, fr, make_theory_data(n, batch, dtype=F64)


def test_head_with_runs_equals_dense_single_runs():
    m, fr, (z, _y) = _setup(batch=3, alpha=2.0)
    lora = init_lora_params(m, fr, "AB", [5, 6, 7])
    out = m.head(fr, m.prefix(fr, z), lora)
    assert out.shape == (3, 3, 64)
    for k in range(3):
        A, B = lora["W.A"][k], lora["W.B"][k]
        dense = fr.W + m.scale * (B @ A) - m.scale * (lora["W.B0"][k] @ lora["W.A0"][k])
        torch.testing.assert_close(out[k], z @ dense.T, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(out[k], z @ fr.W.T, rtol=1e-12, atol=1e-12)  # AB: starts at W


def test_one_sgd_step_matches_closed_form_gradients():
    """∇_A = s Bᵀ dZ̄ zᵀ, ∇_B = s dZ̄ (A z)ᵀ with dZ̄ = Z̄ − y (loss summed over outputs)."""
    m, fr, (z, y) = _setup(alpha=3.0)
    cfg = TrainConfig(scheme="AB-practical", optimizer="sgd", lr=0.05, steps=1, batch_size=1)
    res = train_reference(m, fr, (z, y), cfg)
    lora = init_lora_params(m, fr, "AB-practical", [cfg.seed])
    A0, B0, s = lora["W.A"][0], lora["W.B"][0], m.scale
    zv, yv = z[0], y[0]
    dZ = fr.W @ zv - yv  # Z̄₀ = W z (the product is subtracted)
    gA = s * torch.outer(B0.T @ dZ, zv)
    gB = s * torch.outer(dZ, A0 @ zv)
    A1, B1 = A0 - cfg.lr * gA, B0 - cfg.lr * gB
    torch.testing.assert_close(res.params["W.A"], A1, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(res.params["W.B"], B1, rtol=1e-12, atol=1e-14)
    # probes: grad_nu = ν[dZ̄ zᵀ]; the three δ's against their definitions
    assert res.history["grad_nu"][1] == pytest.approx(float(torch.outer(dZ, zv).pow(2).mean()))
    rms = lambda v: float(v.pow(2).mean().sqrt())
    assert res.history["delta1"][1] == pytest.approx(rms(s * B0 @ (A1 - A0) @ zv))
    assert res.history["delta2"][1] == pytest.approx(rms(s * (B1 - B0) @ (A0 @ zv)))
    assert res.history["delta3"][1] == pytest.approx(rms(s * (B1 - B0) @ ((A1 - A0) @ zv)))
    assert res.history["Z_A"][1] == pytest.approx(rms(A1 @ zv))
    assert res.history["Z_B"][1] == pytest.approx(rms(s * B1 @ (A1 @ zv)))
    assert res.history["nu_W"][1] == pytest.approx(float((s * (B1 @ A1 - B0 @ A0)).pow(2).mean()))
    assert res.history["loss"][0] == pytest.approx(0.5 * float(dZ.pow(2).sum()))


def test_backpropagated_signal_is_order_one():
    """Loss summed over outputs ⇒ dZ̄ = Z̄ − y has Θ(1) entries at every width."""
    for n in (64, 1024):
        _m, fr, (z, y) = _setup(n=n)
        rms = float((z @ fr.W.T - y).pow(2).mean().sqrt())
        assert 0.8 < rms < 1.8


def test_deterministic_and_seed_semantics():
    m, fr, data = _setup(batch=4)
    cfg = TrainConfig(scheme="A", optimizer="adam", lr=0.01, steps=3, batch_size=2)
    h1 = train_reference(m, fr, data, cfg).history
    h2 = train_reference(m, fr, data, cfg).history
    assert h1 == h2
    h3 = train_reference(m, fr, data, TrainConfig(**{**cfg.__dict__, "seed": 1})).history
    assert h3["Z_A"][0] != h1["Z_A"][0]  # the run seed changes the init …
    sched = batch_schedule(4, 2, 3, cfg.data_seed)  # … not the data order
    assert torch.equal(sched, batch_schedule(4, 2, 3, cfg.data_seed))


def test_init_a_first_step_has_no_delta1():
    """Init[A]: B₀ = 0 ⇒ ∇_A = 0 at step 1 ⇒ δ¹₁ = δ³₁ = 0 (docs/theory.md §2)."""
    m, fr, data = _setup()
    h = train_reference(m, fr, data, TrainConfig(scheme="A", lr=0.01, steps=2,
                                                 batch_size=1)).history
    assert h["delta1"][1] == 0 and h["delta3"][1] == 0 and h["delta2"][1] > 0
    assert h["Z_B"][0] == 0 and math.isnan(h["delta1"][0]) and math.isnan(h["grad_nu"][0])


def test_divergence_is_reported():
    m, fr, data = _setup()
    res = train_reference(m, fr, data, TrainConfig(scheme="AB", optimizer="sgd", lr=1e6,
                                                   steps=30, batch_size=1))
    assert res.status == "diverged" and res.diverged_step is not None


def test_batch_schedule_epochs():
    s = batch_schedule(10, 3, 7, 0)
    assert s.shape == (7, 3)
    first_epoch = s[:3].flatten()
    assert len(set(first_epoch.tolist())) == 9  # no repeats inside an epoch
    assert torch.equal(batch_schedule(5, 8, 2, 0), torch.arange(5).expand(2, 5))


def test_frame_is_tidy():
    m, fr, data = _setup()
    df = train_reference(m, fr, data, TrainConfig(steps=2, batch_size=1)).frame()
    assert list(df.columns) == ["step", "quantity", "value"] and len(df) == 3 * len(QUANTITIES)
