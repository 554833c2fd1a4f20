"""The IDX file format of MNIST / Fashion-MNIST: a validating reader and a writer.

Layout (big-endian throughout)::

    bytes 0-1   zero
    byte  2     element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
                0x0D float32, 0x0E float64
    byte  3     number of dimensions k
    k × uint32  the dimensions
    payload     prod(dims) elements, row-major

A file may be stored raw or gzip-compressed; the reader tells them apart by the gzip magic
bytes (``1f 8b``), not by the file name. Every problem (bad magic, unknown type, payload
shorter or longer than the header says, broken gzip stream) raises ``DataError`` naming the file.
"""
from __future__ import annotations

import gzip
import os
import struct
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np

from ._io import atomic_write_bytes
from .errors import DataError

GZIP_MAGIC = b"\x1f\x8b"

#: IDX element-type code -> big-endian numpy dtype.
IDX_DTYPES: Mapping[int, np.dtype] = MappingProxyType({
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
})
_CODES: Mapping[np.dtype, int] = MappingProxyType(
    {dtype.newbyteorder("="): code for code, dtype in IDX_DTYPES.items()})


@dataclass(frozen=True)
class IdxHeader:
    """A parsed IDX header: element dtype (big-endian), shape and payload offset in bytes."""

    dtype: np.dtype
    shape: tuple[int, ...]
    offset: int

    @property
    def payload_bytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize


def read_bytes(path: str | os.PathLike[str]) -> bytes:
    """The file's IDX bytes, decompressed when it is gzip; DataError if unreadable."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataError(path, "missing") from None
    except OSError as exc:
        raise DataError(path, f"cannot read ({exc.strerror or exc})") from None
    if data[:2] != GZIP_MAGIC:
        return data
    try:
        return gzip.decompress(data)
    except EOFError:
        raise DataError(path, "truncated gzip stream") from None
    except (OSError, zlib.error) as exc:
        raise DataError(path, f"corrupted gzip stream ({exc})") from None


def parse_header(data: bytes, path: str | os.PathLike[str] = "<bytes>") -> IdxHeader:
    """Validate and parse the header at the start of ``data`` (IDX bytes, not gzip)."""
    if len(data) < 4:
        raise DataError(path, f"truncated: {len(data)} bytes, not even an IDX header")
    zero, code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0:
        raise DataError(path, f"not an IDX file (magic {data[:4].hex()})")
    if code not in IDX_DTYPES:
        raise DataError(path, f"unknown IDX element type 0x{code:02x}")
    offset = 4 + 4 * ndim
    if len(data) < offset:
        raise DataError(path, f"truncated: header promises {ndim} dimensions")
    shape = struct.unpack(f">{ndim}I", data[4:offset])
    return IdxHeader(IDX_DTYPES[code], tuple(int(s) for s in shape), offset)


def parse_idx(data: bytes, path: str | os.PathLike[str] = "<bytes>") -> np.ndarray:
    """Parse IDX bytes into a native-endian, writable array of the header's shape."""
    header = parse_header(data, path)
    have, want = len(data) - header.offset, header.payload_bytes
    if have < want:
        raise DataError(path, f"truncated: {have} of {want} payload bytes")
    if have > want:
        raise DataError(path, f"corrupted: {have - want} bytes after the {want}-byte payload")
    flat = np.frombuffer(data, dtype=header.dtype, offset=header.offset)
    return flat.astype(header.dtype.newbyteorder("=")).reshape(header.shape)


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file (raw or gzip) into a native-endian array; DataError on any problem."""
    return parse_idx(read_bytes(path), path)


def read_idx_header(path: str | os.PathLike[str]) -> IdxHeader:
    """Only the header (cheap even for a large gzip file: decompresses a few bytes)."""
    path = Path(path)
    try:
        with path.open("rb") as raw:
            gz = raw.read(2) == GZIP_MAGIC
        opener = gzip.open if gz else open
        with opener(path, "rb") as stream:
            head = stream.read(4)
            ndim = head[3] if len(head) == 4 else 0
            head += stream.read(4 * ndim)
    except FileNotFoundError:
        raise DataError(path, "missing") from None
    except EOFError:
        raise DataError(path, "truncated gzip stream") from None
    except (OSError, zlib.error) as exc:
        raise DataError(path, f"cannot read IDX header ({exc})") from None
    return parse_header(head, path)


def to_idx_bytes(array: np.ndarray) -> bytes:
    """Serialise ``array`` (a dtype IDX supports) to IDX bytes."""
    array = np.asarray(array)
    native = array.dtype.newbyteorder("=")
    if native not in _CODES:
        raise ValueError(f"IDX cannot store dtype {array.dtype}")
    if array.ndim > 255 or any(s >= 2**32 for s in array.shape):
        raise ValueError(f"IDX cannot store shape {array.shape}")
    code = _CODES[native]
    header = struct.pack(f">HBB{array.ndim}I", 0, code, array.ndim, *array.shape)
    return header + np.ascontiguousarray(array, dtype=IDX_DTYPES[code]).tobytes()


def write_idx(path: str | os.PathLike[str], array: np.ndarray, *, compress: bool | None = None,
              mtime: int = 0) -> Path:
    """Write ``array`` as an IDX file, gzip-compressed when ``compress`` (default: the name
    ends in ``.gz``). Written atomically; ``mtime`` goes into the gzip header (0 keeps the
    output byte-for-byte reproducible)."""
    path = Path(path)
    data = to_idx_bytes(array)
    if compress if compress is not None else path.suffix == ".gz":
        data = gzip.compress(data, mtime=mtime)
    atomic_write_bytes(path, data)
    return path
