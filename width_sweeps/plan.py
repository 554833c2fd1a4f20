"""A plan before work: runs, shards, estimated peak memory and time, and the device.

`make_plan` resolves the device (refusing one that does not exist), validates the model
options, and estimates every width's widest shard with `width_sweeps.memory` — in time linear
in the number of widths, allocating nothing.  `check` refuses a plan whose peak exceeds the
memory available (RAM; GPU memory on CUDA) before anything is allocated or written, naming the
widest shard and the settings that shrink it.  `calibrate` times a few runs of one or two
widths (`width-sweep run --dry-run`) and scales them to the whole grid.
"""
from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gamma_calc.errors import UserError
from gamma_calc.vocab import PROBES
from toy_models.resources import available_ram
from toy_models.resources import gib as _gib

from . import memory, models, results
from .spec import SweepSpec

GIB = float(1 << 30)
HEADROOM = 0.9                   # use at most 90 % of what is available


class PlanRefused(UserError):
    """The plan needs more memory than is available."""


@dataclass
class WidthPlan:
    width: int
    runs: int
    shards: int
    peak: float | None                       # bytes of its widest shard (None: unknown model)
    terms: dict[str, float] = field(default_factory=dict)
    seconds: float | None = None


@dataclass
class Plan:
    spec: SweepSpec
    device: Any                              # torch.device
    numerics: dict[str, Any]
    widths: list[WidthPlan]
    block: int
    conc: int
    available: float
    where: str
    merge_bytes: float
    calibration: str = ""

    @property
    def n_runs(self) -> int:
        return sum(w.runs for w in self.widths)

    @property
    def n_shards(self) -> int:
        return sum(w.shards for w in self.widths)

    def widest(self) -> WidthPlan | None:
        known = [w for w in self.widths if w.peak is not None]
        return max(known, key=lambda w: w.peak or 0.0) if known else None

    def seconds(self) -> float | None:
        if any(w.seconds is None for w in self.widths):
            return None
        return sum(w.seconds or 0.0 for w in self.widths)


def _available(device: Any) -> tuple[float, str]:
    if device.type == "cuda":
        import torch
        free, _ = torch.cuda.mem_get_info(device)
        return float(free), f"GPU memory on {device}"
    return available_ram(), "RAM"


def make_plan(spec: SweepSpec, device: str | None = None,
              label: str = "spec field 'device'") -> Plan:
    """The plan of `spec` on `device` (default: the spec's); validates device and options."""
    from . import engine
    dev = models.pick_device(spec.device if device is None else device, label)
    models.check_options(spec)
    K = spec.runs_per_width()
    shards = spec.n_chunks()
    R = min(K, spec.runs_per_shard)
    block = engine.block_size(spec, dev, R)
    conc = engine.n_workers(spec, dev, -(-R // block))
    rows_per_run = memory.records_per_run(spec, len(PROBES)) / memory.ROW_BYTES
    widths = []
    for n in spec.widths:
        est = memory.shard_peak(spec, n, R, block, conc, len(PROBES))
        peak, terms = (None, {}) if est is None else est
        widths.append(WidthPlan(n, K, shards, peak, terms))
    avail, where = _available(dev)
    return Plan(spec, dev, models.numerics(spec, dev), widths, block, conc, avail, where,
                spec.n_runs() * rows_per_run * memory.ROW_BYTES * 2)


def check(plan: Plan) -> None:
    """Refuse a plan whose widest shard (or the merged tables) would not fit."""
    w = plan.widest()
    limit = plan.available * HEADROOM
    if w is not None and w.peak is not None and w.peak > limit:
        top = sorted(w.terms.items(), key=lambda kv: -kv[1])[:3]
        parts = ", ".join(f"{k} {_gib(v)}" for k, v in top)
        raise PlanRefused(
            f"plan: shard {results.shard_name(w.width, 0)} needs about {_gib(w.peak)} of memory "
            f"({parts}) but {_gib(plan.available)} of {plan.where} is available; change "
            f"widths, runs_per_shard, block_runs or dtype (see width-sweep run --dry-run)")
    ram = available_ram() * HEADROOM
    if plan.merge_bytes > ram:
        raise PlanRefused(
            f"plan: the merged tables of {plan.n_runs} runs need about {_gib(plan.merge_bytes)} "
            f"of memory but {_gib(ram / HEADROOM)} of RAM is available; fewer seeds or steps, "
            "or a larger probe_every")


def _time_shard(model: Any, spec: SweepSpec, runs: list, steps: int, dev: Any,
                cache: Any) -> float:
    from . import engine
    sub = dataclasses.replace(spec, steps=steps)
    t0 = time.perf_counter()
    engine.train_shard(model, sub, runs, dev, models.pick_dtype(spec.dtype), cache=cache)
    if dev.type == "cuda":
        import torch
        torch.cuda.synchronize(dev)
    return time.perf_counter() - t0


def _needs_pretraining(spec: SweepSpec, n: int) -> bool:
    """Whether building the toy at width n would pretrain it (no cached checkpoint)."""
    if spec.model != "toy":
        return False
    from .adapters import toy_checkpoint_cached
    return not toy_checkpoint_cached(spec, n)


def _point(spec: SweepSpec, n: int, dev: Any, k: int) -> tuple[float, float, float]:
    """(build s, fixed s per round of k runs, s per step per round) at width n: the minimum
    of two timings of 1 and of T_c = min(steps, 4) steps on a warm prefix cache."""
    from . import engine
    t0 = time.perf_counter()
    model = models.build(spec, n, dev, models.pick_dtype(spec.dtype))
    build = time.perf_counter() - t0
    runs = spec.runs(n)[:k]
    cache = engine.PrefixCache()
    tc = max(2, min(spec.steps, 4))
    _time_shard(model, spec, runs, tc, dev, cache)                   # warm-up, fills the cache
    t1 = min(_time_shard(model, spec, runs, 1, dev, cache) for _ in range(2))
    t2 = min(_time_shard(model, spec, runs, tc, dev, cache) for _ in range(2))
    step = max((t2 - t1) / (tc - 1), t1 / (tc + 1), 1e-6)
    return build, max(t1 - step, 0.0), step


def calibrate(plan: Plan) -> None:
    """Time k runs (one round of blocks) at the smallest and the largest width and scale: a
    width costs build + Σ_shards (R/k)·(fixed + T·per_step), the costs interpolated between
    the two widths as a power n^p (p fitted, within [0.5, 2]: the per-run products are linear
    in n, the frozen prefix up to quadratic).  Fills `WidthPlan.seconds`; a toy width that
    would first have to be pretrained is not timed (its time stays unknown)."""
    spec, dev = plan.spec, plan.device
    k = min(plan.block * plan.conc, spec.runs_per_width())
    todo = sorted({min(spec.widths), max(spec.widths)})
    skipped = [n for n in todo if _needs_pretraining(spec, n)]
    points = {n: _point(spec, n, dev, k) for n in todo if n not in skipped}
    if skipped:
        plan.calibration = (f"not timed: the toy at n = {', '.join(map(str, skipped))} is not "
                            "pretrained yet (`toy-model pretrain --width N` caches it)")
        return
    lo, hi = min(points), max(points)

    def at(n: int, i: int) -> float:
        a, b = points[lo][i], points[hi][i]
        if lo == hi:
            return b
        p = min(max(math.log(b / a) / math.log(hi / lo), 0.5), 2.0) if a > 0 < b else 1.0
        return b * (n / hi) ** p
    for w in plan.widths:
        per_shard = [min(spec.runs_per_shard, w.runs - c * spec.runs_per_shard)
                     for c in range(w.shards)]
        w.seconds = at(w.width, 0) + sum(r / k * (at(w.width, 1) + spec.steps * at(w.width, 2))
                                         for r in per_shard)
    plan.calibration = (f"{k} runs x 1 and {max(2, min(spec.steps, 4))} steps at n = "
                        + ", ".join(f"{n} ({points[n][2]:.2g} s/step)" for n in points))


def _duration(s: float | None) -> str:
    if s is None:
        return "?"
    for unit, size in (("h", 3600), ("min", 60)):
        if s >= size:
            return f"{s / size:.1f} {unit}"
    return f"{s:.1f} s"


def describe(plan: Plan, out: Path | None = None, max_rows: int = 12) -> str:
    """The dry-run text."""
    s, num = plan.spec, plan.numerics
    axes = (f"{len(s.widths)} widths x {len(s.schemes)} schemes x {len(s.init_scales)} init "
            f"scales x {len(s.eta0)} eta0 x {len(s.lr_exponents)} exponents x {len(s.eps)} eps "
            f"x {len(s.seeds)} seeds")
    threads = f", {num['threads']} threads" if num["threads"] else ""
    lines = [(f"plan: {s.name} ({s.model}, {s.optimizer}, {s.steps} steps): {plan.n_runs} runs "
              f"= {axes}"),
             f"device: {plan.device} ({num['device']}, {s.dtype}, torch {num['torch']}{threads})",
             (f"shards: {plan.n_shards} ({s.runs_per_shard} runs per shard); blocks of "
              f"{plan.block} runs, {plan.conc} at a time; hand-written head: "
              f"{'yes' if num['fused'] else 'no'}")]
    if out is not None and (Path(out) / "shards").is_dir():
        done = len(results.finished_shards(Path(out)))
        lines.append(f"{out}: {done} of {plan.n_shards} shards already finished")
    lines.append(f"{'width':>9} {'runs':>7} {'shards':>6} {'peak memory':>12} {'time':>9}")
    rows = plan.widths
    shown = rows if len(rows) <= max_rows else rows[: max_rows // 2] + rows[-max_rows // 2:]
    for i, w in enumerate(shown):
        if len(rows) > max_rows and i == max_rows // 2:
            lines.append(f"{'...':>9} ({len(rows) - max_rows} more widths)")
        peak = _gib(w.peak) if w.peak is not None else "unknown"
        lines.append(f"{w.width:>9} {w.runs:>7} {w.shards:>6} {peak:>12} "
                     f"{_duration(w.seconds):>9}")
    wide = plan.widest()
    if wide is not None and wide.peak is not None:
        top = sorted(wide.terms.items(), key=lambda kv: -kv[1])[:4]
        lines.append(f"peak memory: {_gib(wide.peak)} at shard "
                     f"{results.shard_name(wide.width, 0)} ("
                     + ", ".join(f"{k} {_gib(v)}" for k, v in top) + f"); available: "
                     f"{_gib(plan.available)} of {plan.where}")
    else:
        lines.append(f"peak memory: not estimated for model {s.model!r}; available: "
                     f"{_gib(plan.available)} of {plan.where}")
    if plan.calibration:
        lines.append(f"estimated time: {_duration(plan.seconds())} (calibrated: "
                     f"{plan.calibration})")
    return "\n".join(lines)
