"""One sweep directory → fits + predictions + verdicts (+ Theorem 1, + max-lr): `width-sweep fit`.

Reads the merged tables and the spec, writes `fits.parquet` (and `theorem1.parquet`,
`maxlr.parquet`, `maxlr_widths.parquet` when they apply) next to them, and returns the tables.
Fit settings come from the spec's `[fit]` table (FitOptions fields, plus `maxlr` / `tau`),
overridable from the CLI.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from . import results
from .fit import FitOptions, fit_table
from .maxlr import maxlr_table
from .predict import PredictFn, gamma_calc_predict
from .verdict import add_verdicts, attach_predictions, theorem1


@dataclass
class Analysis:
    fits: pd.DataFrame
    theorem1: pd.DataFrame
    maxlr: pd.DataFrame
    maxlr_widths: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    options: FitOptions = field(default_factory=FitOptions)


def load_spec_dict(out: Path) -> dict[str, Any]:
    p = Path(out) / "spec.json"
    if not p.exists():
        raise FileNotFoundError(f"{out} holds no sweep (no spec.json)")
    return json.loads(p.read_text())


def analyze(out: str | Path, *, predict_fn: PredictFn = gamma_calc_predict,
            overrides: dict[str, Any] | None = None) -> Analysis:
    """Fit every (config, step, quantity) of the sweep in `out` and judge it."""
    out = Path(out)
    spec = load_spec_dict(out)
    fit_cfg = {**spec.get("fit", {}), **(overrides or {})}
    opts = FitOptions.from_spec(fit_cfg)
    steps, runs = results.load(out)
    maxlr_mode = bool(fit_cfg.get("maxlr", False))
    empty = pd.DataFrame()
    if maxlr_mode:
        widths, ml = maxlr_table(steps, runs, float(fit_cfg.get("tau", 1.0)), opts)
        results.write_atomic(ml, out / "maxlr.parquet")
        results.write_atomic(widths, out / "maxlr_widths.parquet")
        return Analysis(empty, empty, ml, widths, [], opts)
    if "module" in steps.columns:                 # a factory(width) model: every adapter
        from .coord_sweep import analyze as analyze_modules
        fits, notes = analyze_modules(out, steps, runs, spec, opts)
        results.write_atomic(fits.astype({"predicted": "string"}) if len(fits) else fits,
                             out / "fits.parquet")
        return Analysis(fits, empty, empty, empty, notes, opts)
    fits = fit_table(steps, runs, opts, keep_boot=True)
    notes: list[str] = []
    if len(fits):
        fits, notes = attach_predictions(fits, predict_fn)
        fits = add_verdicts(fits, opts.tolerance)
    t1 = theorem1(fits, opts.level, opts.tolerance) if len(fits) else empty
    fits = fits.drop(columns=["boot"], errors="ignore")
    results.write_atomic(fits.astype({"predicted": "string"}) if len(fits) else fits,
                         out / "fits.parquet")
    if len(t1):
        results.write_atomic(t1, out / "theorem1.parquet")
    return Analysis(fits, t1, empty, empty, notes, opts)
