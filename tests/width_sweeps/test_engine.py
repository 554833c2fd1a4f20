"""Batched engine == per-run reference loop (float64), divergence handling, prefix sharing."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from width_sweeps import engine, models, reference
from width_sweeps.spec import from_dict

CPU = torch.device("cpu")


def small_spec(model: str, optimizer: str, **kw):
    base = dict(model=f"tests.width_sweeps.tiny:{model}", widths=[16], schemes=["A", "B", "AB+"],
                init_scales=[1.0, 2.0], optimizer=optimizer, eta0=[0.05], n0=16,
                lr_exponents=["-1/2", "-1,0"], eps=["0", "1/4"], seeds=2, steps=5,
                batch_size=4, probe_batch=6, dtype="float64", rank=3)
    base.update(kw)
    return from_dict(base)


@pytest.mark.parametrize("model", ["theory", "mlp"])
@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_batched_equals_reference(model: str, optimizer: str) -> None:
    spec = small_spec(model, optimizer, eta0=[0.05 if optimizer == "adam" else 0.02])
    m = models.build(spec, 16, CPU, torch.float64)
    runs = spec.runs(16)
    got = engine.train_shard(m, spec, runs, CPU, torch.float64)
    ref = reference.train_reference(m, spec, runs, CPU, torch.float64)
    assert got.values.shape == ref.values.shape == (6, len(got.quantities), len(runs))
    np.testing.assert_allclose(got.values, ref.values, rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(got.diverged_step, ref.diverged_step)
    assert set(got.test) == set(ref.test)
    for k in got.test:
        np.testing.assert_allclose(got.test[k], ref.test[k], rtol=1e-9, atol=1e-12)
    if model == "mlp":
        assert set(got.test) == {"test_loss", "test_acc"}


def test_divergence_marked_and_others_go_on() -> None:
    spec = small_spec("theory", "sgd", eta0=[1e-3, 50.0], lr_exponents=["0"], eps=["0"],
                      schemes=["AB+"], init_scales=[1.0], steps=6)
    m = models.build(spec, 16, CPU, torch.float64)
    runs = spec.runs(16)
    got = engine.train_shard(m, spec, runs, CPU, torch.float64)
    ref = reference.train_reference(m, spec, runs, CPU, torch.float64)
    big = np.array([r.eta0 == 50.0 for r in runs])
    assert (got.diverged_step[big] >= 1).all() and (got.diverged_step[~big] == -1).all()
    np.testing.assert_array_equal(got.diverged_step, ref.diverged_step)
    for i in np.flatnonzero(big):
        d = got.diverged_step[i]
        assert np.isnan(got.values[d:, :, i]).all() and np.isfinite(got.values[:d, 0, i]).all()
    assert np.isfinite(got.values[1:, 0, ~big]).all()
    np.testing.assert_allclose(got.values, ref.values, rtol=1e-9, atol=1e-12)


def test_prefix_computed_once_per_batch(monkeypatch) -> None:
    spec = small_spec("mlp", "adam")
    m = models.build(spec, 16, CPU, torch.float64)
    calls = []
    orig = m.prefix
    monkeypatch.setattr(m, "prefix", lambda x: calls.append(x.shape[0]) or orig(x))
    cache = engine.PrefixCache()
    chunks = [spec.runs(16)[:10], spec.runs(16)[10:]]
    for ch in chunks:
        engine.train_shard(m, spec, ch, CPU, torch.float64, cache=cache)
    # probe + steps + one test chunk, computed once for both shards
    assert len(calls) == 1 + spec.steps + 1


def test_step_loop_has_no_item(monkeypatch) -> None:
    spec = small_spec("theory", "adam")
    m = models.build(spec, 16, CPU, torch.float64)

    def boom(*a, **k):
        raise AssertionError("host sync in the step loop")
    monkeypatch.setattr(torch.Tensor, "item", boom)
    monkeypatch.setattr(torch.Tensor, "__bool__", boom)
    engine.train_shard(m, spec, spec.runs(16), CPU, torch.float64)
