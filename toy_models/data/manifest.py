"""``<root>/manifest.json``: which source each dataset came from, and its files' digests.

Written by ``toy-data fetch`` (atomically); read by ``fetch`` (to keep the recorded source of
data already in the root) and by ``toy-data info``. A missing, unreadable or malformed manifest
is treated as empty: the data files themselves, re-verified, are the truth.

Schema (``format`` 1)::

    {"format": 1, "updated": ISO-8601 UTC,
     "datasets": {NAME: {"source": "local"|"official"|"debian"|"npm", "origin": dir or URL,
                         "collection": KEY, "format": "idx"|"npm-json", "version": str|null,
                         "split": text, "train_size": int, "test_size": int, "fetched": ISO,
                         "files": {FILE: {"path": relative to root, "size": int,
                                          "sha256": hex, "md5": hex, "verified": label}}}}}
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ._io import atomic_write_bytes
from .layout import MANIFEST

FORMAT = 1


@dataclass(frozen=True)
class FileRecord:
    """One data file in the root: path relative to the root, size, digests, how verified."""

    path: str
    size: int
    sha256: str
    md5: str
    verified: str | None


@dataclass(frozen=True)
class DatasetRecord:
    """Where a dataset in the root came from and what it holds."""

    source: str
    origin: str
    collection: str
    format: str
    split: str
    train_size: int
    test_size: int
    files: dict[str, FileRecord]
    fetched: str
    version: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DatasetRecord:
        files = {name: FileRecord(**rec) for name, rec in data["files"].items()}
        return cls(**{**data, "files": files})

    def sha256s(self) -> dict[str, str]:
        return {name: rec.sha256 for name, rec in self.files.items()}


def now() -> str:
    """The current UTC time, ISO-8601 to the second."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def read(root: Path) -> dict[str, DatasetRecord]:
    """The records in ``root``'s manifest; {} when it is absent or damaged."""
    try:
        data = json.loads((root / MANIFEST).read_text())
        return {name: DatasetRecord.from_json(rec) for name, rec in data["datasets"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def write(root: Path, records: dict[str, DatasetRecord]) -> Path:
    """Write ``records`` as ``root``'s manifest (atomically) and return its path."""
    data = {"format": FORMAT, "updated": now(),
            "datasets": {name: rec.to_json() for name, rec in sorted(records.items())}}
    path = root / MANIFEST
    atomic_write_bytes(path, (json.dumps(data, indent=2) + "\n").encode())
    return path
