"""The model protocol the engine trains, and thin adapters to `toy_models` (INTERFACES.md).

A *sweep model* is one model family built at one width: frozen state built once, a `prefix`
(the run-independent part of the forward, computed once per batch and shared by every run) and a
`head` with a leading run dimension.  Parameters are named `"<layer>.A": (R, r, in)`,
`"<layer>.B": (R, out, r)` (plus frozen `"<layer>.A0"`, `"<layer>.B0"` for subtracting schemes);
the probed layer is `probe_layer`, and `head(..., taps)` stores its input `taps["z"]` and
pre-activation `taps["zbar"]` (toy_models.base).  Built-in names map to the adapters in
`adapters.py`; any `"package.module:factory"` works too (submitit workers import it).
"""
from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, Protocol

import torch
from torch import Tensor

from .spec import SpecError, SweepSpec

Params = dict[str, Tensor]


class SweepModel(Protocol):
    """One model family at one width (INTERFACES: frozen / prefix / head / loss)."""

    scale: float                                   # s of the probed LoRA layer
    probe_layer: str                               # e.g. "W" (theory, toy), "L2" (mlp5)

    def prefix(self, x: Tensor) -> Any: ...        # run-independent, once per batch
    def head(self, pre: Any, params: Params, taps: dict | None = None) -> Tensor: ...
    def loss(self, out: Tensor, y: Tensor) -> Tensor: ...         # (R,) mean per run
    def init(self, scheme: str, init_scale: float, seeds: list[int]) -> Params: ...
    def batch(self, step: int) -> tuple[Tensor, Tensor]: ...      # training batch of step t≥1
    def probe_batch(self) -> tuple[Tensor, Tensor]: ...
    def test_set(self) -> tuple[Tensor, Tensor] | None: ...
    def data_sources(self) -> dict[str, Any]: ...


ModelFactory = Callable[[int, SweepSpec, torch.device, torch.dtype], SweepModel]

BUILTIN = {
    "theory-layer": "width_sweeps.adapters:theory_layer",
    "toy": "width_sweeps.adapters:toy",
    "toy-mup": "width_sweeps.adapters:toy_mup",
    "mlp5": "width_sweeps.adapters:mlp5",
}


class ModelUnavailable(ImportError):
    """A model's implementation cannot be imported (one-line message)."""


def resolve(name: str) -> ModelFactory:
    """The factory for a built-in model name or a `module:attr` path."""
    target = BUILTIN.get(name, name)
    if ":" not in target:
        raise SpecError(f"spec field 'model': {name!r} is not a known model")
    mod_name, attr = target.split(":", 1)
    try:
        mod = importlib.import_module(mod_name)
        return getattr(mod, attr)
    except (ImportError, AttributeError) as exc:
        raise ModelUnavailable(f"model {name!r}: cannot import {target} ({exc})") from None


def build(spec: SweepSpec, width: int, device: torch.device, dtype: torch.dtype) -> SweepModel:
    """Build `spec.model` at `width` (frozen state once per width)."""
    return resolve(spec.model)(width, spec, device, dtype)


def pick_device(name: str) -> torch.device:
    """`auto` → CUDA when present, else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def pick_dtype(name: str) -> torch.dtype:
    return {"float32": torch.float32, "float64": torch.float64}[name]


def accuracy(out: Tensor, y: Tensor) -> Tensor | None:
    """Per-run accuracy for class logits `(R, b, C)` and integer labels; else None."""
    if y.dtype in (torch.int64, torch.int32) and out.dim() == 3 and out.shape[-1] > 1:
        return (out.argmax(-1) == y).to(out.dtype).mean(-1)
    return None
