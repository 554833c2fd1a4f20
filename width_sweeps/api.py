"""Reading and fitting a finished sweep: the torch-free half of width_sweeps' public API.

    steps, runs = load_results("runs/theory-adam")      # the tidy tables (docs/width_sweeps.md)
    fits = fit(steps, runs)                              # exponents, intervals, verdicts

Neither function imports torch (nor does anything they call), so a finished sweep can be read,
fitted and judged on a machine without it; `fit` loads scipy on its first call.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import results

if TYPE_CHECKING:
    import pandas as pd

    from .fit import FitOptions

__all__ = ["fit", "load_results"]


def load_results(out: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(steps, runs)``: the merged tables of the finished sweep in directory ``out``.

    ``steps`` has one row per (run, recorded step, quantity) with the run's config columns and
    ``value``; ``runs`` one row per run with its ``status`` (``ok`` / ``diverged``),
    ``diverged_step`` and final test metrics. A missing or damaged file raises
    ``width_sweeps.files.SweepFileError`` with a one-line message naming it."""
    return results.load(Path(out))


def fit(steps: pd.DataFrame, runs: pd.DataFrame | None = None,
        options: FitOptions | Mapping[str, Any] | None = None, *, predict: bool = True,
        model_options: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """The fits table: one row per (config, step, quantity) of ``steps``.

    Columns (docs/theory.md §9.2–9.3): ``fitted`` — the least-squares slope of the seed-mean
    ``log q`` against ``log n``; ``ci_low``/``ci_high`` — its interval (seed bootstrap plus
    lack of fit); ``local`` — the slope over the largest widths; the runs and widths used and
    dropped, and ``status``. With ``predict`` (default) also gamma_calc's exact exponent
    (``predicted``, for the model's geometry; ``model_options`` as in the sweep's spec) and the
    verdict of the rule of docs/theory.md §9.6 (``verdict`` pass / fail / inconclusive / n/a,
    ``reason``). ``options``: a :class:`~width_sweeps.fit.FitOptions` or a spec's ``[fit]``
    table. Notes on predictions that could not be made are in ``fits.attrs["notes"]``."""
    from .analyze import judged_fits  # scipy: loaded when first fitting
    from .fit import FitOptions, fit_table
    opts = options if isinstance(options, FitOptions) else FitOptions.from_spec(dict(options or {}))
    if not predict:
        return fit_table(steps, runs, opts)
    fits, notes = judged_fits(steps, runs, opts, model_options=dict(model_options or {}) or None)
    fits = fits.drop(columns=["boot"], errors="ignore")
    fits.attrs["notes"] = notes
    return fits
