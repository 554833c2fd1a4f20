"""Sweep specification: one dataclass, loaded from TOML or YAML, validated before any training.

Rates follow `η = η₀ (n/n₀)^(c − ε)` (docs/theory.md §2: `c = γ[η]`), with an optional
separate B exponent `c_B` and a LoRA+ ratio `η_B/η_A` at `n₀`.  Every validation error is a
`SpecError` (width_sweeps.validation) whose one-line message names the field and value.

The grid is width-major: the runs of width `widths[i]` are the run ids `i·K … (i+1)·K − 1`
(`K` = runs per width), so one width's runs and shards are produced without walking the others
(planning is linear in the number of runs).
"""
from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import tomllib
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, ClassVar

from gamma_calc.schemes import SCHEMES as _SCHEME_TABLE
from gamma_calc.vocab import MODEL_ALIASES, OPTIMIZERS, PROBES, canonical_model

from . import validation as v
from .validation import SpecError, parse_rational

__all__ = ["DTYPES", "MODELS", "SCHEMES", "RunConfig", "SpecError", "SweepSpec", "from_dict",
           "load_spec", "parse_rational"]

# built in (width_sweeps.models.BUILTIN)
MODELS = ("theory-layer", "toy", "toy-mup", "mlp5")
SCHEMES = tuple(_SCHEME_TABLE)
DTYPES = ("float32", "float64")


@dataclass(frozen=True)
class RunConfig:
    """One training run of the grid (a config × a seed at one width)."""
    run_id: int
    width: int
    scheme: str
    init_scale: float
    optimizer: str
    lr_exponent: str
    lr_exponent_b: str
    eta0: float
    eps: str
    seed: int
    lr_a: float
    lr_b: float


@dataclass
class SweepSpec:
    """A width sweep: model × widths × schemes × init scales × rates × ε × seeds."""
    model: str
    widths: list[int]
    schemes: list[str]
    init_scales: list[float] = field(default_factory=lambda: [1.0])
    optimizer: str = "adam"
    eta0: list[float] = field(default_factory=lambda: [1e-2])
    n0: int = 1
    lr_exponents: list[str] = field(default_factory=lambda: ["0"])
    lr_ratio: float = 1.0
    eps: list[str] = field(default_factory=lambda: ["0"])
    seeds: list[int] = field(default_factory=lambda: [0])
    steps: int = 10
    batch_size: int = 1
    probe_batch: int = 1
    dtype: str = "float32"
    device: str = "auto"
    rank: int = 4
    alpha: float | None = None
    betas: tuple[float, float] = (0.9, 0.999)
    adam_eps: float = 1e-8
    diverge_factor: float = 1e4
    runs_per_shard: int = 256
    frozen_seed: int = 0
    data_seed: int = 0
    test_eval: bool = True
    compile: bool = False
    model_options: dict[str, Any] = field(default_factory=dict)
    # a plain `factory(width) -> nn.Module` model's data: "pkg.module:batch" (coord_sweep.py)
    data: str | None = None
    fit: dict[str, Any] = field(default_factory=dict)
    name: str = "sweep"
    # how often the probes are recorded: every `probe_every` steps plus step 0 and the last
    # step (1: every step; 0: step 0 and the last step only).  The probe-batch loss (and the
    # divergence check on it) is computed every step regardless.
    probe_every: int = 1
    # performance knobs: they never change *what* is computed, but the batched products' float
    # summation order depends on how many runs share a product and how many threads compute it,
    # so values move at rounding level; each shard records the effective settings and a resume
    # refuses to mix them (docs/width_sweeps.md, "Determinism").
    block_runs: int = 0          # runs trained together per block (0: auto — 8 on CPU, all on GPU)
    workers: int = 0             # CPU threads training blocks side by side (0: torch's threads)
    fused: bool = True           # hand-written forward/backward where the model has one

    PERF_FIELDS: ClassVar[tuple[str, ...]] = ("device", "compile", "block_runs", "workers", "fused")
    # fields that define no result: the fingerprint leaves them out
    NON_RESULT: ClassVar[tuple[str, ...]] = PERF_FIELDS + ("name", "fit")

    def __post_init__(self) -> None:
        validate(self)

    # -- derived ---------------------------------------------------------------------------
    @property
    def scale(self) -> float:
        """LoRA scale s = α/r (α defaults to r, i.e. s = 1)."""
        return (self.alpha if self.alpha is not None else self.rank) / self.rank

    def lr_pairs(self) -> list[tuple[str, str]]:
        """(c_A, c_B) per entry of `lr_exponents` ("c" or "c_A,c_B")."""
        out = []
        for e in self.lr_exponents:
            parts = [p.strip() for p in str(e).split(",")]
            out.append((parts[0], parts[-1]))
        return out

    def runs_per_width(self) -> int:
        """K: runs of one width (schemes × init scales × η₀ × exponents × ε × seeds)."""
        return v.grid_size(len(x) for x in (self.schemes, self.init_scales, self.eta0,
                                            self.lr_exponents, self.eps, self.seeds))

    def n_runs(self) -> int:
        return len(self.widths) * self.runs_per_width()

    def n_chunks(self, width: int | None = None) -> int:
        """Shards of one width (every width has the same number)."""
        return -(-self.runs_per_width() // self.runs_per_shard)

    def rate(self, width: int, e0: float, c: str, eps: str, ratio: float = 1.0) -> float:
        return ratio * e0 * float(Fraction(width, self.n0)) ** float(Fraction(c) - Fraction(eps))

    def runs(self, width: int | None = None) -> list[RunConfig]:
        """The grid in a fixed order (width-major; `run_id` indexes that order): every run, or
        those of one width (without walking the other widths)."""
        if width is None:
            return [r for n in self.widths for r in self.runs(n)]
        try:
            wi = self._width_index()[width]
        except KeyError:
            return []
        k = self.runs_per_width()
        grid = itertools.product(self.schemes, self.init_scales, self.eta0, self.lr_pairs(),
                                 self.eps, self.seeds)
        return [RunConfig(wi * k + j, width, sch, float(beta), self.optimizer, ca, cb,
                          float(e0), eps, int(seed), self.rate(width, e0, ca, eps),
                          self.rate(width, e0, cb, eps, self.lr_ratio))
                for j, (sch, beta, e0, (ca, cb), eps, seed) in enumerate(grid)]

    def _width_index(self) -> dict[int, int]:
        cache = self.__dict__.get("_windex")
        if cache is None or len(cache) != len(self.widths):
            cache = self.__dict__["_windex"] = {n: i for i, n in enumerate(self.widths)}
        return cache

    def chunks(self, width: int) -> list[list[RunConfig]]:
        """Runs of one width split into shards of at most `runs_per_shard` runs."""
        runs = self.runs(width)
        k = self.runs_per_shard
        return [runs[i:i + k] for i in range(0, len(runs), k)]

    def fingerprint(self) -> str:
        """Hash of the result-defining fields (all but `NON_RESULT`) and the probed quantities:
        every shard records it, so no table can carry another spec's label."""
        d = {k: val for k, val in json.loads(json.dumps(self.to_dict())).items()
             if k not in self.NON_RESULT}
        d["_probes"] = list(PROBES)
        blob = json.dumps(d, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d = json.loads(json.dumps(d, default=list))
        d["betas"] = list(self.betas)
        return {k: v for k, v in d.items() if v is not None}


def validate(spec: SweepSpec) -> None:
    """Check every field (types, finiteness, ranges, the rates of the whole grid); raise
    `SpecError` naming the first bad one."""
    _check_model(spec)
    for n in v.nonempty_list("widths", spec.widths):
        v.check_int("widths", n, 1)
    v.unique("widths", spec.widths)
    for s in v.nonempty_list("schemes", spec.schemes):
        if s not in SCHEMES:
            v.fail("schemes", f"unknown scheme {s!r} (valid: {', '.join(SCHEMES)})")
    v.unique("schemes", spec.schemes)
    for b in v.nonempty_list("init_scales", spec.init_scales):
        v.check_num("init_scales", b, ge=0)
    if spec.optimizer not in OPTIMIZERS:
        v.fail("optimizer", f"{spec.optimizer!r} is not one of {', '.join(OPTIMIZERS)}")
    for e in v.nonempty_list("eta0", spec.eta0):
        v.check_num("eta0", e, gt=0)
    v.check_int("n0", spec.n0, 1)
    for c in v.nonempty_list("lr_exponents", spec.lr_exponents):
        parts = str(c).split(",")
        if len(parts) > 2:
            v.fail("lr_exponents", f"{c!r}: use \"c\" or \"c_A,c_B\"")
        for p in parts:
            parse_rational(p, "lr_exponents")
    v.check_num("lr_ratio", spec.lr_ratio, gt=0)
    for e in v.nonempty_list("eps", spec.eps):
        parse_rational(e, "eps")
    for s in v.nonempty_list("seeds", spec.seeds):
        v.check_int("seeds", s, 0, "a non-negative integer")
    v.unique("seeds", spec.seeds)
    for name in ("steps", "batch_size", "probe_batch", "rank", "runs_per_shard"):
        v.check_int(name, getattr(spec, name), 1)
    for name in ("probe_every", "block_runs", "workers", "frozen_seed", "data_seed"):
        v.check_int(name, getattr(spec, name), 0, "a non-negative integer")
    if spec.rank > min(spec.widths):
        v.fail("rank", f"{spec.rank} exceeds the smallest width {min(spec.widths)}")
    if spec.dtype not in DTYPES:
        v.fail("dtype", f"{spec.dtype!r} is not one of {', '.join(DTYPES)}")
    v.check_device_name("device", spec.device)
    if not (isinstance(spec.betas, (list, tuple)) and len(spec.betas) == 2 and all(
            v.is_num(b) and 0 <= b < 1 for b in spec.betas)):
        v.fail("betas", f"{list(spec.betas) if isinstance(spec.betas, tuple) else spec.betas!r}"
               " is not two numbers in [0, 1)")
    v.check_num("adam_eps", spec.adam_eps, ge=0)
    v.check_num("diverge_factor", spec.diverge_factor, gt=1)
    if spec.alpha is not None:
        v.check_num("alpha", spec.alpha, gt=0)
    for name in ("test_eval", "compile", "fused"):
        v.check_bool(name, getattr(spec, name))
    if not isinstance(spec.name, str) or not spec.name.strip():
        v.fail("name", f"{spec.name!r} is not a non-empty string")
    if not isinstance(spec.model_options, dict):
        v.fail("model_options", f"{spec.model_options!r} is not a table")
    if spec.data is not None and not (isinstance(spec.data, str) and ":" in spec.data):
        v.fail("data", f"{spec.data!r}: use \"package.module:batch\"")
    v.check_fit(spec.fit)
    if spec.n_runs() > v.MAX_RUNS:
        v.fail("seeds", f"the grid has {spec.n_runs()} runs (at most {v.MAX_RUNS})")
    v.check_rates(spec.widths, spec.n0, spec.eta0, spec.lr_pairs(), spec.eps, spec.lr_ratio)


def _check_model(spec: SweepSpec) -> None:
    m = spec.model
    if not isinstance(m, str) or not (m in MODELS or ":" in m):
        v.fail("model", f"{m!r} is not one of {', '.join(MODELS)} (or 'module:factory')")


FIELDS = {f.name for f in dataclasses.fields(SweepSpec)}


def from_dict(data: Any, source: str = "spec") -> SweepSpec:
    """Build a spec from a plain mapping (TOML/YAML content); unknown keys are errors.
    `source` names the file in messages about the document as a whole."""
    if not isinstance(data, dict):
        raise SpecError(f"{source}: the top level must be a table/mapping, not "
                        f"{type(data).__name__}")
    unknown = sorted(set(data) - FIELDS)
    if unknown:
        raise SpecError(f"spec field '{unknown[0]}': unknown field")
    for req in ("model", "widths", "schemes"):
        if req not in data:
            raise SpecError(f"spec field '{req}': missing (required)")
    d = dict(data)
    if isinstance(d["model"], str) and d["model"] in MODEL_ALIASES:
        d["model"] = canonical_model(d["model"])
    if isinstance(d.get("eta0"), dict):
        d["eta0"] = v.eta_grid(d["eta0"])
    seeds: Any = d.get("seeds")
    if v.is_int(seeds):                                  # `seeds = 10` means seeds 0..9
        if not 1 <= seeds <= v.MAX_RUNS:
            v.fail("seeds", f"{seeds} is not a count in [1, {v.MAX_RUNS}]")
        d["seeds"] = list(range(seeds))
    for key in ("eta0", "init_scales", "lr_exponents", "eps", "schemes", "widths", "seeds"):
        if key in d and not isinstance(d[key], list):
            d[key] = [d[key]]
    for key in ("lr_exponents", "eps"):
        if key in d:
            d[key] = [x if isinstance(x, str) else str(x) for x in d[key]]
    if "betas" in d:
        if not isinstance(d["betas"], (list, tuple)):
            v.fail("betas", f"{d['betas']!r} is not two numbers in [0, 1)")
        d["betas"] = tuple(d["betas"])
    return SweepSpec(**d)


def load_spec(path: str | Path) -> SweepSpec:
    """Load a spec from a `.toml`, `.yaml` or `.yml` file."""
    p = Path(path)
    if p.suffix not in (".toml", ".yaml", ".yml"):
        raise SpecError(f"spec {str(p)!r}: must end in .toml, .yaml or .yml")
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"spec {str(p)!r}: no such file") from None
    except IsADirectoryError:
        raise SpecError(f"spec {str(p)!r}: is a directory, not a spec file") from None
    except UnicodeDecodeError as exc:
        raise SpecError(f"spec {str(p)!r}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise SpecError(f"spec {str(p)!r}: cannot read ({exc.strerror or exc})") from None
    try:
        if p.suffix == ".toml":
            data = tomllib.loads(text)
        else:
            import yaml
            data = yaml.safe_load(text)
    except Exception as exc:  # noqa: BLE001 — TOMLDecodeError, yaml.YAMLError: one line
        raise SpecError(f"spec {str(p)!r}: cannot parse: {str(exc).splitlines()[0]}") from None
    return from_dict({} if data is None else data, f"spec {str(p)!r}")
