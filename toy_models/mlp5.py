"""LoRAM's 5-layer LoRA MLP (LoRAM §2, Figure 2; docs/theory.md §4).

Five bias-free linear layers d_in → n → n → n → n → d_out with ReLU between them (width
n = 400, rank r = 25, α = 16 by default, s = α/r).  The paper's data, depth details, step
count and splits were lost; our choices: d_in = 400 (= width), d_out = 10 (the data package's
`mlp5_regression`); LoRA on the three square hidden layers L1–L3 (Prop. 2's m = n = width),
L0 and L4 frozen; frozen weights Kaiming
N(0, 2/fan_in) (N(0, 1/fan_in) for L4) from `frozen_seed`; loss ½‖f(x) − y‖² summed over
outputs, averaged over the batch; probes on the middle layer L2.

`mode="linear"` is Figure 2(b)'s "Linear" baseline: L1–L3 become plainly trainable layers V
initialised at their frozen W (same initial magnitude); ν[W_LoRA] then reads ν[V_t − V₀].
`Prop1Split` reparametrises a (model, TrainConfig) pair per LoRAM Prop. 1.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import Tensor

from .base import init_lora_params, layer_params, seeded
from .lora import lora_delta, lora_scale
from .train import TrainConfig

__all__ = ["MLP5", "MLP5Frozen", "Prop1Split", "layer_magnitudes", "teacher_data"]


@dataclass(frozen=True)
class MLP5Frozen:
    weights: tuple[Tensor, ...]  # L0 … L4, each out × in


@dataclass(frozen=True)
class MLP5:
    width: int = 400
    r: int = 25
    alpha: float | None = 16.0
    rslora: bool = False
    d_in: int = 400
    d_out: int = 10
    lora_layers: tuple[int, ...] = (1, 2, 3)
    probe: int = 2
    mode: str = "lora"          # "lora" | "linear"
    frozen_seed: int = 0

    def __post_init__(self) -> None:
        if self.mode not in ("lora", "linear"):
            raise ValueError(f"mode must be 'lora' or 'linear', got {self.mode!r}")
        if not self.lora_layers or not set(self.lora_layers) <= set(range(5)):
            raise ValueError(f"lora_layers must be a non-empty subset of 0..4: {self.lora_layers}")
        if self.probe not in self.lora_layers:
            raise ValueError(f"probe layer {self.probe} carries no LoRA {self.lora_layers}")

    @property
    def scale(self) -> float:
        return lora_scale(self.r, self.alpha, self.rslora)

    @property
    def probe_layer(self) -> str:
        return f"L{self.probe}"

    def dims(self) -> list[tuple[int, int]]:
        n = self.width
        return [(n, self.d_in), (n, n), (n, n), (n, n), (self.d_out, n)]

    def build_frozen(self, *, dtype: torch.dtype = torch.float32,
                     device: torch.device | str = "cpu", seed: int | None = None) -> MLP5Frozen:
        g = seeded("frozen", self.frozen_seed if seed is None else seed)
        ws = []
        for k, (o, i) in enumerate(self.dims()):
            gain2 = 1.0 if k == 4 else 2.0
            ws.append(torch.randn(o, i, generator=g, dtype=torch.float64) * (gain2 / i) ** 0.5)
        return MLP5Frozen(tuple(w.to(dtype=dtype, device=device) for w in ws))

    def lora_weights(self, frozen: MLP5Frozen) -> dict[str, Tensor]:
        return {f"L{k}": frozen.weights[k] for k in sorted(self.lora_layers)}

    def init_params(self, frozen: MLP5Frozen, scheme: str, seeds: list[int],
                    **kw: Any) -> dict[str, Tensor]:
        """LoRA factors (mode "lora"), or V = W per run for the "linear" baseline."""
        if self.mode == "lora":
            return init_lora_params(self, frozen, scheme, seeds, **kw)
        R = len(seeds)
        return {f"{k}.V": W.expand(R, *W.shape).clone()
                for k, W in self.lora_weights(frozen).items()}

    def prefix(self, frozen: MLP5Frozen, x: Tensor) -> tuple[Tensor, Tensor]:
        """Frozen layers before the first LoRA layer k0 → (its input h, h W_k0ᵀ)."""
        k0 = min(self.lora_layers)
        for W in frozen.weights[:k0]:
            x = torch.relu(x @ W.T)
        return x, x @ frozen.weights[k0].T

    def head(self, frozen: MLP5Frozen, p: tuple[Tensor, Tensor], lora: dict[str, Tensor],
             taps: dict[str, Tensor] | None = None) -> Tensor:
        k0 = min(self.lora_layers)
        R = next(iter(lora.values())).shape[0]
        x = p[0].expand(R, *p[0].shape)
        for k in range(k0, 5):
            W, name = frozen.weights[k], f"L{k}"
            if f"{name}.V" in lora:
                zbar = torch.matmul(x, lora[f"{name}.V"].transpose(-1, -2))
            else:
                zbar = p[1].expand(R, *p[1].shape) if k == k0 else x @ W.T
                if f"{name}.A" in lora:
                    A, B, A0, B0 = layer_params(lora, name)
                    zbar = zbar + lora_delta(x, A, B, self.scale, A0, B0)
            if taps is not None and k == self.probe:
                taps["z"], taps["zbar"] = x, zbar
            x = torch.relu(zbar) if k < 4 else zbar
        return x

    def loss(self, outputs: Tensor, y: Tensor) -> Tensor:
        """½ Σ_outputs (f − y)², averaged over the batch → (runs,)."""
        return 0.5 * (outputs - y).pow(2).sum(-1).mean(-1)


def layer_magnitudes(model: MLP5, params: dict[str, Tensor],
                     init: dict[str, Tensor]) -> dict[str, dict[str, float]]:
    """Per LoRA layer: ν[A_t], ν[B_t], ν[W_LoRA^t] = ν[s(B_tA_t − B₀A₀)] (Linear mode:
    ν[V_t − V₀]) from single-run parameter dicts (LoRAM Prop. 2's magnitudes; docs/theory.md §4)."""
    out = {}
    for k in sorted(model.lora_layers):
        name = f"L{k}"
        if f"{name}.V" in params:
            out[name] = {"nu_W": float((params[f"{name}.V"] - init[f"{name}.V"]).pow(2).mean())}
            continue
        A, B = params[f"{name}.A"], params[f"{name}.B"]
        dW = model.scale * (B @ A - init[f"{name}.B"] @ init[f"{name}.A"])
        out[name] = {"nu_A": float(A.pow(2).mean()), "nu_B": float(B.pow(2).mean()),
                     "nu_W": float(dW.pow(2).mean())}
    return out


def teacher_data(model: MLP5, n_samples: int, *, n_test: int = 0, data_seed: int = 0,
                 dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu"
                 ) -> tuple[Tensor, Tensor] | tuple[tuple[Tensor, Tensor], tuple[Tensor, Tensor]]:
    """Teacher–student regression from `toy_models.data.synthetic` (a random 5-layer tanh
    teacher of the student's shape, x ~ N(0, I); `mlp5_regression` when d_in = width), drawn
    from the "data" stream of `data_seed`.  Returns (X, y), or ((X, y), (X_test, y_test))
    when `n_test` > 0."""
    from .data.synthetic import teacher_student
    ts = teacher_student(n_samples, n_test, model.d_in, model.d_out,
                         generator=seeded("data", data_seed), hidden=(model.width,) * 4,
                         activation="tanh", dtype=dtype, device=device)
    train = (ts.train.X, ts.train.y)
    return (train, (ts.test.X, ts.test.y)) if n_test else train


@dataclass(frozen=True)
class Prop1Split:
    """LoRAM Prop. 1: α = α′ α_A α_B.  Scale α′, inits α_A A, α_B B, rates α_A²η_A, α_B²η_B
    (SGD) or α_Aη_A, α_Bη_B (Adam, ε → 0) give the same W_LoRA^t for every t."""

    alpha_prime: float
    alpha_A: float = 1.0
    alpha_B: float = 1.0

    def apply(self, model: Any, cfg: TrainConfig) -> tuple[Any, TrainConfig]:
        """Reparametrise a model (any config with an `alpha` field) and its TrainConfig."""
        p = 2 if cfg.optimizer.lower() == "sgd" else 1
        a, b = self.alpha_A, self.alpha_B
        new_cfg = replace(cfg, lr=cfg.lr * a ** p, lr_ratio=cfg.lr_ratio * (b / a) ** p,
                          a_mult=cfg.a_mult * a, b_mult=cfg.b_mult * b)
        return replace(model, alpha=self.alpha_prime), new_cfg
