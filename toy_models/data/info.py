"""What ``toy-data info`` reports: per dataset, the source used, split sizes and file digests.

The files in the root are re-hashed and re-verified on every call (the manifest is only trusted
for the *source*, and only while its digests still match the files), so the report describes
the data as it is now. JSON schema::

    {"root": str, "manifest": str | null,
     "datasets": {NAME: {"status": "ok" | "missing" | "invalid",
                         "error": str | null,            # one line, naming the file
                         "source": str | null,           # local | official | debian | npm
                         "origin": str | null, "version": str | null, "fetched": str | null,
                         "collection": str | null, "format": "idx" | "npm-json" | null,
                         "split": str | null, "train_size": int | null, "test_size": int | null,
                         "files": {FILE: {"path", "size", "sha256", "md5", "verified"}}}}}
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from . import checksums, layout, loaders, manifest
from .errors import DataError
from .fetch import SPLIT_TEXT


def describe(root: Path, known: checksums.Table = checksums.KNOWN) -> dict[str, Any]:
    """The ``info`` report of ``root`` (see the module docstring)."""
    records = manifest.read(root)
    path = root / layout.MANIFEST
    return {"root": str(root), "manifest": str(path) if path.is_file() else None,
            "datasets": {name: describe_dataset(root, name, records.get(name), known)
                         for name in layout.DATASETS}}


def _empty(status: str, error: str | None) -> dict[str, Any]:
    keys = ("source", "origin", "version", "fetched", "collection", "format", "split",
            "train_size", "test_size")
    return {"status": status, "error": error, **dict.fromkeys(keys), "files": {}}


def describe_dataset(root: Path, dataset: str, record: manifest.DatasetRecord | None,
                     known: checksums.Table) -> dict[str, Any]:
    """One dataset's entry of the report."""
    if layout.find_local(root, dataset) is None:
        return _empty("missing", f"{root / dataset}: no complete copy (run `toy-data fetch`)")
    try:
        arrays = loaders.load_arrays(dataset, root, known=known)
    except DataError as exc:
        return _empty("invalid", str(exc))
    files = {name: {"path": str(path.relative_to(root)) if path.is_relative_to(root)
                    else str(path), "size": arrays.digests[name].size,
                    "sha256": arrays.digests[name].sha256, "md5": arrays.digests[name].md5,
                    "verified": arrays.verified[name]}
             for name, path in arrays.files.items()}
    same = record is not None and record.collection == arrays.collection.key and \
        record.sha256s() == {n: d.sha256 for n, d in arrays.digests.items()}
    record = record if same else None
    sizes = arrays.sizes()
    return {"status": "ok", "error": None,
            "source": record.source if record is not None else "local",
            "origin": record.origin if record is not None else str(root / arrays.collection.key),
            "version": record.version if record is not None else None,
            "fetched": record.fetched if record is not None else None,
            "collection": arrays.collection.key, "format": arrays.collection.format,
            "split": SPLIT_TEXT[arrays.collection.format],
            "train_size": sizes["train"], "test_size": sizes["test"], "files": files}


def format_text(report: dict[str, Any]) -> str:
    """A human-readable rendering of the report."""
    lines = [f"root: {report['root']}"]
    for name, entry in report["datasets"].items():
        if entry["status"] != "ok":
            lines.append(f"{name}: {entry['status']}: {entry['error']}")
            continue
        version = f" {entry['version']}" if entry["version"] else ""
        lines.append(f"{name}: ok  source={entry['source']}{version} ({entry['origin']})  "
                     f"train={entry['train_size']} test={entry['test_size']}  "
                     f"[{entry['format']}: {entry['split']}]")
        for file, rec in entry["files"].items():
            lines.append(f"  {file:28} {rec['size']:>10}  sha256={rec['sha256']}  "
                         f"md5={rec['md5']}  verified={rec['verified']}")
    return "\n".join(lines)
