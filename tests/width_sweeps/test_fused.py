"""Hand-written forward/backward (width_sweeps.fused) == autograd in float64; fused Adam ==
the eager kernel; probe_every, blocks and worker threads never change results."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from width_sweeps import engine, fused, models, optim, probes, results
from width_sweeps.executor import run_sweep
from width_sweeps.spec import SpecError, from_dict

from .test_engine import CPU, F64, OPTIONS, compare, small_spec


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("GAMMAKIT_CACHE", str(tmp_path_factory.getbasetemp() / "ckpt"))


def _params(m, runs, seed=0):
    """Init parameters moved off the init (B ≠ 0 everywhere) so every gradient term is live."""
    g = torch.Generator().manual_seed(seed)
    P = {k: v.to(F64) for k, v in engine.init_params(m, runs).items()}
    for k, v in P.items():
        if engine.trainable(k):
            P[k] = v + 0.3 * torch.randn(v.shape, generator=g, dtype=F64)
    return P


def _autograd(m, pre, P, y):
    trained = {k: v.clone().requires_grad_(True) for k, v in P.items() if engine.trainable(k)}
    const = {k: v for k, v in P.items() if not engine.trainable(k)}
    taps = {}
    loss = m.loss(m.head(pre, trained | const, taps), y)
    *gl, dz = torch.autograd.grad(loss.sum(), list(trained.values()) + [taps["zbar"]])
    return loss.detach(), dict(zip(trained, gl)), probes.grad_nu(dz, taps["z"].detach())


MODELS = [("toy", {}), ("theory-layer", {}), ("theory-layer", {"dense_max_width": 8})]


@pytest.mark.parametrize("model,opts", MODELS)
def test_fused_train_and_probe_equal_autograd(model, opts):
    spec = small_spec(model, "adam", model_options=OPTIONS[model] | opts,
                      schemes=["A", "AB", "AB+"], seeds=1, lr_exponents=["0"], eps=["0"])
    m = models.build(spec, 16, CPU, F64)
    head_cls = fused.for_model(m)
    assert head_cls is not None
    runs = spec.runs(16)
    P = _params(m, runs)
    assert "W.A0" in P                                  # a subtracting scheme is in the mix
    x, y = m.batch(1)
    xp, yp = m.probe_batch()
    pre, pre_p = m.prefix(x), m.prefix(xp)
    loss, grads, gn = _autograd(m, pre, P, y)
    head = head_cls(m, len(runs))
    stacked = engine.cat_rows(pre, pre_p)
    got_loss, got_grads, got_gn, probe = head.train(stacked, P, y, True, yp, True)
    tol = {"rtol": 1e-11, "atol": 1e-13}
    torch.testing.assert_close(got_loss, loss, **tol)
    for k in grads:
        torch.testing.assert_close(got_grads[k], grads[k], **tol)
    torch.testing.assert_close(got_gn, gn, **tol)
    # the probe rows that rode along == a probe forward of their own == the model's head
    lp, z, ZA, ZB = head.probe(pre_p, P, yp, True)
    ref_lp = m.loss(m.head(pre_p, P), yp)
    for a, b in [(probe[0], lp), (lp, ref_lp), (probe[2], ZA), (probe[3], ZB)]:
        torch.testing.assert_close(a, b, **tol)
    ZA_ref = probes.za(z, P["W.A"])
    torch.testing.assert_close(ZA, ZA_ref, **tol)
    torch.testing.assert_close(ZB, probes.rms(m.scale * ZA_ref @ P["W.B"].transpose(1, 2)),
                               **tol)


def test_fused_test_evaluation_equals_generic():
    spec = small_spec("toy", "adam", schemes=["A", "AB", "AB+"], seeds=1, lr_exponents=["0"],
                      eps=["0"])
    m = models.build(spec, 16, CPU, F64)
    runs = spec.runs(16)
    P = _params(m, runs)
    ref = engine.evaluate(m, P, engine.PrefixCache())
    X, Y = m.test_set()
    head = fused.ToyHead(m, len(runs))
    blocks = [(m.prefix(X[i:i + 7]), Y[i:i + 7]) for i in range(0, X.shape[0], 7)]
    got = head.evaluate(blocks, P, X.shape[0], budget=4 * 16 * 8 * 3)   # 3-row chunks
    for k in ref:
        torch.testing.assert_close(got[k], ref[k], rtol=1e-12, atol=1e-14)


def test_fused_adam_equals_eager_kernel():
    g = torch.Generator().manual_seed(0)
    R = 5
    p0 = {"W.A": torch.randn(R, 3, 7, generator=g, dtype=F64),
          "W.B": torch.randn(R, 7, 3, generator=g, dtype=F64)}
    la, lb = [0.1, 0.1, 0.02, 0.3, 0.02], [0.4, 0.1, 0.02, 0.3, 0.05]
    lr = {"W.A": torch.tensor(la, dtype=F64), "W.B": torch.tensor(lb, dtype=F64)}
    fused_opt = optim.make_optimizer("adam", lr, host_lr={"W.A": la, "W.B": lb})
    eager_opt = optim.make_optimizer("adam", lr)
    assert fused_opt.fused and not eager_opt.fused
    pf = {k: v.clone() for k, v in p0.items()}
    pe = {k: v.clone() for k, v in p0.items()}
    for _ in range(6):
        grads = {k: torch.randn(v.shape, generator=g, dtype=F64).transpose(1, 2).contiguous()
                 .transpose(1, 2) for k, v in p0.items()}          # non-contiguous grads too
        fused_opt.step(pf, grads, torch.ones(R, dtype=F64))
        eager_opt.step(pe, grads, torch.ones(R, dtype=F64))
        for k, v in pf.items():
            torch.testing.assert_close(v, pe[k], rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("dtype", [torch.float32, F64])
@pytest.mark.parametrize("shape", [(4, 64), (3, 101)], ids=["multiple-of-64", "odd"])
def test_fused_adam_one_rate_equals_per_run_slices(dtype, shape):
    """One rate for every run steps the stacked tensor in one kernel call: bit for bit the
    kernel on each run's slice (torch._fused_adam_ called per run here)."""
    g = torch.Generator().manual_seed(1)
    R, lr = 5, 0.03
    p = {"W.A": torch.randn(R, *shape, generator=g).to(dtype)}
    ref = p["W.A"].clone()
    m, v = torch.zeros_like(ref), torch.zeros_like(ref)
    opt = optim.make_optimizer("adam", {"W.A": torch.full((R,), lr, dtype=dtype)},
                               host_lr={"W.A": [lr] * R})
    for t in range(1, 11):     # the odd size: the scalar tail rounds differently at times
        grad = torch.randn(ref.shape, generator=g).to(dtype)
        opt.step(p, {"W.A": grad}, torch.ones(R, dtype=dtype))
        step = torch.tensor(float(t))
        for i in range(R):
            torch._fused_adam_([ref[i]], [grad[i]], [m[i]], [v[i]], [], [step], lr=lr,
                               beta1=0.9, beta2=0.999, weight_decay=0.0, eps=1e-8,
                               amsgrad=False, maximize=False)
        assert torch.equal(p["W.A"], ref)


def test_optimizer_state_is_allocated_once():
    p = {"W.A": torch.zeros(2, 3, 4)}
    opt = optim.make_optimizer("adam", {"W.A": torch.ones(2)}, host_lr={"W.A": [1.0, 1.0]})
    opt.step(p, {"W.A": torch.ones(2, 3, 4)}, torch.ones(2))
    m = opt.m["W.A"]
    opt.step(p, {"W.A": torch.ones(2, 3, 4)}, torch.ones(2))
    assert opt.m["W.A"] is m


@pytest.mark.parametrize("model", ["theory-layer", "mlp5", "toy"])
def test_probe_every_records_a_subset_of_the_same_values(model):
    spec = small_spec(model, "adam", steps=7, schemes=["A", "AB+"])
    m = models.build(spec, 16, CPU, F64)
    runs = spec.runs(16)
    every = engine.train_shard(m, spec, runs, CPU, F64)
    spec3 = small_spec(model, "adam", steps=7, schemes=["A", "AB+"], probe_every=3)
    some = engine.train_shard(m, spec3, runs, CPU, F64)
    assert list(some.steps) == [0, 3, 6, 7]
    assert list(engine.recorded_steps(7, 0)) == [0, 7]
    np.testing.assert_allclose(some.values, every.values[[0, 3, 6, 7]], rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(some.diverged_step, every.diverged_step)
    for k in every.test:
        np.testing.assert_allclose(some.test[k], every.test[k], rtol=1e-12)
    df = results.steps_frame(some, model)
    assert sorted(df.step.unique()) == [0, 3, 6, 7]
    assert set(df[df.quantity.isin(["test_loss"])].step) <= {7}


@pytest.mark.parametrize("model", ["theory-layer", "toy"])
def test_blocks_workers_and_fused_never_change_results(model):
    spec = small_spec(model, "adam", schemes=["A", "AB", "AB+"])
    m = models.build(spec, 16, CPU, F64)
    runs = spec.runs(16)
    base = engine.train_shard(m, spec, runs, CPU, F64)
    variants = [{"block_runs": 1, "workers": 1}, {"block_runs": 5, "workers": 2},
                {"block_runs": len(runs), "workers": 1}, {"fused": False, "block_runs": 7}]
    for v in variants:
        got = engine.train_shard(m, small_spec(model, "adam", schemes=["A", "AB", "AB+"], **v),
                                 runs, CPU, F64)
        compare(got, base, skip=())


def test_unfused_path_equals_reference_too():
    from width_sweeps import reference
    spec = small_spec("theory-layer", "adam", fused=False)
    m = models.build(spec, 16, CPU, F64)
    runs = spec.runs(16)
    compare(engine.train_shard(m, spec, runs, CPU, F64), reference.train_reference(m, spec, runs))


def test_threads_restored_after_a_shard():
    spec = small_spec("theory-layer", "adam", workers=2, block_runs=4)
    m = models.build(spec, 16, CPU, F64)
    before = torch.get_num_threads()
    engine.train_shard(m, spec, spec.runs(16), CPU, F64)
    assert torch.get_num_threads() == before


def test_new_fields_validated_and_resume_tolerates_them(tmp_path):
    with pytest.raises(SpecError, match="probe_every"):
        small_spec("theory-layer", "adam", probe_every=-1)
    with pytest.raises(SpecError, match="fused"):
        small_spec("theory-layer", "adam", fused="yes")
    spec = small_spec("theory-layer", "sgd", steps=2, seeds=1, schemes=["A"])
    out = tmp_path / "sweep"
    run_sweep(spec, out, progress=False)
    # a spec.json written before probe_every/block_runs/workers/fused existed still resumes
    old = json.loads((out / "spec.json").read_text())
    for k in ("probe_every", "block_runs", "workers", "fused"):
        old.pop(k)
    (out / "spec.json").write_text(json.dumps(old))
    run_sweep(spec, out, progress=False)
    # performance knobs may change between resumes; probe_every may not
    d = spec.to_dict()
    run_sweep(from_dict(d | {"block_runs": 3, "workers": 1, "fused": False}), out,
              progress=False)
    with pytest.raises(SpecError, match="probe_every"):
        run_sweep(from_dict(d | {"probe_every": 2}), out, progress=False)
