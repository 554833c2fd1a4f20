"""Checksums: digests against published test vectors, acceptance rules, mismatch detection."""
from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np
import pytest

from toy_models.data import DataError, checksums

from .conftest import idx_bytes


def test_digests_match_published_vectors(tmp_path: Path) -> None:
    path = tmp_path / "abc"
    path.write_bytes(b"abc")
    d = checksums.digest_file(path, chunk=1)  # FIPS 180-2 / RFC 1321 "abc" vectors
    assert d.sha256 == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert d.md5 == "900150983cd24fb0d6963f7d28e17f72"
    assert d.size == 3


def _gz(tmp_path: Path, name: str, mtime: int) -> tuple[Path, bytes]:
    payload = idx_bytes(np.arange(50, dtype=np.uint8))
    path = tmp_path / name
    path.write_bytes(gzip.compress(payload, mtime=mtime))
    return path, payload


def test_stored_sha256_or_md5_accepts(tmp_path: Path) -> None:
    path, _ = _gz(tmp_path, "f.gz", 0)
    raw = path.read_bytes()
    by_sha = checksums.FileSums(sha256={hashlib.sha256(raw).hexdigest(): "ref-sha"})
    by_md5 = checksums.FileSums(md5={hashlib.md5(raw).hexdigest(): "ref-md5"})
    assert checksums.verify(path, by_sha) == "ref-sha"
    assert checksums.verify(path, by_md5) == "ref-md5"


def test_payload_digest_accepts_a_recompressed_copy(tmp_path: Path) -> None:
    original, payload = _gz(tmp_path, "orig.gz", 0)
    repacked, _ = _gz(tmp_path, "repacked.gz", 1234567)  # same payload, other gzip header
    assert original.read_bytes() != repacked.read_bytes()
    sums = checksums.FileSums(
        sha256={hashlib.sha256(original.read_bytes()).hexdigest(): "official"},
        payload_md5={hashlib.md5(payload).hexdigest(): "official payload"})
    assert checksums.verify(repacked, sums) == "official payload"
    plain = tmp_path / "plain"
    plain.write_bytes(payload)  # an uncompressed copy is accepted too
    assert checksums.verify(plain, sums) == "official payload"


def test_mismatch_is_detected_with_one_line_naming_the_file(tmp_path: Path) -> None:
    path, _ = _gz(tmp_path, "train-images-idx3-ubyte.gz", 0)
    sums = checksums.FileSums(sha256={"0" * 64: "x"}, payload_md5={"1" * 32: "y"})
    with pytest.raises(DataError) as exc:
        checksums.verify(path, sums)
    message = str(exc.value)
    assert message.startswith(str(path)) and "\n" not in message and "checksum" in message


def test_one_changed_byte_in_a_real_official_file_is_caught(tmp_path: Path) -> None:
    # The official t10k labels of Fashion-MNIST: rebuild a look-alike with one label changed;
    # neither its stored nor its payload digest may match the official table.
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.zeros(10000, np.uint8))))
    with pytest.raises(DataError, match="checksum mismatch"):
        checksums.verify(path, checksums.KNOWN["fashion-mnist"]["t10k-labels-idx1-ubyte.gz"])


def test_known_table_covers_every_collection_file() -> None:
    from toy_models.data import layout

    for collections in layout.COLLECTIONS.values():
        for collection in collections:
            assert set(checksums.KNOWN[collection.key]) == set(collection.files)
    official = checksums.KNOWN["mnist"]["train-images-idx3-ubyte.gz"]
    # torchvision's published MD5 of the official MNIST training images.
    assert official.md5["f68b3c2dcbeaaa9fbdd348bbdeb94873"] == checksums.OFFICIAL


def test_table_is_read_only() -> None:
    with pytest.raises(TypeError):
        checksums.KNOWN["mnist"] = {}  # type: ignore[index]
