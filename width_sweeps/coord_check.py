"""Coordinate checks with fitted exponents and verdicts for any PyTorch model with LoRA adapters.

    from width_sweeps.coord_check import coord_check
    cc = coord_check(lambda n: my_lora_model(n), (x, y), widths=[128, 256, 512, 1024])
    cc.fits            # one row per (module, quantity, step, scheme, rate): predicted vs fitted
    cc.plot()          # a matplotlib Figure (the caller's backend untouched)

For each width n, `model_fn(n)` is built once; every LoRA adapter in it (peft `LoraLayer`s —
Linear, Conv1D, Embedding — and `toy_models.lora.LoRALinear`) is found, initialised with each
scheme and trained for `steps` steps at rate η = η₀ (n/n₀)^c, all seeds × rates × schemes of
the width together (width_sweeps.coord_train).  The probes of docs/theory.md §2 are recorded per
adapter; their exponents in n are fitted with bootstrap intervals over seeds
(width_sweeps.fit) and judged against gamma_calc's predictions for that adapter's geometry
(width_sweeps.coord_fit), after checking the theory's premise that the adapter's input has
Θ(1) entries.  Scheme names are gammakit's (gamma_calc.schemes) or peft's `init_lora_weights`
values (True, False, "gaussian", "orthogonal", "pissa", "olora", …).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from .coord_fit import fit_check, premise_table, summary
from .coord_train import Batch, WidthResult, make_runs, train_width
from .fit import FitOptions

__all__ = ["CoordCheck", "CoordCheckError", "coord_check"]

COLUMNS = ["width", "seed", "scheme", "lr_exponent", "step", "module", "quantity", "value"]


class CoordCheckError(ValueError):
    """Bad arguments to `coord_check` (one-line message naming the argument)."""


@dataclass
class CoordCheck:
    """The result: the tidy `table` of measurements, the `fits` with verdicts, each adapter's
    `geometry`, the `premise` per adapter, and notes (e.g. why a prediction is missing)."""

    table: pd.DataFrame
    fits: pd.DataFrame
    geometry: pd.DataFrame
    premise: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    options: FitOptions = field(default_factory=FitOptions)
    batched: bool = True
    seconds: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """Verdict counts over every fitted row."""
        return summary(self.fits)

    def plot(self, quantities: Sequence[str] = ("Z_A", "Z_B", "delta1", "delta2"),
             modules: Sequence[str] | None = None, scheme: str | None = None,
             lr_exponent: str | None = None, max_modules: int = 6) -> Any:
        """Seed means against width on log–log axes, one panel per (module, quantity), one
        line per step, legends with fitted / predicted exponents and verdicts; returns a
        matplotlib Figure (pyplot is not used, so the caller's backend is untouched)."""
        from .coord_plot import plot_check
        return plot_check(self, quantities, modules, scheme, lr_exponent, max_modules)


def _scheme_names(schemes: Sequence[Any]) -> list[tuple[str, str]]:
    """(as given, canonical) per scheme; peft's True/False are accepted as values."""
    from gamma_calc.schemes import UnknownSchemeError, canonical_scheme
    out = []
    for s in schemes:
        try:
            out.append((str(s), canonical_scheme(str(s))))
        except UnknownSchemeError as exc:
            raise CoordCheckError(f"schemes: {exc}") from None
    return out


def _check_args(widths: Sequence[int], lr_exponents: Sequence[str], seeds: int | Sequence[int],
                steps: int, optimizer: str, eta0: float, n0: int) -> list[int]:
    if not widths or any(not isinstance(n, int) or n < 1 for n in widths):
        raise CoordCheckError(f"widths: {list(widths)!r} must be positive integers")
    if len(set(widths)) != len(widths):
        raise CoordCheckError("widths: has duplicates")
    if len(widths) < 2:
        raise CoordCheckError(f"widths: {list(widths)!r} — a width exponent needs at least 2")
    for c in lr_exponents:
        parts = str(c).split(",")
        try:
            if len(parts) > 2:
                raise ValueError
            [Fraction(p.strip()) for p in parts]
        except (ValueError, ZeroDivisionError):
            raise CoordCheckError(f"lr_exponents: {c!r} is not \"c\" or \"c_A,c_B\" with exact "
                                  "rationals like \"-1/2\"") from None
    seed_list = list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]
    if not seed_list:
        raise CoordCheckError("seeds: need at least one")
    if not isinstance(steps, int) or steps < 1:
        raise CoordCheckError(f"steps: {steps!r} must be a positive integer")
    if optimizer not in ("adam", "sgd"):
        raise CoordCheckError(f"optimizer: {optimizer!r} is not adam or sgd")
    if eta0 <= 0 or n0 < 1:
        raise CoordCheckError("eta0 must be > 0 and n0 >= 1")
    return seed_list


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _columns(n: int, res: WidthResult) -> dict[str, np.ndarray]:
    """The tidy rows of one width, column by column."""
    runs, keys = res.runs, list(res.values)
    R, K = len(runs), len(keys)
    col = lambda xs: np.repeat(np.asarray(xs, dtype=object), R)
    tile = lambda xs: np.tile(np.asarray(xs, dtype=object), K)
    return {
        "width": np.full(R * K, n), "seed": tile([r.seed for r in runs]).astype(np.int64),
        "scheme": tile([r.scheme for r in runs]),
        "lr_exponent": tile([r.lr_exponent for r in runs]),
        "step": col([k[0] for k in keys]).astype(np.int64), "module": col([k[1] for k in keys]),
        "quantity": col([k[2] for k in keys]),
        "value": np.concatenate([np.asarray(res.values[k], dtype=np.float64) for k in keys])}


def _table(parts: list[dict[str, np.ndarray]]) -> pd.DataFrame:
    """One frame from every width's columns (built once, not one frame per width)."""
    return pd.DataFrame({c: np.concatenate([p[c] for p in parts]) for c in COLUMNS})


def _geometry(shapes: dict[str, dict[int, tuple[str, int, int, int, float]]]) -> pd.DataFrame:
    from .coord_fit import dim_kind
    rows = []
    for name, per in shapes.items():
        ws = sorted(per)
        kind, _, _, r, s = per[ws[-1]]
        rows.append({"module": name, "kind": kind, "r": r, "scale": s,
                     "in": [per[w][1] for w in ws], "out": [per[w][2] for w in ws],
                     "in_dim": dim_kind([per[w][1] for w in ws], ws),
                     "out_dim": dim_kind([per[w][2] for w in ws], ws)})
    return pd.DataFrame(rows)


def run_widths(model_fn: Callable[[int], nn.Module], data: Batch | Callable[[int], Batch], *,
               widths: Sequence[int], schemes: list[tuple[str, str]], optimizer: str,
               eta0: float, n0: int, lr_exponents: Sequence[str], seeds: list[int],
               steps: int, loss_fn: Any, device: torch.device, dtype: torch.dtype,
               batched: bool = True) -> tuple[pd.DataFrame, pd.DataFrame, list[str], bool]:
    """Train every width; (table, geometry, notes, batched) — batched falls back per run.

    The largest width runs first (a model too large for memory fails before the others have
    run, and later widths reuse memory the process already holds: 3–10 % less time beside
    mup's benchmark); the table lists the widths in ascending order."""
    tables: list[dict[str, np.ndarray]] = []
    shapes: dict[str, dict[int, tuple[str, int, int, int, float]]] = {}
    notes: list[str] = []
    for n in sorted(widths, reverse=True):
        model = model_fn(n)
        if not isinstance(model, nn.Module):
            raise CoordCheckError(f"model_fn({n}) returned {type(model).__name__}, not an "
                                  "nn.Module")
        runs = make_runs(n, schemes, list(lr_exponents), seeds, eta0, n0)
        kw = {"steps": steps, "optimizer": optimizer, "loss_fn": loss_fn, "device": device,
              "dtype": dtype}
        try:
            res = train_width(model, runs, data, batched=batched, **kw)
        except (RuntimeError, NotImplementedError) as exc:
            if not batched:
                raise
            batched = False
            notes.append(f"vmap could not batch the model ({str(exc).splitlines()[0][:160]});"
                         " runs trained one after another")
            res = train_width(model_fn(n), runs, data, batched=False, **kw)
        tables.append(_columns(n, res))
        for ad in res.adapters:
            shapes.setdefault(ad.name, {})[n] = (ad.kind, ad.in_features, ad.out_features,
                                                 ad.r, ad.scale)
    return _table(tables[::-1]), _geometry(shapes), notes, batched


def coord_check(model_fn: Callable[[int], nn.Module], data: Batch | Callable[[int], Batch], *,
                widths: Sequence[int], schemes: Sequence[Any] = ("A",), optimizer: str = "adam",
                eta0: float = 1.0, n0: int = 1, lr_exponents: Sequence[str] = ("-1/2",),
                seeds: int | Sequence[int] = 4, steps: int = 4,
                loss_fn: Callable[[Any, Any], torch.Tensor] | None = None,
                device: str = "auto", dtype: torch.dtype | None = None) -> CoordCheck:
    """Coordinate check of every LoRA adapter of `model_fn(width)` with fits and verdicts.

    `data`: an `(inputs, targets)` pair reused at every step (inputs a tensor or a dict of
    keyword arguments, Hugging Face style; targets may be None when the model returns its own
    `.loss`), or a callable `step -> (inputs, targets)` (step 0: the probe batch).  `loss_fn(
    output, targets)`: default the model's own `.loss`, cross-entropy for integer targets, MSE
    otherwise.  `seeds`: a count or a list.  `dtype`: default float32 (float64 for exact
    comparisons).  The model is put in eval mode (dropout off) and its own weights frozen."""
    import time
    t0 = time.perf_counter()
    seed_list = _check_args(widths, lr_exponents, seeds, steps, optimizer, eta0, n0)
    names = _scheme_names(schemes)
    widths = sorted(int(n) for n in widths)
    dev = _device(device)
    table, geometry, notes, batched = run_widths(
        model_fn, data, widths=widths, schemes=names, optimizer=optimizer, eta0=eta0, n0=n0,
        lr_exponents=[str(c) for c in lr_exponents], seeds=seed_list, steps=steps,
        loss_fn=loss_fn, device=dev, dtype=dtype or torch.float32)
    t1 = time.perf_counter()
    opts = FitOptions()
    fits, fit_notes = fit_check(table, geometry, dict(names), optimizer, steps, opts)
    return CoordCheck(table, fits, geometry, premise_table(fits), notes + fit_notes, opts,
                      batched, {"train": t1 - t0, "fit": time.perf_counter() - t1})
