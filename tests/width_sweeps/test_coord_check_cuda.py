"""`coord_check` on CUDA: the same code gives the CPU's numbers (float64), batched equals
per-run there too, and the batched low-rank op's vmap rule holds on the GPU.  Skipped without
CUDA (benchmarks/gpu_session.sh runs these on a GPU machine)."""
import numpy as np
import pytest
import torch

from width_sweeps.coord_check import coord_check
from width_sweeps.coord_train import make_runs, train_width
from width_sweeps.lowrank import lowrank_add

from .test_coord_check import _peft_mlp, data, toy_mlp

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")]


@pytest.mark.parametrize("model_fn", [toy_mlp, _peft_mlp], ids=["toy", "peft"])
def test_cuda_table_equals_cpu_table(model_fn):
    kw = {"widths": [32, 64, 128], "seeds": 2, "steps": 2, "schemes": ("A", "gaussian"),
          "dtype": torch.float64}
    cpu = coord_check(model_fn, data(), device="cpu", **kw)
    gpu = coord_check(model_fn, data(), device="cuda", **kw)
    assert cpu.batched and gpu.batched
    a, b = cpu.table, gpu.table
    assert (a.drop(columns="value").to_numpy() == b.drop(columns="value").to_numpy()).all()
    np.testing.assert_allclose(b.value.to_numpy(), a.value.to_numpy(), rtol=1e-8, atol=1e-12)
    assert list(cpu.fits.verdict) == list(gpu.fits.verdict)


@pytest.mark.parametrize("model_fn", [toy_mlp, _peft_mlp], ids=["toy", "peft"])
def test_cuda_batched_equals_per_run(model_fn):
    runs = (make_runs(64, [("A", "A"), ("AB", "AB")], ["-1/2", "-1,0"], [0, 1], 1.0, 1)
            + make_runs(64, [("pissa", "pissa")], ["0"], [3], 0.01, 1))
    kw = {"steps": 3, "optimizer": "adam", "loss_fn": None, "device": torch.device("cuda"),
          "dtype": torch.float64}
    a = train_width(model_fn(64), runs, data(), batched=True, **kw)
    b = train_width(model_fn(64), runs, data(), batched=False, **kw)
    for k in a.values:
        np.testing.assert_allclose(a.values[k], b.values[k], rtol=1e-10, atol=1e-14,
                                   err_msg=str(k))


def test_cuda_lowrank_vmap_rule_equals_loop():
    g = torch.Generator().manual_seed(0)
    base, x = (torch.randn(s, generator=g, dtype=torch.float64) for s in [(3, 5, 6), (3, 5, 7)])
    A, B = torch.randn(3, 2, 7, generator=g, dtype=torch.float64), torch.randn(3, 6, 2,
                                                                              generator=g,
                                                                              dtype=torch.float64)
    cu = [t.cuda().requires_grad_() for t in (base, x, A, B)]
    out = torch.func.vmap(lambda *t: lowrank_add(*t, 0.5))(*cu)
    ref = torch.stack([cu[0][i] + 0.5 * (cu[1][i] @ cu[2][i].T) @ cu[3][i].T for i in range(3)])
    torch.testing.assert_close(out, ref)
    gs = torch.autograd.grad(out.square().sum(), cu)
    gr = torch.autograd.grad(ref.square().sum(), cu)
    for u, v in zip(gs, gr):
        torch.testing.assert_close(u, v)
