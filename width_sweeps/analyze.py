"""One sweep directory → fits + predictions + verdicts (+ Theorem 1, + max-lr): `width-sweep fit`.

Reads the merged tables and the spec, writes `fits.parquet` (and `theorem1.parquet`,
`maxlr.parquet`, `maxlr_widths.parquet` when they apply) next to them, and returns the tables.
Fit settings come from the spec's `[fit]` table (FitOptions fields, plus `maxlr` / `tau`),
overridable from the CLI.  `exclusions(...)` lists, in words, everything a fit left out.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from . import results
from .fit import CONFIG, FitOptions, fit_table
from .maxlr import maxlr_table
from .predict import PredictFn, attach_predictions, gamma_calc_predict
from .theorem1 import theorem1
from .verdict import add_verdicts


@dataclass
class Analysis:
    fits: pd.DataFrame
    theorem1: pd.DataFrame
    maxlr: pd.DataFrame
    maxlr_widths: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    options: FitOptions = field(default_factory=FitOptions)
    runs: pd.DataFrame = field(default_factory=pd.DataFrame)


def load_spec_dict(out: Path) -> dict[str, Any]:
    p = Path(out) / "spec.json"
    if not p.exists():
        raise FileNotFoundError(f"{out} holds no sweep (no spec.json)")
    return json.loads(p.read_text())


def judged_fits(steps: pd.DataFrame, runs: pd.DataFrame | None, opts: FitOptions,
                predict_fn: PredictFn = gamma_calc_predict,
                model_options: dict[str, Any] | None = None
                ) -> tuple[pd.DataFrame, list[str]]:
    """Fits (with draws in `boot`), predictions and verdicts for a steps/runs pair."""
    fits = fit_table(steps, runs, opts, keep_boot=True)
    if not len(fits):
        return fits, []
    fits, notes = attach_predictions(fits, predict_fn, model_options)
    return add_verdicts(fits, opts.rule()), notes


def analyze(out: str | Path, *, predict_fn: PredictFn = gamma_calc_predict,
            overrides: dict[str, Any] | None = None) -> Analysis:
    """Fit every (config, step, quantity) of the sweep in `out` and judge it."""
    out = Path(out)
    spec = load_spec_dict(out)
    fit_cfg = {**spec.get("fit", {}), **(overrides or {})}
    opts = FitOptions.from_spec(fit_cfg)
    steps, runs = results.load(out)
    empty = pd.DataFrame()
    if fit_cfg.get("maxlr", False):
        widths, ml = maxlr_table(steps, runs, float(fit_cfg.get("tau", 1.0)), opts)
        results.write_atomic(ml, out / "maxlr.parquet")
        results.write_atomic(widths, out / "maxlr_widths.parquet")
        return Analysis(empty, empty, ml, widths, [], opts, runs)
    fits, notes = judged_fits(steps, runs, opts, predict_fn, spec.get("model_options"))
    t1 = theorem1(fits, opts.level, opts.rule()) if len(fits) else empty
    fits = fits.drop(columns=["boot"], errors="ignore")
    results.write_atomic(fits.astype({"predicted": "string"}) if len(fits) else fits,
                         out / "fits.parquet")
    if len(t1):
        results.write_atomic(t1, out / "theorem1.parquet")
    return Analysis(fits, t1, empty, empty, notes, opts, runs)


def exclusions(fits: pd.DataFrame, runs: pd.DataFrame | None = None) -> list[str]:
    """One line per config that lost runs or widths, and per config whose every run diverged
    — what `fit` and `report` print under their tables."""
    if not len(fits):
        return []
    lines = []
    keys = [c for c in CONFIG if c in fits.columns]
    for key, g in fits.groupby(keys, observed=True, sort=True):
        cfg = ", ".join(f"{k}={v}" for k, v in zip(keys, key) if k not in ("model", "optimizer"))
        if (g.status == "diverged").all():
            lines.append(f"{cfg}: every run diverged ({int(g.runs_diverged.max())} runs); "
                         "no exponent measured")
            continue
        div = int(g.runs_diverged.max())
        drop = sorted({d for d in g.widths_dropped if isinstance(d, str) and d and
                       "diverged" in d})
        if div:
            lines.append(f"{cfg}: {div} diverged runs left out; widths dropped: "
                         f"{'; '.join(drop) or 'none'}")
    return lines


def empty_sweep_text(runs: pd.DataFrame) -> str:
    """What to print when a sweep holds no fittable row."""
    n_div = int((runs.status != "ok").sum()) if len(runs) else 0
    return (f"no fits: {len(runs)} runs, {n_div} diverged, "
            f"{runs.width.nunique() if len(runs) else 0} widths")
