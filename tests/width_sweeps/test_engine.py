"""Batched engine == toy_models' per-run reference loop (float64), divergence, prefix sharing."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from width_sweeps import engine, models, reference
from width_sweeps.probes import QUANTITIES
from width_sweeps.spec import from_dict

CPU, F64 = torch.device("cpu"), torch.float64
OPTIONS = {"theory-layer": {}, "mlp5": {"n_train": 48, "n_test": 20, "d_in": 6, "d_out": 3},
           "toy": {"pretrain_steps": 5, "pretrain_batch": 16, "n_train": 64, "n_test": 30}}


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("GAMMAKIT_CACHE", str(tmp_path_factory.getbasetemp() / "ckpt"))


def small_spec(model: str, optimizer: str, **kw):
    theory = model == "theory-layer"
    base = {"model": model, "widths": [16], "schemes": ["A", "B", "AB", "AB+"],
            "init_scales": [1.0, 2.0], "optimizer": optimizer, "eta0": [0.02], "n0": 16,
            "lr_exponents": ["-1/2", "-1,0"], "eps": ["0", "1/4"], "seeds": 2, "steps": 4,
            "batch_size": 2 if theory else 4, "probe_batch": 2 if theory else 6,
            "dtype": "float64", "rank": 2, "model_options": OPTIONS[model]}
    base.update(kw)
    return from_dict(base)


def compare(got, ref, skip=()) -> None:
    keep = [i for i, q in enumerate(QUANTITIES) if q not in skip]
    np.testing.assert_allclose(got.values[:, keep], ref.values[:, keep], rtol=1e-8, atol=1e-12)
    np.testing.assert_array_equal(got.diverged_step, ref.diverged_step)
    assert set(got.test) == set(ref.test)
    for k in got.test:
        np.testing.assert_allclose(got.test[k], ref.test[k], rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("model", ["theory-layer", "mlp5",
                                   pytest.param("toy", marks=pytest.mark.slow)])
@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_batched_equals_reference(model: str, optimizer: str) -> None:
    lr = {"adam": 0.02, "sgd": 1e-4 if model == "mlp5" else 0.01}[optimizer]
    # AB+ at s=8 blows up
    schemes = ["A", "B", "AB"] if model == "mlp5" else ["A", "B", "AB", "AB+"]
    spec = small_spec(model, optimizer, eta0=[lr], schemes=schemes, init_scales=[2.0])
    m = models.build(spec, 16, CPU, F64)
    runs = spec.runs(16)
    got = engine.train_shard(m, spec, runs, CPU, F64)
    ref = reference.train_reference(m, spec, runs)
    assert got.values.shape == (spec.steps + 1, len(QUANTITIES), len(runs))
    assert np.isfinite(got.values[1:]).all()
    compare(got, ref)
    if model == "toy":
        assert set(got.test) == {"test_loss", "test_acc"}


def test_delta_sum_is_the_feature_update() -> None:
    spec = small_spec("theory-layer", "adam")
    m = models.build(spec, 16, CPU, F64)
    got = engine.train_shard(m, spec, spec.runs(16), CPU, F64)
    q = {k: i for i, k in enumerate(QUANTITIES)}
    assert (got.values[1:, q["dZ_B"]] <= got.values[1:, q["delta1"]] + got.values[1:, q["delta2"]]
            + got.values[1:, q["delta3"]] + 1e-12).all()


def test_divergence_marked_and_others_go_on() -> None:
    spec = small_spec("theory-layer", "sgd", eta0=[1e-3, 1e3], lr_exponents=["0"], eps=["0"],
                      schemes=["AB+"], init_scales=[1.0], steps=6)
    m = models.build(spec, 16, CPU, F64)
    runs = spec.runs(16)
    got = engine.train_shard(m, spec, runs, CPU, F64)
    big = np.array([r.eta0 > 1 for r in runs])
    assert (got.diverged_step[big] >= 1).all() and (got.diverged_step[~big] == -1).all()
    for i in np.flatnonzero(big):
        d = got.diverged_step[i]
        assert np.isnan(got.values[d:, :, i]).all() and np.isfinite(got.values[:d, 0, i]).all()
    assert np.isfinite(got.values[1:, 0, ~big]).all()
    ref = reference.train_reference(m, spec, [r for r, b in zip(runs, big) if not b])
    np.testing.assert_allclose(got.values[:, :, ~big], ref.values, rtol=1e-8, atol=1e-12)


def test_prefix_computed_once_per_batch(monkeypatch) -> None:
    spec = small_spec("mlp5", "adam")
    m = models.build(spec, 16, CPU, F64)
    calls = []
    orig = m.prefix
    monkeypatch.setattr(m, "prefix", lambda x: calls.append(x.shape[0]) or orig(x))
    cache = engine.PrefixCache()
    runs = spec.runs(16)
    for ch in (runs[:10], runs[10:]):
        engine.train_shard(m, spec, ch, CPU, F64, cache=cache)
    assert len(calls) == 1 + spec.steps + 1   # probe + each step + one test chunk, shared


def test_step_loop_has_no_host_sync(monkeypatch) -> None:
    spec = small_spec("mlp5", "adam")
    m = models.build(spec, 16, CPU, F64)

    def boom(*a, **k):
        raise AssertionError("host sync in the step loop")
    monkeypatch.setattr(torch.Tensor, "item", boom)
    monkeypatch.setattr(torch.Tensor, "__bool__", boom)
    monkeypatch.setattr(torch.Tensor, "tolist", boom)
    monkeypatch.setattr(torch.Tensor, "__float__", boom)
    monkeypatch.setattr(torch.Tensor, "__int__", boom)
    engine.train_shard(m, spec, spec.runs(16)[:4], CPU, F64)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.gpu
@pytest.mark.parametrize("model", ["theory-layer", "mlp5", "toy"])
@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_cuda_matches_cpu(model: str, optimizer: str) -> None:
    """The same spec on CUDA and on CPU (float64): same probes, test metrics, divergence."""
    lr = {"adam": 0.02, "sgd": 1e-4 if model == "mlp5" else 0.01}[optimizer]
    spec = small_spec(model, optimizer, eta0=[lr], schemes=["A", "B", "AB"], init_scales=[2.0])
    runs = spec.runs(16)
    cpu = engine.train_shard(models.build(spec, 16, CPU, F64), spec, runs, CPU, F64)
    dev = torch.device("cuda")
    gpu = engine.train_shard(models.build(spec, 16, dev, F64), spec, runs, dev, F64)
    np.testing.assert_allclose(gpu.values, cpu.values, rtol=1e-7, atol=1e-10)
    np.testing.assert_array_equal(gpu.diverged_step, cpu.diverged_step)
    for k in cpu.test:
        np.testing.assert_allclose(gpu.test[k], cpu.test[k], rtol=1e-7, atol=1e-10)


@pytest.mark.slow
def test_compiled_adam_equals_reference() -> None:
    spec = small_spec("theory-layer", "adam", compile=True, schemes=["A", "AB+"], seeds=2)
    m = models.build(spec, 16, CPU, F64)
    runs = spec.runs(16)
    compare(engine.train_shard(m, spec, runs, CPU, F64), reference.train_reference(m, spec, runs))


def test_evaluate_blocks_and_chunks_agree() -> None:
    spec = small_spec("mlp5", "adam")
    m = models.build(spec, 16, CPU, F64)
    params = engine.init_params(m, spec.runs(16)[:5])
    whole = engine.evaluate(m, params, engine.PrefixCache(), block=1024, budget=1 << 30)
    parts = engine.evaluate(m, params, engine.PrefixCache(), block=10, budget=1)  # chunks of 8
    np.testing.assert_allclose(parts["test_loss"], whole["test_loss"], rtol=1e-12)
