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

from gamma_calc.errors import UserError

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
    "mlp5": "width_sweeps.adapters:mlp5",
}


class ModelUnavailable(UserError):
    """A model's implementation cannot be imported (one-line message, exit code 2)."""


def resolve(name: str) -> ModelFactory:
    """The factory for a built-in model name or a `module:attr` path."""
    target = BUILTIN.get(name, name)
    if ":" not in target:
        raise SpecError(f"spec field 'model': {name!r} is not a known model")
    mod_name, attr = target.split(":", 1)
    try:
        mod = importlib.import_module(mod_name)
        return getattr(mod, attr)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ModelUnavailable(f"spec field 'model': cannot import {target!r} ({exc})") from None


def check_options(spec: SweepSpec) -> None:
    """Validate `spec.model_options` before anything is written (built-in models: every key
    and value; a `module:factory` model checks its own when built)."""
    if spec.model in BUILTIN:
        from .adapters import check_options as check
        check(spec)
    else:
        resolve(spec.model)


def has_fused_head(spec: SweepSpec) -> bool:
    """Whether the engine will use a hand-written forward/backward (width_sweeps.fused)."""
    return bool(spec.fused) and spec.model in ("toy", "theory-layer")


def build(spec: SweepSpec, width: int, device: torch.device, dtype: torch.dtype) -> SweepModel:
    """Build `spec.model` at `width` (frozen state once per width)."""
    return resolve(spec.model)(width, spec, device, dtype)


def pick_device(name: str, label: str = "spec field 'device'") -> torch.device:
    """`auto` → CUDA when present, else CPU; `cpu`, `cuda`, `cuda:k` only where they exist
    (else a `UserError` naming `label` and the value)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if not (isinstance(name, str) and (name == "cuda" or (
            name.startswith("cuda:") and name[5:].isdigit()))):
        raise UserError(f"{label}: {name!r} is not auto, cpu, cuda or cuda:k")
    if not torch.cuda.is_available():
        why = "torch was built without CUDA" if torch.version.cuda is None else "no GPU visible"
        raise UserError(f"{label}: {name!r} requested but CUDA is not available here ({why}); "
                        "use cpu or auto")
    dev = torch.device(name)
    if dev.index is not None and dev.index >= torch.cuda.device_count():
        raise UserError(f"{label}: {name!r} does not exist ({torch.cuda.device_count()} CUDA "
                        "device(s) here)")
    return dev


def numerics(spec: SweepSpec, device: torch.device) -> dict[str, Any]:
    """The settings that decide a shard's values at rounding level (docs/width_sweeps.md,
    Determinism): device, torch version, the block size and thread counts the engine uses,
    and whether the hand-written head runs.  Recorded in every shard; a resume must match."""
    from .optim import has_fused_adam
    cpu = device.type == "cpu"
    name = "cpu" if cpu else f"cuda:{torch.cuda.get_device_name(device)}"
    return {"device": name, "torch": torch.__version__, "dtype": spec.dtype,
            "block_runs": (spec.block_runs or 8) if cpu else (spec.block_runs or "all"),
            "workers": (spec.workers or torch.get_num_threads())
            if cpu and not (spec.compile and not has_fused_adam()) else 1,
            "threads": torch.get_num_threads() if cpu else None,
            "fused": has_fused_head(spec),
            "compiled_adam": bool(spec.compile) and not has_fused_adam()}


def pick_dtype(name: str) -> torch.dtype:
    return {"float32": torch.float32, "float64": torch.float64}[name]


def accuracy(out: Tensor, y: Tensor) -> Tensor | None:
    """Per-run accuracy for class logits `(R, b, C)` and integer labels; else None."""
    if y.dtype in (torch.int64, torch.int32) and out.dim() == 3 and out.shape[-1] > 1:
        return (out.argmax(-1) == y).to(out.dtype).mean(-1)
    return None
