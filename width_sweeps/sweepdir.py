"""A sweep directory is owned and self-describing.

* **Owned**: a run holds `DIR/.lock` (JSON: pid, host, process start time, a token) from before
  it reads the directory's state until after the merge; a second writer is refused with one line
  naming the holder.  A lock whose process is gone (same host, pid dead or reused) is stale and
  is taken over; acquiring runs under `flock` on `DIR/.lock.guard`, so two processes never
  take over the same stale lock.  A lock of another host cannot be checked: the message says
  which file to delete once that process is known to be gone.
* **Self-describing**: `spec.json` is written only after the spec, its model options and its
  plan were validated; every shard records the spec's fingerprint (`SweepSpec.fingerprint`) and
  the numerics it was computed with (`models.numerics`), checked on resume and on merge.  A
  directory with no finished shard accepts a corrected spec (its spec.json is replaced).
"""
from __future__ import annotations

import contextlib
import gc
import json
import os
import secrets
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gamma_calc.errors import UserError
from gamma_calc.vocab import PROBES

from . import files, results
from .files import SweepFileError
from .spec import SpecError, SweepSpec

LOCK, GUARD = ".lock", ".lock.guard"


class SweepLocked(UserError):
    """Another process is writing the sweep directory."""


def start_time(pid: int) -> str | None:
    """The kernel's start time of `pid` (Linux; None elsewhere or when it has gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _alive(pid: int, started: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass                                   # someone else's process: it exists
    now = start_time(pid)
    return started is None or now is None or now == started   # a reused pid is not the holder


def _holder(path: Path) -> dict[str, Any] | None:
    try:
        d = json.loads(path.read_text())
        return d if isinstance(d, dict) and "pid" in d else None
    except (OSError, ValueError):
        return None


def ensure_dir(out: Path) -> None:
    """Create `out` (and parents), or a one-line error naming what is in the way."""
    if out.exists() and not out.is_dir():
        raise SweepFileError(f"--out {out}: is a file, not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise SweepFileError(f"--out {out}: a parent is a file, not a directory") from None
    except NotADirectoryError:
        raise SweepFileError(f"--out {out}: a parent is a file, not a directory") from None
    except OSError as exc:
        raise SweepFileError(f"--out {out}: cannot create ({exc.strerror})") from None


@contextlib.contextmanager
def _guard(out: Path) -> Iterator[None]:
    import fcntl
    try:
        fd = os.open(out / GUARD, os.O_CREAT | os.O_RDWR, 0o644)
    except OSError as exc:
        raise SweepFileError(f"cannot write {out / GUARD}: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)                           # closing releases the flock


def _try_take(path: Path, me: dict[str, Any]) -> dict[str, Any] | None:
    """Create the lock file; returns None on success, else the current holder (or {})."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        for _ in range(20):                    # a holder that has not written its line yet
            h = _holder(path)
            if h is not None:
                return h
            time.sleep(0.05)
        return {}
    except OSError as exc:
        raise SweepFileError(f"cannot write {path}: {exc.strerror}") from None
    with os.fdopen(fd, "w") as f:
        f.write(json.dumps(me))
    return None


@contextlib.contextmanager
def locked(out: Path) -> Iterator[dict[str, Any]]:
    """Hold `out/.lock` for the duration (creating `out`); a live holder is a `SweepLocked`."""
    ensure_dir(out)
    path = out / LOCK
    me = {"pid": os.getpid(), "host": socket.gethostname(), "start": start_time(os.getpid()),
          "started": datetime.now(UTC).isoformat(timespec="seconds"),
          "token": secrets.token_hex(8)}
    with _guard(out):
        holder = _try_take(path, me)
        if holder is not None:
            same_host = holder.get("host") == me["host"]
            pid = holder.get("pid")
            stale = holder == {} or (same_host and isinstance(pid, int)
                                     and not _alive(pid, holder.get("start")))
            if not stale:
                where = "this host" if same_host else f"host {holder.get('host')}"
                raise SweepLocked(
                    f"{out} is being written by pid {pid} on {where} (since "
                    f"{holder.get('started')}); wait for it, or choose another --out"
                    + ("" if same_host else f" (delete {path} once that process is gone)"))
            path.unlink(missing_ok=True)
            if _try_take(path, me) is not None:
                raise SweepLocked(f"{out}: could not take over the stale lock {path}")
    try:
        yield me
    finally:
        h = _holder(path)
        if h is not None and h.get("token") == me["token"]:
            path.unlink(missing_ok=True)


def _result_fields(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k not in SweepSpec.NON_RESULT}


def _defaults_added_later() -> dict[str, Any]:
    """Result-defining fields added after the first sweeps were written (an old spec.json
    means their defaults)."""
    return {"probe_every": 1}


def shard_names(spec: SweepSpec) -> list[str]:
    """Every shard of the spec, in order (linear in the number of shards)."""
    k = spec.n_chunks()
    gc_on = gc.isenabled()
    gc.disable()                    # one small string per shard: no cycles to collect
    try:
        return [results.shard_name(n, c) for n in spec.widths for c in range(k)]
    finally:
        if gc_on:
            gc.enable()


def prepare(spec: SweepSpec, out: Path, numerics: dict[str, Any] | None) -> list[str]:
    """Check `out` against `spec` (call it under the lock) and write spec.json / probes.json
    when the sweep is new, has no finished shard, or changed only in fields that define no
    result (`fit`, `name`).  Returns the names of the shards still to compute.

    Refused: a spec.json whose result-defining fields differ while shards are finished; a
    finished shard of another spec (fingerprint) or, when shards remain to compute, of other
    numerics; extending a sweep measured with another probe set."""
    _remove_temporaries(out)
    done = results.finished_shards(out)
    todo = [n for n in shard_names(spec) if n not in done]
    mine = json.loads(json.dumps(spec.to_dict()))
    sp = out / "spec.json"
    old = None
    if done and sp.exists():
        old = files.read_json(sp, "the sweep's spec (JSON)")
        if not isinstance(old, dict):
            raise SweepFileError(f"{sp}: not a JSON object")
        a, b = _result_fields(_defaults_added_later() | old), _result_fields(mine)
        if a != b:
            k = min(k for k in set(a) | set(b) if a.get(k) != b.get(k))
            raise SpecError(f"spec field '{k}': {b.get(k)!r} differs from the sweep already in "
                            f"{out} ({a.get(k)!r}); use another --out")
    if done:
        results.check_shards(out, sorted(done), spec.fingerprint(),
                             numerics if todo else None, legacy_ok=old is not None)
        if todo:
            _check_probes(out)
    if not done or old != mine:
        files.write_json(out / "probes.json", list(PROBES))        # before spec.json
        files.write_json(sp, mine)
    return todo


def _remove_temporaries(out: Path) -> None:
    """Half-written files of killed writers (`.NAME.PID.TOKEN.tmp`): under the lock no one
    else writes here, so every one of them is dead."""
    for d in (out, out / "shards"):
        for p in d.glob(".*.tmp") if d.is_dir() else ():
            p.unlink(missing_ok=True)


def _check_probes(out: Path) -> None:
    """Extend a sweep only with the probe set it was measured with."""
    q = out / "probes.json"
    have = files.read_json(q, "the probed quantities (JSON)") if q.exists() else None
    if have != list(PROBES):
        raise SpecError(f"probed quantities: differs from the sweep already in {out} (an older "
                        "gammakit began it); remove it or choose another --out")
