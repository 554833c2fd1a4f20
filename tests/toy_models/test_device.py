"""CUDA path: the same seed gives the same run on the GPU as on the CPU (float64)."""
import pytest
import torch

from toy_models.mlp5 import MLP5, teacher_data
from toy_models.theory import TheoryLayer, make_theory_data
from toy_models.train import TrainConfig, train_reference

pytestmark = pytest.mark.gpu


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("scheme", ["A", "AB", "loram"])
def test_cuda_matches_cpu(scheme):
    cfg = TrainConfig(scheme=scheme, optimizer="adam", lr=1e-2, steps=5, batch_size=4)
    hist = {}
    for dev in ("cpu", "cuda"):
        m = TheoryLayer(width=128, r=4)
        fr = m.build_frozen(dtype=torch.float64, device=dev)
        data = make_theory_data(128, 4, dtype=torch.float64, device=dev)
        hist[dev] = train_reference(m, fr, data, cfg).history
        mm = MLP5(width=64, r=4, d_in=16, d_out=3)
        fr2 = mm.build_frozen(dtype=torch.float64, device=dev)
        hist[dev + "mlp"] = train_reference(mm, fr2, teacher_data(mm, 16, dtype=torch.float64,
                                                                  device=dev), cfg).history
    for a, b in (("cpu", "cuda"), ("cpumlp", "cudamlp")):
        for q in ("loss", "Z_B", "nu_W"):
            assert torch.allclose(torch.tensor(hist[a][q]), torch.tensor(hist[b][q]),
                                  rtol=1e-8, atol=1e-12, equal_nan=True), (a, q)
