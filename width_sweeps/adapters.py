"""Thin adapters from `toy_models` (TheoryLayer, ToyModel, MLP5) to the engine's `SweepModel`.

A `Bound` model is a toy_models config + its frozen state (built once per width) + the data the
sweep uses: training batches from `toy_models.base.batch_schedule` (shared by every run, so the
prefix is shareable), a fixed probe batch (the first `probe_batch` training examples, as the
reference loop's default) and the test set where the model has one.  Spec `model_options` are
passed through (documented per factory below).

Large widths: `TheoryLayer.build_frozen` materialises the n × n W, which cannot
exist at n = 2^16 (34 GB in float64).  Above `dense_max_width` (default 4096) the adapter uses an
*implicit* W: only `W z` enters the model, and for W ~ N(0, 1/n) independent of z its law is
N(0, ‖z‖²/n) per entry, drawn directly (w_init "zero": W z = 0).  Init schemes then see a
stride-0 float64 placeholder of W's shape, so only the Gaussian schemes (which use W's shape
alone) are allowed there.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from . import validation as v
from .spec import SpecError, SweepSpec

GAUSSIAN = ("A", "B", "AB", "AB-practical", "AB+", "zero")
DATASETS = ("mnist", "fashion-mnist")

# model_options of each built-in model: key → (kind, argument); kinds: int (minimum), num
# (finite > 0), choice (allowed values), bool, layers (a non-empty subset of 0..4)
OPTIONS: dict[str, dict[str, tuple[str, Any]]] = {
    "theory-layer": {"w_init": ("choice", ("kaiming", "zero")), "dense_max_width": ("int", 1)},
    "toy": {"finetune_data": ("choice", DATASETS), "n_train": ("int", 1), "n_test": ("int", 1),
            "pretrain_steps": ("int", 0), "pretrain_lr": ("num", None),
            "pretrain_batch": ("int", 1), "pretrain_seed": ("int", 0),
            "pretrain_data": ("choice", DATASETS), "rslora": ("bool", None),
            "d": ("choice", (784,)), "classes": ("choice", (10,)),
            "parametrization": ("choice", ("sp", "mup")), "base_width": ("int", 1)},
    "mlp5": {"n_train": ("int", 1), "n_test": ("int", 1), "d_in": ("int", 1),
             "d_out": ("int", 1), "lora_layers": ("layers", None), "probe": ("int", 0)},
}
OPTIONS["toy-mup"] = OPTIONS["toy"]


def check_options(spec: SweepSpec) -> dict[str, Any]:
    """Every key and value of `spec.model_options` for a built-in model (one-line
    `SpecError` naming `model_options.KEY` and the value)."""
    allowed = OPTIONS[spec.model]
    o = spec.model_options
    for k, val in o.items():
        name = f"model_options.{k}"
        if k not in allowed:
            v.fail(name, f"not an option of {spec.model} (valid: {', '.join(sorted(allowed))})")
        kind, arg = allowed[k]
        if kind == "int":
            v.check_int(name, val, arg)
        elif kind == "num":
            v.check_num(name, val, gt=0)
        elif kind == "bool":
            v.check_bool(name, val)
        elif kind == "choice" and (isinstance(val, bool) or val not in arg):
            v.fail(name, f"{val!r} is not one of {', '.join(map(str, arg))}")
        elif kind == "layers" and not (isinstance(val, list) and val and all(
                v.is_int(x) and 0 <= x <= 4 for x in val) and len(set(val)) == len(val)):
            v.fail(name, f"{val!r} is not a non-empty list of distinct layers 0..4")
    if spec.model == "mlp5":
        layers = o.get("lora_layers", [1, 2, 3])
        if o.get("probe", 2) not in layers:
            v.fail("model_options.probe", f"{o.get('probe', 2)!r} carries no LoRA (lora_layers "
                   f"= {layers})")
    return o


@dataclass
class Bound:
    """A toy_models model bound to its frozen state and data (the engine's SweepModel)."""
    model: Any
    frozen: Any
    train: tuple[Tensor, Tensor]
    sched: Tensor
    probe: tuple[Tensor, Tensor]
    test: tuple[Tensor, Tensor] | None
    sources: dict[str, Any] = field(default_factory=dict)
    allowed: tuple[str, ...] | None = None

    @property
    def scale(self) -> float:
        return self.model.scale

    @property
    def probe_layer(self) -> str:
        return self.model.probe_layer

    def prefix(self, x: Tensor) -> Any:
        return self.model.prefix(self.frozen, x)

    def head(self, pre: Any, params: dict[str, Tensor], taps: dict | None = None) -> Tensor:
        return self.model.head(self.frozen, pre, params, taps)

    def loss(self, out: Tensor, y: Tensor) -> Tensor:
        return self.model.loss(out, y)

    def init(self, scheme: str, init_scale: float, seeds: list[int]) -> dict[str, Tensor]:
        from toy_models.base import init_lora_params
        if self.allowed is not None and scheme not in self.allowed:
            raise SpecError(f"spec field 'schemes': {scheme!r} needs the dense W; use widths "
                            f"<= model_options.dense_max_width or a Gaussian scheme")
        if hasattr(self.model, "init_params"):
            return self.model.init_params(self.frozen, scheme, seeds, init_scale=init_scale)
        return init_lora_params(self.model, self.frozen, scheme, seeds, init_scale=init_scale)

    def batch(self, step: int) -> tuple[Tensor, Tensor]:
        idx = self.sched[step - 1].to(self.train[0].device)
        return self.train[0][idx], self.train[1][idx]

    def probe_batch(self) -> tuple[Tensor, Tensor]:
        return self.probe

    def test_set(self) -> tuple[Tensor, Tensor] | None:
        return self.test

    def data_sources(self) -> dict[str, Any]:
        return self.sources


def _bind(model: Any, frozen: Any, spec: SweepSpec, X: Tensor, y: Tensor,
          test: tuple[Tensor, Tensor] | None, sources: dict, allowed=None) -> Bound:
    from toy_models.base import batch_schedule
    sched = batch_schedule(X.shape[0], spec.batch_size, spec.steps, spec.data_seed)
    pb = min(spec.probe_batch, X.shape[0])
    return Bound(model, frozen, (X, y), sched, (X[:pb], y[:pb]), test, sources, allowed)


@dataclass(frozen=True)
class ImplicitTheoryFrozen:
    """Frozen state of the theory layer without its n × n W (see module doc)."""
    W: Tensor          # stride-0 float64 placeholder of shape (n, n): shape only
    Wz: Tensor         # W z of the fixed data points, drawn once from its exact law


class ImplicitTheory:
    """TheoryLayer with W z drawn once from its law instead of a stored W.

    The theory data are a fixed full batch and the probe batch is its first rows, so
    `prefix(x)` pairs the k rows of x with the first k rows of the stored W z."""

    def __init__(self, layer: Any) -> None:
        self.layer = layer
        self.r, self.alpha, self.rslora = layer.r, layer.alpha, layer.rslora

    scale = property(lambda self: self.layer.scale)
    probe_layer = property(lambda self: self.layer.probe_layer)

    def build(self, z: Tensor) -> ImplicitTheoryFrozen:
        from toy_models.base import seeded
        n = self.layer.width
        W = torch.zeros(1, 1, dtype=torch.float64).expand(n, n)
        e = torch.randn(z.shape, generator=seeded("frozen", self.layer.frozen_seed),
                        dtype=torch.float64).to(z.device, z.dtype)
        std = 0.0 if self.layer.w_init == "zero" else 1.0
        return ImplicitTheoryFrozen(W, e * std * z.pow(2).mean(-1, keepdim=True).sqrt())

    def lora_weights(self, frozen: ImplicitTheoryFrozen) -> dict[str, Tensor]:
        return {"W": frozen.W}

    def prefix(self, frozen: ImplicitTheoryFrozen, x: Tensor):
        from toy_models.theory import TheoryPrefix
        return TheoryPrefix(x, frozen.Wz[: x.shape[0]])

    def head(self, frozen, p, lora, taps=None):
        return self.layer.head(frozen, p, lora, taps)

    def loss(self, outputs: Tensor, y: Tensor) -> Tensor:
        return self.layer.loss(outputs, y)


def theory_layer(width: int, spec: SweepSpec, device: torch.device, dtype: torch.dtype) -> Bound:
    """`theory-layer`: toy_models.theory.TheoryLayer on `batch_size` fixed points (full batch).

    model_options: `w_init` ("kaiming" | "zero", default "kaiming"), `dense_max_width` (4096).
    """
    from toy_models.theory import TheoryLayer, make_theory_data
    o = check_options(spec)
    layer = TheoryLayer(width=width, r=spec.rank, alpha=spec.alpha,
                        w_init=o.get("w_init", "kaiming"), frozen_seed=spec.frozen_seed)
    z, y = make_theory_data(width, spec.batch_size, data_seed=spec.data_seed, dtype=dtype,
                            device=device)
    src = {"data": f"toy_models.theory.make_theory_data(n={width}, batch={spec.batch_size}, "
                   f"data_seed={spec.data_seed})"}
    if width > int(o.get("dense_max_width", 4096)):
        model = ImplicitTheory(layer)
        src["W"] = "implicit: W z drawn from its N(0, ||z||^2/n) law (no n x n matrix)"
        return _bind(model, model.build(z), spec, z, y, None, src, GAUSSIAN)
    src["W"] = f"toy_models.theory dense W ({layer.w_init}, frozen_seed={spec.frozen_seed})"
    return _bind(layer, layer.build_frozen(dtype=dtype, device=device), spec, z, y, None, src)


def toy(width: int, spec: SweepSpec, device: torch.device, dtype: torch.dtype) -> Bound:
    """`toy`: Beyond Zero Init's MNIST-pretrained MLP fine-tuned on Fashion-MNIST (toy_models.toy).

    model_options: `finetune_data` ("fashion-mnist"), `n_train`, `n_test` (subsets; default
    all), and any ToyModel field (`pretrain_steps`, `pretrain_lr`, `pretrain_data`, `d`, ...).
    """
    from dataclasses import fields

    from toy_models.toy import ToyModel, load_data, load_or_pretrain
    tf = {f.name for f in fields(ToyModel)} - {"width", "r", "alpha"}
    o = check_options(spec)
    model = ToyModel(width=width, r=spec.rank, alpha=spec.alpha,
                     **{k: v for k, v in o.items() if k in tf})
    frozen, info = load_or_pretrain(model, device=str(device), dtype=dtype)
    name = o.get("finetune_data", "fashion-mnist")
    X, y = load_data(name, "train")
    Xt, yt = load_data(name, "test")
    X, y = X[: o.get("n_train", len(X))], y[: o.get("n_train", len(y))]
    Xt, yt = Xt[: o.get("n_test", len(Xt))], yt[: o.get("n_test", len(yt))]
    cast = {"device": device, "dtype": dtype}
    src = {"finetune": f"{name} train[:{len(X)}] / test[:{len(Xt)}]",
           "pretrained": {k: info.get(k) for k in ("path", "cached", "test_acc", "key")}}
    return _bind(model, frozen, spec, X.to(**cast), y.to(device), (Xt.to(**cast), yt.to(device)),
                 src)


def toy_mup(width: int, spec: SweepSpec, device: torch.device, dtype: torch.dtype) -> Bound:
    """`toy-mup`: the toy pretrained in μP (toy_models.mup; docs/theory.md §7–8), the testbed
    of width checks.  model_options: those of `toy`; the pretraining defaults are the μP
    testbed's (`toy_models.mup.MUP_DEFAULTS`: base width 128, base rate 2^-9, 500 steps)."""
    return toy(width, _mup_spec(spec), device, dtype)


def _mup_spec(spec: SweepSpec) -> SweepSpec:
    from toy_models.mup import MUP_DEFAULTS
    check_options(spec)
    return dataclasses.replace(spec, model_options={**MUP_DEFAULTS, **spec.model_options})


def toy_checkpoint_cached(spec: SweepSpec, width: int) -> bool:
    """Whether the pretrained toy of `spec` (`toy` or `toy-mup`) at `width` is in the
    checkpoint cache."""
    from dataclasses import fields

    from toy_models.toy import ToyModel, checkpoint_path, data_fingerprint, load_data
    if spec.model == "toy-mup":
        spec = _mup_spec(spec)
    tf = {f.name for f in fields(ToyModel)} - {"width", "r", "alpha"}
    o = check_options(spec)
    model = ToyModel(width=width, r=spec.rank, alpha=spec.alpha,
                     **{k: v for k, v in o.items() if k in tf})
    return checkpoint_path(model, data_fingerprint(*load_data(model.pretrain_data,
                                                               "train"))).exists()


def mlp5(width: int, spec: SweepSpec, device: torch.device, dtype: torch.dtype) -> Bound:
    """`mlp5`: LoRAM's 5-layer MLP on teacher–student regression (toy_models.mlp5).

    model_options: `n_train` (1024), `n_test` (256), and MLP5 fields (`d_in`, `d_out`,
    `lora_layers`, `probe`).
    """
    from toy_models.mlp5 import MLP5, teacher_data
    o = check_options(spec)
    kw = {k: (tuple(v) if k == "lora_layers" else v) for k, v in o.items()
          if k in ("d_in", "d_out", "lora_layers", "probe")}
    model = MLP5(width=width, r=spec.rank, alpha=spec.alpha if spec.alpha else 16.0,
                 frozen_seed=spec.frozen_seed, **kw)
    n_tr, n_te = int(o.get("n_train", 1024)), int(o.get("n_test", 256))
    X, y = teacher_data(model, n_tr + n_te, data_seed=spec.data_seed, dtype=dtype, device=device)
    src = {"data": f"toy_models.mlp5.teacher_data({n_tr}+{n_te}, data_seed={spec.data_seed})"}
    return _bind(model, model.build_frozen(dtype=dtype, device=device), spec, X[:n_tr],
                 y[:n_tr], (X[n_tr:], y[n_tr:]), src)
