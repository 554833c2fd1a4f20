"""Peak-memory estimate of a sweep's shards, from the shapes alone (no allocation, no torch).

For one width n, a shard of R runs trained in blocks of B runs, c blocks at a time:

    peak(n) = Σ fixed(n) + min(prefix(n), cache cap) + c·B·per_run(n) + R·records + schedule

* **fixed**: what a width holds once — frozen weights (drawn in float64, scaled and cast: up to
  8 + 8 + e bytes per entry for a moment; the toy's float32 checkpoint plus its cast), the data,
  the toy's pretraining state on a checkpoint-cache miss (AdamW: weights, gradients, two
  moments in float32);
* **prefix**: the frozen prefix of every training batch (with the probe batch appended) and of
  the test set, cached per width up to `prefix.PrefixCache.max_bytes`;
* **per_run** (e = bytes per entry, P = LoRA parameters per run, b = batch + probe rows):
  `e·(9P + a·b·n)` — the parameters, A₀/B₀ constants, gradients, Adam's two moments, the
  tracker's θ₀ and θ_{t−1} copies, and `a` activation rows of width n (3 with the hand-written
  head, 4 per LoRA layer under autograd);
* **records**: the probe table of a run (recorded steps × quantities), on the device, on the
  host and as table rows (≈ 200 bytes a row while a shard is written or merged);
* **schedule**: the training batch indices (steps × batch, int64);
* **workspace**: 32 MiB of BLAS buffers and allocator slack.

The estimate is checked against measured peaks in tests/width_sweeps/test_plan.py; it is meant
as an upper bound within a factor of about two.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ROW_BYTES = 200                 # one tidy-table row while it is built, sorted and written
TOY_DATA = 2 * 70_000 * 784 * (4 + 1)   # MNIST + Fashion-MNIST float32, plus their uint8 cache
PREFIX_CAP = 2 << 30            # prefix.PrefixCache.max_bytes
WORKSPACE = 32 << 20            # BLAS buffers, allocator caches: measured peaks exceed the
                                # tensors by up to ~10 % of a few hundred MiB


@dataclass
class Footprint:
    """Bytes of one width's work; `fixed` and `per_run` name their terms and the setting that
    controls them (for the refusal message)."""
    fixed: dict[str, float] = field(default_factory=dict)
    per_run: float = 0.0
    prefix: float = 0.0
    rows: int = 0
    # test evaluation: (test rows, activation bytes per run and row, budget in bytes of one
    # runs × rows × width activation chunk) — prefix.evaluate / fused.ToyHead.evaluate
    test: tuple[int, float, float] = (0, 0.0, 0.0)


def _elt(dtype: str) -> int:
    return 8 if dtype == "float64" else 4


def _cast(e: int) -> int:
    """Bytes per entry of a float64 draw cast to the spec's dtype (both exist for a moment)."""
    return 8 + (e if e != 8 else 0)


def theory(spec: Any, n: int) -> Footprint:
    e, b, r, T = _elt(spec.dtype), spec.batch_size, spec.rank, spec.steps
    rows = b + min(spec.probe_batch, b)
    dense = n <= int(spec.model_options.get("dense_max_width", 4096))
    fixed: dict[str, float] = {
        "frozen W (widths)": (8 + _cast(e)) * n * n if dense else _cast(e) * b * n,
        "data (batch_size)": 2 * _cast(e) * b * n}
    return Footprint(fixed, e * (9 * 2 * r * n + 3 * rows * n),
                     (T + 1) * rows * 2 * n * e, rows)


def toy(spec: Any, n: int) -> Footprint:
    e, b, r, T = _elt(spec.dtype), spec.batch_size, spec.rank, spec.steps
    o = spec.model_options
    rows = b + min(spec.probe_batch, b)
    w = n * 784 + n * n + 10 * n
    n_test = min(int(o.get("n_test", 10_000)), 10_000) if spec.test_eval else 0
    fixed: dict[str, float] = {"frozen weights (widths)": (4 + (e if e != 4 else 0)) * w,
             "pretraining state on a cache miss (widths)": 4 * 4 * w,
             "data (model_options.n_train)": TOY_DATA + (e - 4) * 70_000 * 784}
    prefix = ((T + 1) * rows + n_test) * 2 * n * e
    return Footprint(fixed, e * (9 * 2 * r * n + 3 * rows * n), prefix, rows,
                     (n_test, 3.0 * n * e, 8 << 20))


def mlp5(spec: Any, n: int) -> Footprint:
    e, b, r, T = _elt(spec.dtype), spec.batch_size, spec.rank, spec.steps
    o = spec.model_options
    d_in, d_out = int(o.get("d_in", 400)), int(o.get("d_out", 10))
    layers = tuple(o.get("lora_layers", (1, 2, 3)))
    dims = [(n, d_in), (n, n), (n, n), (n, n), (d_out, n)]
    w = sum(a * c for a, c in dims)
    n_data = int(o.get("n_train", 1024)) + int(o.get("n_test", 256))
    rows = b + min(spec.probe_batch, b)
    P = sum(r * (dims[k][0] + dims[k][1]) for k in layers)
    fixed: dict[str, float] = {"frozen weights (widths)": _cast(e) * w,
                               "teacher (widths)": _cast(e) * w,
             "data (model_options.n_train)": n_data * (d_in + d_out + 2 * n) * e}
    n_test = int(o.get("n_test", 256)) if spec.test_eval else 0
    return Footprint(fixed, e * (9 * P + 4 * len(layers) * rows * n + 2 * rows * n),
                     (T + 1) * rows * 2 * n * e, rows,
                     (n_test, 4.0 * (5 - min(layers)) * n * e, float((1 << 25) * e)))


MODELS = {"theory-layer": theory, "toy": toy, "toy-mup": toy, "mlp5": mlp5}


def footprint(spec: Any, n: int) -> Footprint | None:
    """The built-in model's footprint at width n; None for a `module:factory` model."""
    f = MODELS.get(spec.model)
    return f(spec, n) if f else None


def recorded_steps(steps: int, every: int) -> int:
    """How many steps are recorded (engine.recorded_steps, counted without listing them)."""
    if every == 0 or every > steps:
        return 2 if steps else 1
    return steps // every + 1 + (1 if steps % every else 0)


def records_per_run(spec: Any, n_quantities: int) -> float:
    rows = recorded_steps(spec.steps, spec.probe_every) * n_quantities + 2
    return rows * ROW_BYTES


def width_independent(spec: Any, runs: int, n_quantities: int) -> dict[str, float]:
    """The terms of a shard's peak that do not depend on its width."""
    e = _elt(spec.dtype)
    return {"probe records (runs_per_shard, steps)": runs * (
                records_per_run(spec, n_quantities) + 3 * e * n_quantities),
            "batch schedule (steps, batch_size)": 8.0 * spec.steps * spec.batch_size,
            "BLAS workspace and allocator slack": float(WORKSPACE)}


def shard_peak(spec: Any, n: int, runs: int, block: int, conc: int, n_quantities: int,
               common: dict[str, float] | None = None) -> tuple[float, dict[str, float]] | None:
    """(peak bytes, named terms) of the widest shard of width n; None when unknown.
    `common`: `width_independent(...)`, when the caller evaluates many widths."""
    fp = footprint(spec, n)
    if fp is None:
        return None
    e = _elt(spec.dtype)
    terms = dict(fp.fixed)
    terms["prefix cache (steps, batch_size)"] = min(fp.prefix, PREFIX_CAP)
    terms["runs in flight (block_runs, workers)"] = min(conc * block, runs) * fp.per_run
    terms.update(common or width_independent(spec, runs, n_quantities))
    n_test, per_row, budget = fp.test
    if n_test:
        rows = min(n_test, 1024, max(8, int(budget // (block * n * e))))
        terms["test evaluation (block_runs)"] = conc * block * rows * per_row
    return sum(terms.values()), terms
