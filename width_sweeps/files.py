"""File I/O of a sweep directory: atomic writes with ordinary permissions, and reads whose every
failure is one line naming the file (a `UserError`: exit code 2).

Writes go to a temporary file in the same directory (opened with `open(..., "xb")`, so the
umask applies — `tempfile.mkstemp` would make it 0600), then `os.replace` over the target: a
reader never sees half a file and a killed writer leaves at most a hidden `.NAME.*.tmp`.
Parquet files carry gammakit's metadata (spec fingerprint, numerics) in their schema under the
key `gammakit`, readable without reading the data.  Torch-free.
"""
from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import pandas as pd

from gamma_calc.errors import UserError, first_line

META_KEY = b"gammakit"


class SweepFileError(UserError):
    """A file of a sweep directory is missing, unreadable, corrupted or cannot be written."""


def _tmp(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


def write_atomic_with(path: Path, write: Callable[[IO[bytes]], Any]) -> None:
    """Create `path` by `write(file)` on a temporary sibling, then rename it into place."""
    path = Path(path)
    tmp = _tmp(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "xb") as f:
            write(f)
        os.replace(tmp, path)
    except OSError as exc:
        raise SweepFileError(f"cannot write {path}: {exc.strerror or first_line(exc)}") from None
    finally:
        if tmp.exists():
            try:
                tmp.unlink()
            except OSError:
                pass


def write_text(path: Path, text: str) -> None:
    write_atomic_with(path, lambda f: f.write(text.encode()))


def write_json(path: Path, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, default=str) + "\n")


def write_parquet(df: pd.DataFrame, path: Path, meta: dict[str, Any] | None = None) -> None:
    """`df` (no index) as Parquet; `meta` stored in the schema under `gammakit`."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    table = pa.Table.from_pandas(df, preserve_index=False)
    if meta is not None:
        table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                               META_KEY: json.dumps(meta).encode()})
    write_atomic_with(path, lambda f: pq.write_table(table, f))


def _read_error(path: Path, exc: BaseException, what: str) -> SweepFileError:
    if isinstance(exc, FileNotFoundError):
        return SweepFileError(f"{path}: missing ({what})")
    if isinstance(exc, OSError) and exc.errno is not None:
        return SweepFileError(f"{path}: cannot read ({exc.strerror})")
    return SweepFileError(f"{path}: corrupted or not {what} ({first_line(exc)}); remove it "
                          "(a shard is then recomputed by `width-sweep run`)")


def read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 — pyarrow raises many types for a damaged file
        raise _read_error(Path(path), exc, "a Parquet file") from None


def parquet_meta(path: Path) -> dict[str, Any] | None:
    """gammakit's metadata of a Parquet file (None: written before gammakit recorded it)."""
    import pyarrow.parquet as pq
    try:
        md = pq.read_schema(path).metadata or {}
    except Exception as exc:  # noqa: BLE001
        raise _read_error(Path(path), exc, "a Parquet file") from None
    raw = md.get(META_KEY)
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise SweepFileError(f"{path}: corrupted gammakit metadata") from None


def read_json(path: Path, what: str = "JSON") -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except Exception as exc:  # noqa: BLE001 — OSError, UnicodeDecodeError, JSONDecodeError
        raise _read_error(Path(path), exc, what) from None
