"""Beyond Zero Init's toy model (§3.4, App. D.1; docs/theory.md §8.2): MNIST pretraining →
Fashion-MNIST LoRA.

    f(x) = W_out φ((W + s·(BA − B₀A₀)) φ(W_in x)),   φ = ReLU, no biases,
    W_in: n × d, W: n × n (the LoRA layer), W_out: classes × n;  d = 784, n = 4096, r = 32.

Pretraining (all of W_in, W, W_out): AdamW(0.9, 0.999, 1e−8, wd 0), batch 64, cross-entropy,
in one of two parametrisations (toy_models.mup, docs/theory.md §7–8):

* `parametrization="sp"` (default; the paper's toy): Kaiming-normal init — N(0, 2/fan_in) for
  W_in and W (ReLU follows), N(0, 1/fan_in) for W_out (logits) — and one rate for every weight,
  2000 steps.  The paper's rate was lost; ours is PRETRAIN_LR (docs/toy_models.md has the
  small-width scan behind it).  SP changes the trained W_in with the width, so the LoRA input
  z = φ(W_in x) does not keep Θ(1) entries across widths: use it at one width (the papers'
  n = 4096), not for width checks.
* `parametrization="mup"` (the testbed of width checks, model `toy-mup`): μP's per-role init
  variances and Adam rates η_l = pretrain_lr·(n/base_width)^{c_l}, derived by gamma_calc.

The checkpoint is cached on disk under `$GAMMAKIT_CACHE` (default
~/.cache/gammakit/checkpoints), keyed by a hash of the full pretraining config plus a
fingerprint of the training data.  Fine-tuning trains only A, B (train.train_reference) with
any registry scheme.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import pickle
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from .base import batch_schedule, lora_head, seeded
from .lora import lora_scale
from .mup import MUP_BASE_WIDTH, scaling

__all__ = [
    "PRETRAIN_LR",
    "ToyFrozen",
    "ToyModel",
    "ToyPrefix",
    "cache_dir",
    "data_fingerprint",
    "load_data",
    "load_or_pretrain",
    "pretrain",
    "pretrain_summary",
    "test_losses",
]

PRETRAIN_LR = 3e-4


def load_data(name: str, split: str) -> tuple[Tensor, Tensor]:
    """`toy_models.data.load_dataset` as torch tensors: X float32 (N, 784), y int64."""
    from .data import load_dataset
    X, y = load_dataset(name, split)
    return torch.as_tensor(np.ascontiguousarray(X)), torch.as_tensor(np.ascontiguousarray(y))


def cache_dir() -> Path:
    return Path(os.environ.get("GAMMAKIT_CACHE", Path.home() / ".cache/gammakit/checkpoints"))


@dataclass(frozen=True)
class ToyFrozen:
    W_in: Tensor   # n × d
    W: Tensor      # n × n
    W_out: Tensor  # classes × n


@dataclass(frozen=True)
class ToyPrefix:
    h: Tensor    # φ(W_in x): (batch, n), shared by runs
    hW: Tensor   # h Wᵀ, computed once


@dataclass(frozen=True)
class ToyModel:
    """Config (pretraining + LoRA) and the model methods of base.LoRAModel."""

    width: int = 4096
    d: int = 784
    classes: int = 10
    r: int = 32
    alpha: float | None = None       # None: s = 1
    rslora: bool = False
    pretrain_lr: float = PRETRAIN_LR
    pretrain_steps: int = 2000
    pretrain_batch: int = 64
    pretrain_seed: int = 0
    pretrain_data: str = "mnist"
    parametrization: str = "sp"      # "sp" | "mup" (toy_models.mup)
    base_width: int = MUP_BASE_WIDTH  # μP's n₀ (unused by SP)

    @property
    def scale(self) -> float:
        return lora_scale(self.r, self.alpha, self.rslora)

    @property
    def probe_layer(self) -> str:
        return "W"

    def pretrain_key(self) -> dict:
        keep = ("width", "d", "classes", "pretrain_lr", "pretrain_steps", "pretrain_batch",
                "pretrain_seed", "pretrain_data")
        key = {k: v for k, v in asdict(self).items() if k in keep}
        key.update(optimizer="adamw", betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                   init="kaiming-normal", version=1)
        if self.parametrization != "sp":   # SP keys predate the field: their caches stay valid
            key.update(parametrization=self.parametrization, base_width=self.base_width,
                       init=f"{self.parametrization}-normal")
        return key

    def parametrized(self):
        """Init stds and per-weight rates of this config (toy_models.mup.scaling)."""
        return scaling(self.parametrization, self.width, self.d, self.pretrain_lr,
                       self.base_width)

    def build_frozen(self, *, dtype: torch.dtype = torch.float32,
                     device: torch.device | str = "cpu") -> ToyFrozen:
        """The pretrained weights (cached; pretrained on MNIST on a cache miss)."""
        return load_or_pretrain(self, device=str(device), dtype=dtype)[0]

    def lora_weights(self, frozen: ToyFrozen) -> dict[str, Tensor]:
        return {"W": frozen.W}

    def prefix(self, frozen: ToyFrozen, x: Tensor) -> ToyPrefix:
        h = torch.relu(x @ frozen.W_in.T)
        return ToyPrefix(h, h @ frozen.W.T)

    def head(self, frozen: ToyFrozen, p: ToyPrefix, lora: dict[str, Tensor],
             taps: dict[str, Tensor] | None = None) -> Tensor:
        zbar = lora_head(p.h, p.hW, lora, "W", self.scale, taps)
        return torch.relu(zbar) @ frozen.W_out.T

    def loss(self, outputs: Tensor, y: Tensor) -> Tensor:
        """Mean cross-entropy over the batch → (runs,)."""
        R, b, c = outputs.shape
        ce = F.cross_entropy(outputs.reshape(R * b, c), y.repeat(R), reduction="none")
        return ce.view(R, b).mean(-1)


def _normal(shape: tuple[int, int], std: float, g: torch.Generator) -> Tensor:
    return torch.randn(shape, generator=g, dtype=torch.float64) * std


def test_losses(frozen: ToyFrozen, X: Tensor, y: Tensor, chunk: int = 2000
                ) -> tuple[Tensor, Tensor]:
    """Per-example cross-entropy and correctness (float64, bool) of the pretrained network."""
    losses, correct = [], []
    with torch.no_grad():
        for i in range(0, X.shape[0], chunk):
            h = torch.relu(torch.relu(X[i:i + chunk] @ frozen.W_in.T) @ frozen.W.T)
            logits = h @ frozen.W_out.T
            losses.append(F.cross_entropy(logits, y[i:i + chunk], reduction="none").double())
            correct.append(logits.argmax(-1) == y[i:i + chunk])
    return torch.cat(losses), torch.cat(correct)


def pretrain(model: ToyModel, train: tuple[Tensor, Tensor], *, device: str = "cpu",
             dtype: torch.dtype = torch.float32, log_every: int = 0,
             info: dict | None = None) -> ToyFrozen:
    """Pretrain W_in, W, W_out (Beyond Zero Init App. D.1) in `model.parametrization` and return
    them as a frozen state.  `info` (optional dict) receives the mean batch loss of the last tenth
    of the steps (`train_loss_last`)."""
    g = seeded("pretrain", model.pretrain_seed)
    n, d, c = model.width, model.d, model.classes
    par = model.parametrized()
    shapes = {"W_in": (n, d), "W": (n, n), "W_out": (c, n)}
    ws = [_normal(shape, par.init_std[k], g).to(device=device, dtype=dtype).requires_grad_(True)
          for k, shape in shapes.items()]
    groups = [{"params": [w], "lr": par.lr[k]} for k, w in zip(shapes, ws)]
    opt = torch.optim.AdamW(groups, lr=model.pretrain_lr, betas=(0.9, 0.999), eps=1e-8,
                            weight_decay=0.0)
    X, y = train[0].to(device=device, dtype=dtype), train[1].to(device)
    sched = batch_schedule(X.shape[0], model.pretrain_batch, model.pretrain_steps,
                           model.pretrain_seed)
    tail = max(1, model.pretrain_steps // 10)
    last = torch.zeros((), dtype=torch.float64)
    for t, idx in enumerate(sched, 1):
        idx = idx.to(device)
        logits = torch.relu(torch.relu(X[idx] @ ws[0].T) @ ws[1].T) @ ws[2].T
        loss = F.cross_entropy(logits, y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if t > model.pretrain_steps - tail:
            last += loss.detach().double().cpu()
        if log_every and t % log_every == 0:
            print(f"pretrain step {t}: loss {float(loss.detach()):.4f}", flush=True)
    if info is not None:
        info["train_loss_last"] = float(last) / tail if model.pretrain_steps else float("nan")
    return ToyFrozen(*(w.detach() for w in ws))


def data_fingerprint(X: Tensor, y: Tensor) -> str:
    h = hashlib.sha256(X.detach().cpu().float().contiguous().numpy().tobytes())
    h.update(y.detach().cpu().long().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def checkpoint_path(model: ToyModel, fingerprint: str, root: Path | None = None) -> Path:
    key = json.dumps({**model.pretrain_key(), "data": fingerprint}, sort_keys=True)
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return (root or cache_dir()) / f"toy-n{model.width}-{digest}.pt"


def load_or_pretrain(model: ToyModel, *, train: tuple[Tensor, Tensor] | None = None,
                     test: tuple[Tensor, Tensor] | None = None, device: str = "cpu",
                     dtype: torch.dtype = torch.float32, root: Path | None = None,
                     force: bool = False, log_every: int = 0) -> tuple[ToyFrozen, dict]:
    """The cached pretrained toy (pretraining it on a miss).  `info` holds the cache path,
    whether it was cached, the pretraining wall time and the test loss/accuracy."""
    train = train if train is not None else load_data(model.pretrain_data, "train")
    test = test if test is not None else load_data(model.pretrain_data, "test")
    path = checkpoint_path(model, data_fingerprint(*train), root)
    if path.exists() and not force:
        try:
            ck = torch.load(path, map_location=device, weights_only=True)
            frozen = ToyFrozen(*(ck["state"][k].to(dtype) for k in ("W_in", "W", "W_out")))
        except (RuntimeError, EOFError, KeyError, TypeError, ValueError,
                pickle.UnpicklingError) as exc:
            from .data import DataError
            raise DataError(path, f"corrupted checkpoint ({str(exc).splitlines()[0][:120]}); "
                            "delete it, or pretrain again with --force") from None
        return frozen, {**ck["info"], "cached": True, "path": str(path)}
    frozen, info = _pretrain_and_test(model, train, test, device, log_every)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")    # concurrent pretrainings of one key
    torch.save({"state": {"W_in": frozen.W_in.cpu(), "W": frozen.W.cpu(),
                          "W_out": frozen.W_out.cpu()}, "info": info}, tmp)
    tmp.replace(path)
    frozen = ToyFrozen(*(w.to(dtype) for w in (frozen.W_in, frozen.W, frozen.W_out)))
    return frozen, {**info, "cached": False, "path": str(path)}


def pretrain_summary(model: ToyModel, *, train: tuple[Tensor, Tensor] | None = None,
                     test: tuple[Tensor, Tensor] | None = None, device: str = "cpu",
                     root: Path | None = None, fingerprint: str | None = None) -> dict:
    """`info` of a pretraining (test loss/accuracy, final training loss, wall time) without
    keeping the weights: read from the checkpoint or a `.json` summary under the same key,
    else pretrained and summarised (rate sweeps need the losses of many configs, not their
    weights).  A pretraining that diverged reports test_loss = inf.  `fingerprint`
    (data_fingerprint of `train`) saves rehashing the data when many configs are summarised."""
    train = train if train is not None else load_data(model.pretrain_data, "train")
    test = test if test is not None else load_data(model.pretrain_data, "test")
    path = checkpoint_path(model, fingerprint or data_fingerprint(*train), root)
    summary = path.with_suffix(".json")
    if path.exists():
        info = torch.load(path, map_location="cpu", weights_only=True)["info"]
        return {**info, "cached": True, "path": str(path)}
    if summary.exists():
        return {**json.loads(summary.read_text()), "cached": True, "path": str(summary)}
    _, info = _pretrain_and_test(model, train, test, device, 0)
    summary.parent.mkdir(parents=True, exist_ok=True)
    tmp = summary.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(info, sort_keys=True))
    tmp.replace(summary)
    return {**info, "cached": False, "path": str(summary)}


def _pretrain_and_test(model: ToyModel, train: tuple[Tensor, Tensor],
                       test: tuple[Tensor, Tensor], device: str, log_every: int
                       ) -> tuple[ToyFrozen, dict]:
    """Pretrain (always in float32: the key has no dtype) and evaluate on the test set."""
    info: dict = {}
    t0, c0 = time.perf_counter(), time.process_time()
    frozen = pretrain(model, train, device=device, dtype=torch.float32, log_every=log_every,
                      info=info)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    per, correct = test_losses(frozen, test[0].to(device=device, dtype=torch.float32),
                               test[1].to(device))
    loss = float(per.mean())
    if not math.isfinite(loss):
        loss = math.inf
    info.update({"pretrain_wall_s": wall, "pretrain_cpu_s": cpu, "test_loss": loss,
                 "test_acc": float(correct.double().mean()),
                 "n_train": int(train[0].shape[0]), "n_test": int(test[0].shape[0]),
                 "device": str(device), "threads": torch.get_num_threads(),
                 "key": model.pretrain_key()})
    return frozen, info
