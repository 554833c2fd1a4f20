"""What every LoRA model here shares: the structure the sweep engine batches over.

A model (TheoryLayer, ToyModel, MLP5) is a config dataclass with methods

* `build_frozen(dtype=, device=)` → the frozen state (built once per width, run-independent);
* `lora_weights(frozen)` → {layer name: W (out × in)} — the weights the LoRA layers adapt;
* `prefix(frozen, x)` → the run-independent part of the forward, computed once per batch;
* `head(frozen, prefix_out, lora, taps=None)` → outputs (runs, batch, …) where `lora` maps
  "<layer>.A" (runs, r, in), "<layer>.B" (runs, out, r) and, for subtracting schemes, the
  frozen "<layer>.A0", "<layer>.B0"; if `taps` is a dict, the head stores the probe layer's
  input "z" (runs, batch, in) and pre-activation output "zbar" (runs, batch, out) in it;
* `loss(outputs, y)` → (runs,) per-run loss.

Seeds: a run's `seed` drives its LoRA init only (`run_generator`); the data order comes from
a separate `data_seed` shared by all runs (`batch_schedule`), so prefixes are shareable.
"""
from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import torch
from torch import Tensor

from .inits import get_init
from .lora import lora_delta

__all__ = ["TRAINABLE", "LoRAModel", "batch_schedule", "init_lora_params", "run_generator",
           "seeded"]

TRAINABLE = ("A", "B")


class LoRAModel(Protocol):
    @property
    def r(self) -> int: ...

    @property
    def scale(self) -> float: ...
    @property
    def probe_layer(self) -> str: ...
    def build_frozen(self, *, dtype: torch.dtype, device: torch.device | str) -> Any: ...
    def lora_weights(self, frozen: Any) -> dict[str, Tensor]: ...
    def prefix(self, frozen: Any, x: Tensor) -> Any: ...
    def head(self, frozen: Any, p: Any, lora: dict[str, Tensor],
             taps: dict[str, Tensor] | None = None) -> Tensor: ...
    def loss(self, outputs: Tensor, y: Tensor) -> Tensor: ...


# Independent random streams: the same integer seed in two roles must not give the same
# numbers (a run seed 0 and a data seed 0 would otherwise draw identical Gaussians).
STREAMS = {"lora": 1, "data": 2, "frozen": 3, "batches": 4, "pretrain": 5}


def seeded(stream: str, seed: int) -> torch.Generator:
    """A CPU generator for (`stream`, `seed`), mixed by numpy's SeedSequence (portable)."""
    state = np.random.SeedSequence([STREAMS[stream], int(seed)]).generate_state(2, np.uint32)
    return torch.Generator(device="cpu").manual_seed(int(state[0]) << 31 | int(state[1]) >> 1)


def run_generator(seed: int) -> torch.Generator:
    """The CPU generator of one run's LoRA init (draws are moved to the device afterwards)."""
    return seeded("lora", seed)


def init_lora_params(model: LoRAModel, frozen: Any, scheme: str, seeds: list[int], *,
                     init_scale: float = 1.0, a_mult: float = 1.0, b_mult: float = 1.0,
                     rslora: bool = False, alpha: float | None = None) -> dict[str, Tensor]:
    """LoRA parameters for `len(seeds)` runs, leading run dim, run k drawn from seed k.

    Layers are initialised in `lora_weights` order from each run's generator.  `a_mult`,
    `b_mult` multiply the factors after the scheme (Prop. 1's α_A, α_B); the subtracted
    product is the unmultiplied s·B₀A₀ (which equals s′·(α_B B₀)(α_A A₀) with s′ = s/(α_Aα_B)).
    `alpha`/`rslora` default to the model's own (`model.alpha`, `model.rslora`).
    """
    sch = get_init(scheme)
    gens = [run_generator(s) for s in seeds]
    alpha = getattr(model, "alpha", None) if alpha is None else alpha
    rslora = rslora or getattr(model, "rslora", False)
    out: dict[str, Tensor] = {}
    for name, W in model.lora_weights(frozen).items():
        ini = sch.init(W, model.r, generator=gens, runs=len(seeds), init_scale=init_scale,
                       alpha=alpha, rslora=rslora)
        out[f"{name}.A"] = ini.A * a_mult
        out[f"{name}.B"] = ini.B * b_mult
        if ini.subtract:  # frozen copies of the (multiplied) initial factors:
            # s′·(α_B B₀)(α_A A₀) = s·B₀A₀ with the model's s′ = s/(α_A α_B)
            out[f"{name}.A0"] = out[f"{name}.A"].clone()
            out[f"{name}.B0"] = out[f"{name}.B"].clone()
    return out


def layer_params(lora: dict[str, Tensor], name: str) -> tuple[Tensor, Tensor, Tensor | None,
                                                              Tensor | None]:
    """(A, B, A0, B0) of one layer from a parameter dict."""
    return (lora[f"{name}.A"], lora[f"{name}.B"], lora.get(f"{name}.A0"),
            lora.get(f"{name}.B0"))


def lora_head(z: Tensor, zW: Tensor, lora: dict[str, Tensor], name: str, scale: float,
              taps: dict[str, Tensor] | None = None) -> Tensor:
    """z̄ = z Wᵀ + s·(B A − B₀A₀) z for every run, from the shared prefix (z, z Wᵀ); records
    the probes' taps (the layer input per run and z̄) when asked."""
    A, B, A0, B0 = layer_params(lora, name)
    zbar = zW + lora_delta(z, A, B, scale, A0, B0)
    if taps is not None:
        taps["z"] = z.expand(A.shape[0], *z.shape)
        taps["zbar"] = zbar
    return zbar


def batch_schedule(n_data: int, batch_size: int, steps: int, data_seed: int) -> Tensor:
    """Indices (steps, batch) of the training batches: epoch-wise random permutations from a
    CPU generator seeded `data_seed`; a full batch (batch_size ≥ n_data) is every index, in
    order, every step.  Shared by every run (and by the batched engine)."""
    if batch_size >= n_data:
        return torch.arange(n_data).expand(steps, n_data).clone()
    if steps <= 0:
        return torch.empty(0, batch_size, dtype=torch.long)
    g = seeded("batches", data_seed)
    per_epoch = n_data // batch_size  # drop the ragged tail of each epoch
    epochs = -(-steps // per_epoch)
    perms = [torch.randperm(n_data, generator=g)[: per_epoch * batch_size] for _ in range(epochs)]
    return torch.cat(perms).view(-1, batch_size)[:steps]
