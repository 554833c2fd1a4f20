"""Tidy result tables (DESIGN "Tables"), atomic Parquet shards, merge and provenance (issue 4 §4).

Layout of an output directory:
```
DIR/spec.json  DIR/provenance.json
DIR/shards/w0001024-c0000.steps.parquet   (one per (width, chunk of runs); runs file = done mark)
DIR/shards/w0001024-c0000.runs.parquet
DIR/steps.parquet  DIR/runs.parquet        (merged, sorted: identical after a resume)
```
"""
from __future__ import annotations

import dataclasses
import json
import os
import platform
import subprocess
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .engine import ShardResult

KEYS = ["run_id", "model", "width", "scheme", "init_scale", "optimizer", "lr_exponent",
        "lr_exponent_b", "eta0", "eps", "seed"]
CATEGORICAL = ["model", "scheme", "optimizer", "lr_exponent", "lr_exponent_b", "eps", "quantity"]


def shard_name(width: int, chunk: int) -> str:
    return f"w{width:07d}-c{chunk:04d}"


def shard_paths(out: Path, name: str) -> tuple[Path, Path]:
    d = Path(out) / "shards"
    return d / f"{name}.steps.parquet", d / f"{name}.runs.parquet"


def shard_done(out: Path, name: str) -> bool:
    """A shard is finished once its runs file (written last) exists."""
    return shard_paths(out, name)[1].exists()


def write_atomic(df: pd.DataFrame, path: Path) -> None:
    """Write Parquet to a temp file in the same directory, then rename over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        df.to_parquet(tmp, index=False)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _keys_frame(res: ShardResult, model: str) -> pd.DataFrame:
    rows = [dataclasses.asdict(r) for r in res.runs]
    df = pd.DataFrame(rows)
    df.insert(1, "model", model)
    return df[KEYS + ["lr_a", "lr_b"]]


def steps_frame(res: ShardResult, model: str) -> pd.DataFrame:
    """One row per (run, step, quantity) — probes, then test metrics at the last step."""
    keys = _keys_frame(res, model)[KEYS]
    T1, Q, R = res.values.shape
    idx = np.arange(R)
    parts = []
    for qi, q in enumerate(res.quantities):
        for t in range(T1):
            parts.append((np.full(R, t), np.full(R, q, dtype=object), res.values[t, qi], idx))
    for q, v in res.test.items():
        parts.append((np.full(R, T1 - 1), np.full(R, q, dtype=object), v, idx))
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


def write_shard(out: Path, name: str, res: ShardResult, model: str) -> None:
    """Steps first, runs last (the runs file marks the shard finished)."""
    steps_p, runs_p = shard_paths(out, name)
    write_atomic(steps_frame(res, model), steps_p)
    write_atomic(runs_frame(res, model, name), runs_p)


def _sorted(df: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    df = df.sort_values(by, kind="stable").reset_index(drop=True)
    for c in CATEGORICAL:
        if c in df:
            df[c] = df[c].astype(str).astype("category")
    return df


def merge(out: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Concatenate finished shards into `steps.parquet` and `runs.parquet` (sorted, atomic)."""
    d = Path(out) / "shards"
    names = sorted(p.name[: -len(".runs.parquet")] for p in d.glob("*.runs.parquet"))
    if not names:
        raise FileNotFoundError(f"no finished shards under {d}")
    steps = pd.concat([pd.read_parquet(shard_paths(out, n)[0]) for n in names], ignore_index=True)
    runs = pd.concat([pd.read_parquet(shard_paths(out, n)[1]) for n in names], ignore_index=True)
    steps = _sorted(steps, ["run_id", "quantity", "step"])
    runs = _sorted(runs, ["run_id"])
    write_atomic(steps, Path(out) / "steps.parquet")
    write_atomic(runs, Path(out) / "runs.parquet")
    return steps, runs


def load(out: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The merged tables of a finished sweep."""
    out = Path(out)
    sp, rp = out / "steps.parquet", out / "runs.parquet"
    if not sp.exists() or not rp.exists():
        raise FileNotFoundError(f"{out} holds no merged sweep (run `width-sweep run` first)")
    return pd.read_parquet(sp), pd.read_parquet(rp)


def _git_revision() -> str:
    here = Path(__file__).resolve().parent
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True,
                             text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=here, capture_output=True,
                               text=True, timeout=10).stdout.strip()
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
    """`provenance.json`: spec, git revision, package versions, device, data sources."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    prov = {"spec": spec_dict, "git_revision": _git_revision(), "versions": _versions(),
            "device": device, "host": {"machine": platform.machine(), "cpus": os.cpu_count()},
            "data_sources": data_sources, **(extra or {})}
    tmp = out / ".provenance.json.tmp"
    tmp.write_text(json.dumps(prov, indent=2, default=str))
    os.replace(tmp, out / "provenance.json")
