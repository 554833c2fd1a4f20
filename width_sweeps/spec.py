"""Sweep specification: one dataclass, loaded from TOML or YAML, validated before any training.

Implements issue 4 §1.  Rates follow `η = η₀ (n/n₀)^(c − ε)` (THEORY §2: `c = γ[η]`), with an
optional separate B exponent `c_B` and a LoRA+ ratio `η_B/η_A` at `n₀`.  Every validation error is
a `SpecError` whose one-line message names the field.
"""
from __future__ import annotations

import dataclasses
import itertools
import math
import tomllib
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, ClassVar

from gamma_calc.schemes import SCHEMES as _SCHEME_TABLE
from gamma_calc.vocab import MODEL_ALIASES, OPTIMIZERS, canonical_model

MODELS = ("theory-layer", "toy", "toy-mup", "mlp5")          # built in (width_sweeps.models.BUILTIN)
SCHEMES = tuple(_SCHEME_TABLE)
DTYPES = ("float32", "float64")


class SpecError(ValueError):
    """An invalid sweep spec; the message is one line naming the field."""


def parse_rational(text: Any, field_name: str) -> Fraction:
    """Parse an exact-rational exponent string ("-1/2", "0")."""
    s = str(text).strip()
    try:
        return Fraction(s)
    except (ValueError, ZeroDivisionError):
        raise SpecError(f"spec field '{field_name}': {text!r} is not an exact rational "
                        f"like \"-1/2\"") from None


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
    fit: dict[str, Any] = field(default_factory=dict)
    name: str = "sweep"
    # how often the probes are recorded: every `probe_every` steps plus step 0 and the last
    # step (1: every step; 0: step 0 and the last step only).  The probe-batch loss (and the
    # divergence check on it) is computed every step regardless.
    probe_every: int = 1
    # performance knobs (they never change results; not compared when a sweep resumes):
    block_runs: int = 0          # runs trained together per block (0: auto — 8 on CPU, all on GPU)
    workers: int = 0             # CPU threads training blocks side by side (0: torch's thread count)
    fused: bool = True           # hand-written forward/backward where the model has one

    PERF_FIELDS: ClassVar[tuple[str, ...]] = ("device", "compile", "block_runs", "workers", "fused")

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

    def runs(self, width: int | None = None) -> list[RunConfig]:
        """The full grid in a fixed order (width-major); `run_id` indexes that order."""
        grid = itertools.product(self.widths, self.schemes, self.init_scales, self.eta0,
                                 self.lr_pairs(), self.eps, self.seeds)
        out = []
        for rid, (n, sch, beta, e0, (ca, cb), eps, seed) in enumerate(grid):
            if width is not None and n != width:
                continue
            ratio = Fraction(n, self.n0)
            f_a = float(ratio) ** float(Fraction(ca) - Fraction(eps))
            f_b = float(ratio) ** float(Fraction(cb) - Fraction(eps))
            out.append(RunConfig(rid, n, sch, float(beta), self.optimizer, ca, cb, float(e0),
                                 eps, int(seed), e0 * f_a, self.lr_ratio * e0 * f_b))
        return out

    def chunks(self, width: int) -> list[list[RunConfig]]:
        """Runs of one width split into shards of at most `runs_per_shard` runs."""
        runs = self.runs(width)
        k = self.runs_per_shard
        return [runs[i:i + k] for i in range(0, len(runs), k)]

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["betas"] = list(self.betas)
        return {k: v for k, v in d.items() if v is not None}


def _check(cond: bool, name: str, msg: str) -> None:
    if not cond:
        raise SpecError(f"spec field '{name}': {msg}")


def _nonempty_list(spec: SweepSpec, name: str) -> list:
    val = getattr(spec, name)
    _check(isinstance(val, list) and len(val) > 0, name, "must be a non-empty list")
    return val


def validate(spec: SweepSpec) -> None:
    """Check every field; raise `SpecError` naming the first bad one."""
    _check(spec.model in MODELS or ":" in str(spec.model), "model",
           f"{spec.model!r} is not one of {', '.join(MODELS)} (or 'module:factory')")
    for n in _nonempty_list(spec, "widths"):
        _check(isinstance(n, int) and not isinstance(n, bool) and n >= 1, "widths",
               f"{n!r} is not a positive integer")
    _check(len(set(spec.widths)) == len(spec.widths), "widths", "has duplicates")
    for s in _nonempty_list(spec, "schemes"):
        _check(s in SCHEMES, "schemes", f"unknown scheme {s!r} (valid: {', '.join(SCHEMES)})")
    for b in _nonempty_list(spec, "init_scales"):
        _check(isinstance(b, (int, float)) and b >= 0, "init_scales", f"{b!r} must be >= 0")
    _check(spec.optimizer in OPTIMIZERS, "optimizer",
           f"{spec.optimizer!r} is not one of {', '.join(OPTIMIZERS)}")
    for e in _nonempty_list(spec, "eta0"):
        _check(isinstance(e, (int, float)) and e > 0, "eta0", f"{e!r} must be > 0")
    _check(isinstance(spec.n0, int) and spec.n0 >= 1, "n0", "must be a positive integer")
    for c in _nonempty_list(spec, "lr_exponents"):
        parts = str(c).split(",")
        _check(1 <= len(parts) <= 2, "lr_exponents", f"{c!r}: use \"c\" or \"c_A,c_B\"")
        for p in parts:
            parse_rational(p, "lr_exponents")
    _check(isinstance(spec.lr_ratio, (int, float)) and spec.lr_ratio > 0, "lr_ratio", "must be > 0")
    for e in _nonempty_list(spec, "eps"):
        parse_rational(e, "eps")
    for s in _nonempty_list(spec, "seeds"):
        _check(isinstance(s, int) and s >= 0, "seeds", f"{s!r} is not a non-negative integer")
    _check(len(set(spec.seeds)) == len(spec.seeds), "seeds", "has duplicates")
    for name in ("steps", "batch_size", "probe_batch", "rank", "runs_per_shard"):
        v = getattr(spec, name)
        _check(isinstance(v, int) and not isinstance(v, bool) and v >= 1, name,
               f"{v!r} must be a positive integer")
    _check(spec.dtype in DTYPES, "dtype", f"{spec.dtype!r} is not one of {', '.join(DTYPES)}")
    _check(spec.device == "auto" or spec.device == "cpu" or str(spec.device).startswith("cuda"),
           "device", f"{spec.device!r}: use auto, cpu or cuda[:k]")
    _check(len(spec.betas) == 2 and all(0 <= b < 1 for b in spec.betas), "betas",
           "must be two numbers in [0, 1)")
    _check(spec.adam_eps >= 0, "adam_eps", "must be >= 0")
    _check(spec.diverge_factor > 1, "diverge_factor", "must be > 1")
    _check(spec.alpha is None or spec.alpha > 0, "alpha", "must be > 0")
    _check(isinstance(spec.compile, bool), "compile", "must be true or false")
    _check(isinstance(spec.fused, bool), "fused", "must be true or false")
    for name in ("probe_every", "block_runs", "workers"):
        v = getattr(spec, name)
        _check(isinstance(v, int) and not isinstance(v, bool) and v >= 0, name,
               f"{v!r} must be a non-negative integer")
    _check(isinstance(spec.model_options, dict), "model_options", "must be a table")
    _check(isinstance(spec.fit, dict), "fit", "must be a table")


FIELDS = {f.name for f in dataclasses.fields(SweepSpec)}


def _eta_grid(g: dict[str, Any]) -> list[float]:
    """`eta0 = {from = lo, to = hi, per_octave = k}`: the log grid lo·2^(j/k) up to hi."""
    try:
        lo, hi, k = float(g["from"]), float(g["to"]), int(g.get("per_octave", 4))
    except (KeyError, TypeError, ValueError):
        raise SpecError("spec field 'eta0': a grid needs from, to (numbers), per_octave") from None
    if not (0 < lo <= hi) or k < 1:
        raise SpecError("spec field 'eta0': grid needs 0 < from <= to and per_octave >= 1")
    n = math.floor(k * math.log2(hi / lo) + 1e-9)
    return [lo * 2.0 ** (j / k) for j in range(n + 1)]


def from_dict(data: dict[str, Any]) -> SweepSpec:
    """Build a spec from a plain mapping (TOML/YAML content); unknown keys are errors."""
    if not isinstance(data, dict):
        raise SpecError("spec: top level must be a table/mapping")
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
        d["eta0"] = _eta_grid(d["eta0"])
    if isinstance(d.get("seeds"), int) and not isinstance(d.get("seeds"), bool):
        d["seeds"] = list(range(d["seeds"]))          # `seeds = 10` means seeds 0..9
    for key in ("eta0", "init_scales", "lr_exponents", "eps", "schemes", "widths"):
        if key in d and not isinstance(d[key], list):
            d[key] = [d[key]]
    for key in ("lr_exponents", "eps"):
        if key in d:
            d[key] = [str(x) for x in d[key]]
    if "betas" in d:
        if not isinstance(d["betas"], (list, tuple)):
            raise SpecError("spec field 'betas': must be two numbers in [0, 1)")
        d["betas"] = tuple(d["betas"])
    try:
        return SweepSpec(**d)
    except TypeError as exc:             # wrong value types deep inside validation
        raise SpecError(f"spec: {exc}") from None


def load_spec(path: str | Path) -> SweepSpec:
    """Load a spec from a `.toml`, `.yaml` or `.yml` file."""
    p = Path(path)
    if not p.is_file():
        raise SpecError(f"spec: no such file {str(p)!r}")
    text = p.read_text()
    try:
        if p.suffix == ".toml":
            data = tomllib.loads(text)
        elif p.suffix in (".yaml", ".yml"):
            import yaml
            data = yaml.safe_load(text)
        else:
            raise SpecError(f"spec: {p.name!r} must end in .toml, .yaml or .yml")
    except (tomllib.TOMLDecodeError, ValueError) as exc:
        if isinstance(exc, SpecError):
            raise
        raise SpecError(f"spec: cannot parse {p.name}: {str(exc).splitlines()[0]}") from None
    except Exception as exc:  # noqa: BLE001 — yaml.YAMLError and friends: one line, no traceback
        raise SpecError(f"spec: cannot parse {p.name}: {str(exc).splitlines()[0]}") from None
    return from_dict(data)
