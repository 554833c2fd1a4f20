"""The frozen prefix of a sweep model: its cache, row slicing and stacking, test evaluation.

A sweep model splits into a frozen *prefix* (computed once per batch, shared by every run of a
width) and a per-run *head* holding the LoRA factors.  :class:`PrefixCache` keeps prefix
outputs across the shards of one width; :func:`slice_rows` / :func:`cat_rows` take and stack
rows of a prefix output (tensor, tuple/list, dict or dataclass); :func:`evaluate` runs the head
of every run over the whole test set, block by cached prefix block.
"""
from __future__ import annotations

import dataclasses
import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from .models import Params, SweepModel, accuracy


@dataclass
class PrefixCache:
    """Frozen-prefix outputs keyed by batch, shared by the shards of one width (thread-safe:
    the value is computed outside the lock; a key computed twice keeps the first value)."""
    max_bytes: int = 2 << 30
    store: dict[Any, Any] = field(default_factory=dict)
    used: int = 0
    lock: Any = field(default_factory=threading.Lock, repr=False, compare=False)
    full: bool = False

    def get(self, key: Any, compute: Callable[[], Any]) -> Any:
        with self.lock:
            if key in self.store:
                return self.store[key]
        val = compute()
        size = sum(t.numel() * t.element_size() for t in _tensors(val))
        with self.lock:
            if key in self.store:
                return self.store[key]
            if self.used + size <= self.max_bytes:
                self.store[key] = val
                self.used += size
            else:
                self.full = True
        return val


def _tensors(val: Any) -> list[Tensor]:
    if isinstance(val, Tensor):
        return [val]
    if isinstance(val, (tuple, list)):
        return [t for v in val for t in _tensors(v)]
    if isinstance(val, dict):
        return [t for v in val.values() for t in _tensors(v)]
    return []


def slice_rows(val: Any, a: int, b: int) -> Any:
    """Rows a:b of every tensor in a prefix output (tensor, tuple/list, dict or dataclass)."""
    if isinstance(val, Tensor):
        return val[a:b]
    if isinstance(val, (tuple, list)):
        return type(val)(slice_rows(v, a, b) for v in val)
    if isinstance(val, dict):
        return {k: slice_rows(v, a, b) for k, v in val.items()}
    if dataclasses.is_dataclass(val) and not isinstance(val, type):
        return dataclasses.replace(val, **{f.name: slice_rows(getattr(val, f.name), a, b)
                                           for f in dataclasses.fields(val) if f.init})
    return val


@torch.no_grad()
def evaluate(model: SweepModel, params: Params, cache: PrefixCache, block: int = 1024,
             budget: int = 1 << 25) -> dict[str, Tensor]:
    """Test loss (and accuracy for classifiers) per run over the whole test set.

    The prefix is computed (and cached) per block of `block` examples; each block is evaluated
    in sub-chunks sized so one (runs × chunk × features) activation stays under `budget`."""
    X, Y = _test_set(model)
    R = next(iter(params.values())).shape[0]
    feat = max(p.shape[1] for k, p in params.items() if k.endswith(".B"))
    chunk = int(max(8, min(block, budget // (R * feat))))
    tot_loss: Tensor | float = 0.0
    tot_acc: Tensor | float = 0.0
    has_acc = False
    for i in range(0, X.shape[0], block):
        pre_blk = cache.get(("test", i, block), functools.partial(model.prefix, X[i:i + block]))
        rows = min(block, X.shape[0] - i)
        for j in range(0, rows, chunk):
            e = min(j + chunk, rows)
            y = Y[i + j:i + e]
            out = model.head(slice_rows(pre_blk, j, e), params)
            tot_loss = tot_loss + model.loss(out, y) * y.shape[0]
            acc = accuracy(out, y)
            if acc is not None:
                tot_acc, has_acc = tot_acc + acc * y.shape[0], True
    res = {"test_loss": torch.as_tensor(tot_loss / X.shape[0])}   # a Tensor unless no rows
    if has_acc:
        res["test_acc"] = torch.as_tensor(tot_acc / X.shape[0])
    return res


def _test_set(model: SweepModel) -> tuple[Tensor, Tensor]:
    ts = model.test_set()
    if ts is None:
        raise ValueError("test evaluation of a model without a test set")
    return ts


def cat_rows(a: Any, b: Any) -> Any:
    """Rows of two prefix outputs stacked (tensor, tuple/list, dict or dataclass)."""
    if isinstance(a, Tensor):
        return torch.cat([a, b])
    if isinstance(a, (tuple, list)):
        return type(a)(cat_rows(u, v) for u, v in zip(a, b))
    if isinstance(a, dict):
        return {k: cat_rows(a[k], b[k]) for k in a}
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        return dataclasses.replace(a, **{f.name: cat_rows(getattr(a, f.name), getattr(b, f.name))
                                         for f in dataclasses.fields(a) if f.init})
    return a
