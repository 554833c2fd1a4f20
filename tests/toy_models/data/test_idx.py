"""IDX reader/writer: the format spec's bytes, round trips, and every kind of damage."""
from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from toy_models.data import DataError, idx

from .conftest import idx_bytes

DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


def test_reads_bytes_written_from_the_spec(tmp_path: Path) -> None:
    # 0x0B = int16, 2 dims (2, 3), big-endian payload: the format's own definition.
    payload = struct.pack(">6h", 1, -2, 300, -32768, 32767, 0)
    raw = bytes([0, 0, 0x0B, 2]) + struct.pack(">II", 2, 3) + payload
    path = tmp_path / "a.idx"
    path.write_bytes(raw)
    got = idx.read_idx(path)
    assert got.dtype == np.int16 and got.dtype.isnative
    np.testing.assert_array_equal(got, [[1, -2, 300], [-32768, 32767, 0]])
    assert got.flags.writeable


def test_writer_output_matches_the_spec(tmp_path: Path) -> None:
    array = np.arange(12, dtype=np.uint8).reshape(3, 4)
    path = idx.write_idx(tmp_path / "x.idx", array)
    assert path.read_bytes() == idx_bytes(array)
    gz = idx.write_idx(tmp_path / "x.idx.gz", array)
    assert gzip.decompress(gz.read_bytes()) == idx_bytes(array)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), compress=st.booleans())
def test_round_trip(tmp_path: Path, data: st.DataObject, compress: bool) -> None:
    dtype = np.dtype(data.draw(st.sampled_from(DTYPES)))
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=5))
    array = data.draw(hnp.arrays(dtype, shape, elements={"allow_nan": False}
                                 if dtype.kind == "f" else None))
    path = tmp_path / ("r.idx.gz" if compress else "r.idx")
    idx.write_idx(path, array)
    back = idx.read_idx(path)
    assert back.dtype == dtype and back.shape == array.shape
    np.testing.assert_array_equal(back, array)
    assert idx.read_idx_header(path).shape == array.shape


def test_gzip_is_detected_by_content_not_name(tmp_path: Path) -> None:
    array = np.arange(5, dtype=np.uint8)
    (tmp_path / "plain.gz").write_bytes(idx_bytes(array))
    (tmp_path / "packed").write_bytes(gzip.compress(idx_bytes(array)))
    np.testing.assert_array_equal(idx.read_idx(tmp_path / "plain.gz"), array)
    np.testing.assert_array_equal(idx.read_idx(tmp_path / "packed"), array)


def _one_line_naming(exc: pytest.ExceptionInfo[DataError], path: Path) -> str:
    message = str(exc.value)
    assert "\n" not in message and message.startswith(str(path))
    return message


@pytest.mark.parametrize(("mutate", "words"), [
    (lambda b: b[:-1], "truncated"),
    (lambda b: b[:10], "truncated"),
    (lambda b: b[:2], "truncated"),
    (lambda b: b + b"\0", "after"),
    (lambda b: b"\x08\x03" + b[2:], "not an IDX"),
    (lambda b: b[:2] + b"\x07" + b[3:], "element type"),
    (lambda b: b[:3] + b"\x09" + b[4:], "truncated"),  # 9 dimensions: header runs out
])
def test_damaged_raw_files_are_rejected(tmp_path: Path, mutate, words: str) -> None:
    path = tmp_path / "bad-idx3-ubyte"
    path.write_bytes(mutate(idx_bytes(np.zeros((2, 3, 3), np.uint8))))
    with pytest.raises(DataError) as exc:
        idx.read_idx(path)
    assert words in _one_line_naming(exc, path)


def test_truncated_gzip_is_rejected(tmp_path: Path) -> None:
    data = gzip.compress(idx_bytes(np.arange(4000, dtype=np.uint8).reshape(40, 100)))
    path = tmp_path / "cut.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError) as exc:
        idx.read_idx(path)
    assert "truncated" in _one_line_naming(exc, path)


def test_corrupted_gzip_is_rejected(tmp_path: Path) -> None:
    data = bytearray(gzip.compress(idx_bytes(np.arange(4000, dtype=np.uint8).reshape(40, 100))))
    data[-6] ^= 0xFF  # inside the CRC-32 / length trailer
    path = tmp_path / "flip.gz"
    path.write_bytes(bytes(data))
    with pytest.raises(DataError) as exc:
        idx.read_idx(path)
    assert "corrupted" in _one_line_naming(exc, path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError) as exc:
        idx.read_idx(tmp_path / "nope.gz")
    assert "missing" in _one_line_naming(exc, tmp_path / "nope.gz")


def test_writer_refuses_unsupported_dtypes(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="dtype"):
        idx.write_idx(tmp_path / "b.idx", np.zeros(3, dtype=np.uint16))
