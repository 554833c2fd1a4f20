"""Byte-level text corpora that are always on disk: the Python standard library's own files.

Two corpora, read from the stdlib directory ``sysconfig.get_paths()["stdlib"]`` (``root=``
overrides it), tokens = bytes (vocabulary 256, no tokenizer):

* ``"python-source"`` — the stdlib's top-level ``*.py`` modules (168 files, 4.7 MB on CPython
  3.11): the transformer's *pretraining* corpus.  Split by whole files, deterministic: the files
  sorted by name, every tenth (index 9, 19, …) is validation, the rest train — no window
  crosses the split.
* ``"python-docs"`` — ``pydoc_data/topics.py``, the text of ``help()``'s topics (0.76 MB of
  English prose inside one string literal): the *fine-tuning* corpus, a shift from code to
  prose (as Beyond Zero Init's MNIST → Fashion-MNIST).  Split: the first 90 % of the bytes
  train, the rest validation.

The corpus differs between Python versions, so every corpus carries a ``fingerprint`` (SHA-256
of its bytes) that keys cached checkpoints.  Missing or empty corpora raise the data
package's one-line ``DataError`` naming the path.  Imports numpy only (no torch).
"""
from __future__ import annotations

import hashlib
import os
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import DataError

__all__ = ["CORPORA", "TextCorpus", "load_text", "stdlib_root"]

CORPORA = ("python-source", "python-docs")
VAL_EVERY = 10          # python-source: every 10th file (sorted by name) is validation
VAL_FRACTION = 0.1      # python-docs: the last 10 % of the bytes are validation
SEPARATOR = b"\n\n"     # between files


@dataclass(frozen=True)
class TextCorpus:
    """A byte corpus: ``train`` / ``val`` are uint8 arrays (tokens 0…255)."""

    name: str
    root: str
    files: tuple[str, ...]
    train: np.ndarray
    val: np.ndarray
    fingerprint: str     # first 16 hex digits of SHA-256(train bytes ‖ val bytes)

    def split(self, split: str) -> np.ndarray:
        if split not in ("train", "val"):
            raise ValueError(f"unknown split {split!r}; expected 'train' or 'val'")
        return self.train if split == "train" else self.val


def stdlib_root() -> Path:
    """The Python standard library's directory (always present with the interpreter)."""
    return Path(sysconfig.get_paths()["stdlib"])


def load_text(name: str = "python-source", root: str | os.PathLike[str] | None = None
              ) -> TextCorpus:
    """The corpus ``name`` (see the module docstring) read from ``root`` (default: the
    stdlib).  Raises ``DataError`` when the directory or file is missing or empty."""
    if name not in CORPORA:
        raise ValueError(f"unknown corpus {name!r}; expected one of: {', '.join(CORPORA)}")
    base = Path(root) if root is not None else stdlib_root()
    if not base.is_dir():
        raise DataError(base, f"corpus {name!r}: directory not found")
    if name == "python-source":
        files = sorted(p for p in base.glob("*.py") if p.is_file())
        if not files:
            raise DataError(base, f"corpus {name!r}: no *.py files (empty corpus)")
        parts = [_read(p) for p in files]
        train = SEPARATOR.join(b for i, b in enumerate(parts) if i % VAL_EVERY != VAL_EVERY - 1)
        val = SEPARATOR.join(b for i, b in enumerate(parts) if i % VAL_EVERY == VAL_EVERY - 1)
        if not train or not val:
            raise DataError(base, f"corpus {name!r}: too few non-empty *.py files for a "
                                  f"train/validation split ({len(files)} found)")
    else:
        path = base / "pydoc_data" / "topics.py"
        if not path.is_file():
            raise DataError(path, f"corpus {name!r}: file not found")
        files = [path]
        data = _read(path)
        cut = int(len(data) * (1 - VAL_FRACTION))
        train, val = data[:cut], data[cut:]
        if len(val) < 2:
            raise DataError(path, f"corpus {name!r}: empty or too short ({len(data)} bytes)")
    digest = hashlib.sha256(train + b"\0" + val).hexdigest()[:16]
    return TextCorpus(name, str(base), tuple(p.name for p in files),
                      np.frombuffer(train, np.uint8).copy(), np.frombuffer(val, np.uint8).copy(),
                      digest)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise DataError(path, f"unreadable: {exc.strerror or exc}") from None
