"""Tidy result tables, atomic Parquet shards, merge and provenance (docs/width_sweeps.md).

Layout of an output directory:
```
DIR/spec.json  DIR/probes.json  DIR/provenance.json  DIR/.lock (while a run writes)
DIR/shards/w0001024-c0000.steps.parquet   (one per (width, chunk of runs); runs file = done mark)
DIR/shards/w0001024-c0000.runs.parquet
DIR/steps.parquet  DIR/runs.parquet        (merged, sorted: identical after a resume)
```
Every shard file (and the merged tables) records in its Parquet metadata the fingerprint of the
spec it was computed from and the numerics it was computed with (width_sweeps.sweepdir); the
merge refuses shards of another spec or of mixed numerics.  Torch-free: reading a finished
sweep never imports torch.
"""
from __future__ import annotations

import dataclasses
import os
import platform
import subprocess
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import files
from .files import SweepFileError
from .spec import RunConfig

KEYS = ["run_id", "model", "width", "scheme", "init_scale", "optimizer", "lr_exponent",
        "lr_exponent_b", "eta0", "eps", "seed"]
CATEGORICAL = ["model", "scheme", "optimizer", "lr_exponent", "lr_exponent_b", "eps", "quantity"]


@dataclass
class ShardResult:
    """Host copy of one shard's measurements (what the engine returns, the tables are made of)."""
    runs: list[RunConfig]
    quantities: tuple[str, ...]
    values: np.ndarray              # (recorded steps, Q, R)
    diverged_step: np.ndarray       # (R,), −1 when the run never diverged
    test: dict[str, np.ndarray]     # name → (R,) at the last step
    seconds: float
    steps: np.ndarray | None = None  # the step of each row of `values` (None: 0 … T)

    def step_index(self) -> np.ndarray:
        return self.steps if self.steps is not None else np.arange(self.values.shape[0])


def shard_name(width: int, chunk: int) -> str:
    return f"w{width:07d}-c{chunk:04d}"


def shard_paths(out: Path, name: str) -> tuple[Path, Path]:
    d = Path(out) / "shards"
    return d / f"{name}.steps.parquet", d / f"{name}.runs.parquet"


def shard_done(out: Path, name: str) -> bool:
    """A shard is finished once its runs file (written last) exists."""
    return shard_paths(out, name)[1].exists()


def finished_shards(out: Path) -> set[str]:
    """Names of the finished shards under `out` (one directory listing)."""
    d = Path(out) / "shards"
    try:
        names = os.listdir(d)
    except FileNotFoundError:
        return set()
    except OSError as exc:
        raise SweepFileError(f"cannot read {d}: {exc.strerror}") from None
    tail = ".runs.parquet"
    return {n[: -len(tail)] for n in names if n.endswith(tail) and not n.startswith(".")}


def write_atomic(df: pd.DataFrame, path: Path, meta: dict[str, Any] | None = None) -> None:
    """Write Parquet to a temp file in the same directory, then rename over `path` (ordinary
    permissions; a failure is one line naming the file)."""
    files.write_parquet(df, Path(path), meta)


def _keys_frame(res: ShardResult, model: str) -> pd.DataFrame:
    rows = [dataclasses.asdict(r) for r in res.runs]
    df = pd.DataFrame(rows)
    df.insert(1, "model", model)
    return df[KEYS + ["lr_a", "lr_b"]]


def steps_frame(res: ShardResult, model: str) -> pd.DataFrame:
    """One row per (run, step, quantity) — probes, then test metrics at the last step."""
    keys = _keys_frame(res, model)[KEYS]
    S, _, R = res.values.shape
    steps = res.step_index()                 # the recorded steps (probe_every), last = T
    idx = np.arange(R)
    parts = []
    for qi, q in enumerate(res.quantities):
        for i in range(S):
            parts.append((np.full(R, steps[i]), np.full(R, q, dtype=object), res.values[i, qi],
                          idx))
    for q, v in res.test.items():
        parts.append((np.full(R, steps[-1]), np.full(R, q, dtype=object), v, idx))
    step = np.concatenate([p[0] for p in parts])
    quantity = np.concatenate([p[1] for p in parts])
    value = np.concatenate([p[2] for p in parts]).astype(np.float64)
    ridx = np.concatenate([p[3] for p in parts])
    df = keys.iloc[ridx].reset_index(drop=True)
    df["step"] = step.astype(np.int64)
    df["quantity"] = quantity
    df["value"] = value
    return df


def runs_frame(res: ShardResult, model: str, shard: str) -> pd.DataFrame:
    """One row per run: keys, rates, status, diverged step, final metrics, shard, seconds."""
    df = _keys_frame(res, model)
    df["status"] = np.where(res.diverged_step >= 0, "diverged", "ok")
    df["diverged_step"] = res.diverged_step.astype(np.int64)
    last = res.values[-1]
    for qi, q in enumerate(res.quantities):
        if q in ("loss", "Z_B", "Z_A"):
            df[f"final_{q}"] = last[qi]
    for q, v in res.test.items():
        df[f"final_{q}"] = v
    df["shard"] = shard
    df["shard_seconds"] = res.seconds
    return df


def write_shard(out: Path, name: str, res: ShardResult, model: str,
                meta: dict[str, Any] | None = None) -> None:
    """Steps first, runs last (the runs file marks the shard finished); `meta` (fingerprint,
    numerics) goes into both files' metadata."""
    steps_p, runs_p = shard_paths(out, name)
    write_atomic(steps_frame(res, model), steps_p, meta)
    write_atomic(runs_frame(res, model, name), runs_p, meta)


def _sorted(df: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    df = df.sort_values(by, kind="stable").reset_index(drop=True)
    for c in CATEGORICAL:
        if c in df:
            df[c] = df[c].astype(str).astype("category")
    return df


def shard_meta(out: Path, name: str) -> dict[str, Any]:
    """The metadata of a finished shard (both files must agree; {} for a shard written before
    gammakit recorded it)."""
    a, b = (files.parquet_meta(p) for p in shard_paths(out, name))
    if a != b:
        raise SweepFileError(f"{shard_paths(out, name)[0]}: metadata differs from its runs file "
                             "(a half-written shard); remove both files to recompute it")
    return a or {}


def check_shards(out: Path, names: list[str], fingerprint: str | None,
                 numerics: dict[str, Any] | None = None, legacy_ok: bool = False) -> None:
    """Every shard was computed from the spec with `fingerprint` and with the same numerics
    (`numerics`, when given); else a one-line error naming the first offending shard."""
    seen: dict[str, Any] | None = numerics
    for n in names:
        m = shard_meta(out, n)
        where = shard_paths(out, n)[1]
        if not m:
            if legacy_ok:
                continue
            raise SweepFileError(f"{where}: records no spec fingerprint (an older gammakit wrote "
                                 "it) and spec.json does not vouch for it; use a new --out")
        if fingerprint is not None and m.get("fingerprint") != fingerprint:
            raise SweepFileError(f"{where}: computed from another spec (fingerprint "
                                 f"{m.get('fingerprint')}, this spec {fingerprint}); its data "
                                 "would carry the wrong label — use a new --out")
        num = m.get("numerics")
        if seen is not None and num is not None and num != seen:
            diff = ", ".join(f"{k}={num.get(k)!r} (now {seen.get(k)!r})"
                             for k in sorted(set(num) | set(seen)) if num.get(k) != seen.get(k))
            raise SweepFileError(f"{where}: computed with other numerics: {diff}; values would "
                                 "differ at rounding level — rerun with the same settings "
                                 "(docs/width_sweeps.md, Determinism) or use a new --out")
        seen = seen if seen is not None else num


def merge(out: Path, fingerprint: str | None = None, numerics: dict[str, Any] | None = None,
          legacy_ok: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Concatenate finished shards into `steps.parquet` and `runs.parquet` (sorted, atomic),
    after checking every shard's fingerprint and numerics."""
    d = Path(out) / "shards"
    names = sorted(finished_shards(out))
    if not names:
        raise SweepFileError(f"{d}: no finished shards")
    check_shards(out, names, fingerprint, numerics, legacy_ok)
    meta = shard_meta(out, names[0]) or None
    steps = pd.concat([files.read_parquet(shard_paths(out, n)[0]) for n in names],
                      ignore_index=True)
    runs = pd.concat([files.read_parquet(shard_paths(out, n)[1]) for n in names],
                     ignore_index=True)
    steps = _sorted(steps, ["run_id", "quantity", "step"])
    runs = _sorted(runs, ["run_id"])
    write_atomic(steps, Path(out) / "steps.parquet", meta)
    write_atomic(runs, Path(out) / "runs.parquet", meta)
    return steps, runs


def load(out: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The merged tables of a finished sweep (one-line errors naming a missing or damaged
    file)."""
    out = Path(out)
    if not out.is_dir():
        what = "is not a directory" if out.exists() else "no such directory"
        raise SweepFileError(f"{out}: {what} (a sweep directory written by `width-sweep run`)")
    sp, rp = out / "steps.parquet", out / "runs.parquet"
    for p in (sp, rp):
        if not p.exists():
            raise SweepFileError(f"{p}: missing — {out} holds no merged sweep (run "
                                 "`width-sweep run` on it first)")
    return files.read_parquet(sp), files.read_parquet(rp)


def _git_revision() -> str:
    here = Path(__file__).resolve().parent
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True,
                             text=True, timeout=10, check=False).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=here, capture_output=True,
                               text=True, timeout=10, check=False).stdout.strip()
        return (rev or "unknown") + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in ("gammakit", "torch", "numpy", "pandas", "pyarrow", "scipy", "submitit"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def write_provenance(out: Path, spec_dict: dict[str, Any], device: str,
                     data_sources: dict[str, Any], extra: dict[str, Any] | None = None) -> None:
    """`provenance.json`: spec, git revision, package versions, device, data sources, and
    (in `extra`) the spec fingerprint and the numerics the shards were computed with."""
    prov = {"spec": spec_dict, "git_revision": _git_revision(), "versions": _versions(),
            "device": device, "host": {"machine": platform.machine(), "cpus": os.cpu_count()},
            "data_sources": data_sources, **(extra or {})}
    files.write_json(Path(out) / "provenance.json", prov)
