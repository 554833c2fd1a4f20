"""Atomic file writes (temporary file in the same directory, then ``os.replace``)."""
from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def temp_path(dest: Path) -> Path:
    """A fresh hidden name next to ``dest`` (unique per process and call)."""
    return dest.with_name(f".{dest.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


def atomic_write(dest: Path, write: Callable[[BinaryIO], object]) -> None:
    """Create ``dest`` by calling ``write`` on a new temporary file, then renaming it.

    The file gets the usual permissions (umask applies); on any error nothing is left behind.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(dest)
    try:
        with tmp.open("xb") as out:
            write(out)
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(dest: Path, data: bytes) -> None:
    """Write ``data`` to ``dest`` atomically."""
    atomic_write(dest, lambda out: out.write(data))


def atomic_copy(src: Path, dest: Path) -> None:
    """Copy ``src``'s bytes to ``dest`` atomically."""
    def copy(out: BinaryIO) -> None:
        with src.open("rb") as stream:
            shutil.copyfileobj(stream, out, 1 << 20)
    atomic_write(dest, copy)
