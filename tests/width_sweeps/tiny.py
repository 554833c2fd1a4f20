"""Tiny models implementing the sweep-model protocol, for the engine's tests.

`theory`: THEORY §2's single LoRA layer on a fixed batch of data points with Θ(1) entries;
the frozen `W z` is drawn once per width (its law for `W ~ N(0, 1/n)`) so no n×n matrix exists.
`mlp`: a small classifier `W_out φ((W + sBA) φ(W_in x))` with a changing training batch and a
test set, to exercise prefix sharing, the prefix cache and test evaluation.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

KAIMING_A = {"A", "AB-practical", "AB+"}
RANDOM_B = {"B": "r", "AB-practical": "in", "AB+": "in", "AB": "out"}


def lora_init(scheme: str, beta: float, seeds: list[int], r: int, n_in: int, n_out: int,
              width: int, dtype: torch.dtype, device: torch.device) -> dict[str, Tensor]:
    """INTERFACES scheme table (A, B, AB, AB-practical, AB+, zero), one generator per seed."""
    As, Bs = [], []
    for seed in seeds:
        g = torch.Generator().manual_seed(seed * 7919 + width)
        a = torch.randn(r, n_in, generator=g, dtype=torch.float64)
        b = torch.randn(n_out, r, generator=g, dtype=torch.float64)
        a_var = {"AB": 1.0}.get(scheme, 1.0 / n_in if scheme in KAIMING_A else 0.0)
        fan = {"r": r, "in": n_in, "out": n_out}.get(RANDOM_B.get(scheme, ""), 0)
        b_var = 1.0 / fan if fan else 0.0
        As.append(a * (beta * a_var) ** 0.5)
        Bs.append(b * (beta * b_var) ** 0.5)
    A = torch.stack(As).to(device, dtype)
    B = torch.stack(Bs).to(device, dtype)
    out = {"A": A, "B": B}
    if scheme in ("AB", "AB-practical"):
        out["_A0"], out["_B0"] = A.clone(), B.clone()
    return out


def lora_out(z: Tensor, Wz: Tensor, s: float, p: dict[str, Tensor]) -> Tensor:
    """`W z + s(BA − B₀A₀) z` with z: (b, in) shared, → (R, b, out)."""
    za = torch.einsum("bi,Rri->Rbr", z, p["A"])
    out = Wz + s * za @ p["B"].transpose(1, 2)
    if "_A0" in p:
        out = out - s * torch.einsum("bi,Rri->Rbr", z, p["_A0"]) @ p["_B0"].transpose(1, 2)
    return out


class Theory:
    """One LoRA layer, fixed data (the same batch every step), loss ½‖Z̄ − y‖² per point."""

    def __init__(self, width: int, spec, device: torch.device, dtype: torch.dtype) -> None:
        g = torch.Generator().manual_seed(spec.frozen_seed * 1_000_003 + width)
        b = spec.batch_size
        self.z = torch.randn(b, width, generator=g, dtype=torch.float64).to(device, dtype)
        self.Wz = torch.randn(b, width, generator=g, dtype=torch.float64).to(device, dtype)
        self.y = torch.zeros(b, width, device=device, dtype=dtype)
        self.idx = torch.arange(b, device=device)
        self.scale, self.r, self.n = spec.scale, spec.rank, width
        self.device, self.dtype = device, dtype

    def prefix(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return self.z[x], self.Wz[x]

    def head(self, pre, params):
        return lora_out(pre[0], pre[1], self.scale, params)

    def loss(self, out: Tensor, y: Tensor) -> Tensor:
        return 0.5 * (out - y).pow(2).sum(-1).mean(-1)

    def lora_input(self, pre) -> Tensor:
        return pre[0]

    def init(self, scheme, init_scale, seeds):
        return lora_init(scheme, init_scale, seeds, self.r, self.n, self.n, self.n,
                         self.dtype, self.device)

    def batch(self, step: int):
        return self.idx, self.y

    def probe_batch(self):
        return self.idx, self.y

    def test_set(self):
        return None

    def data_sources(self):
        return {"data": "synthetic Gaussian z (tests.width_sweeps.tiny)"}


class MLP(Theory):
    """`W_out φ((W + sBA) φ(W_in x))` on a synthetic 3-class task; LoRA input φ(W_in x)."""

    D, C, N_TRAIN, N_TEST = 8, 3, 96, 40

    def __init__(self, width: int, spec, device: torch.device, dtype: torch.dtype) -> None:
        g = torch.Generator().manual_seed(spec.frozen_seed * 1_000_003 + width)
        f64 = torch.float64
        self.W_in = (torch.randn(width, self.D, generator=g, dtype=f64) / self.D ** 0.5)
        self.W = torch.randn(width, width, generator=g, dtype=f64) / width ** 0.5
        self.W_out = torch.randn(self.C, width, generator=g, dtype=f64) / width ** 0.5
        gd = torch.Generator().manual_seed(spec.data_seed)
        X = torch.randn(self.N_TRAIN + self.N_TEST, self.D, generator=gd, dtype=f64)
        y = (X @ torch.randn(self.D, self.C, generator=gd, dtype=f64)).argmax(1)
        cast = dict(device=device, dtype=dtype)
        self.W_in, self.W, self.W_out, X = (t.to(**cast) for t in (self.W_in, self.W, self.W_out, X))
        self.X, self.Y = X[:self.N_TRAIN], y[:self.N_TRAIN].to(device)
        self.Xt, self.Yt = X[self.N_TRAIN:], y[self.N_TRAIN:].to(device)
        self.scale, self.r, self.n, self.bs = spec.scale, spec.rank, width, spec.batch_size
        self.pb, self.seed = spec.probe_batch, spec.data_seed
        self.device, self.dtype = device, dtype

    def prefix(self, x: Tensor):
        z = torch.relu(x @ self.W_in.T)
        return z, z @ self.W.T

    def head(self, pre, params):
        h = torch.relu(lora_out(pre[0], pre[1], self.scale, params))
        return h @ self.W_out.T

    def loss(self, out: Tensor, y: Tensor) -> Tensor:
        R, b, C = out.shape
        ce = F.cross_entropy(out.reshape(R * b, C), y.repeat(R), reduction="none")
        return ce.view(R, b).mean(1)

    def batch(self, step: int):
        g = torch.Generator().manual_seed(self.seed * 100_003 + step)
        i = torch.randperm(self.N_TRAIN, generator=g)[:self.bs].to(self.device)
        return self.X[i], self.Y[i]

    def probe_batch(self):
        return self.X[:self.pb], self.Y[:self.pb]

    def test_set(self):
        return self.Xt, self.Yt


def theory(width, spec, device, dtype) -> Theory:
    return Theory(width, spec, device, dtype)


def mlp(width, spec, device, dtype) -> MLP:
    return MLP(width, spec, device, dtype)
