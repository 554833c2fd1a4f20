"""Largest stable rate per width, found by a grid search, and its fitted exponent.

A maxlr sweep is an ordinary sweep whose `eta0` is a log-spaced grid with `lr_exponents = ["0"]`
and `n0 = 1`, so every grid rate is tried at every width, all in one batched computation.  A run
is *stable* when it never diverged and its per-step feature update stays bounded,
`max_t RMS(ΔZ_B^t) ≤ tau` (docs/theory.md §2.5: stable ⇔ γ[Z_B] = 0, i.e. updates of Θ(1)).
Per (width, seed), `η_max` is the largest grid rate below which every rate is stable; the
exponent of `η_max` against n is fitted like every other quantity (width_sweeps.fit: seeds and
lack of fit) and judged by the verdict rule (width_sweeps.verdict) against
`gamma_calc.api.max_lr`; the interval is widened by the grid's resolution
(:func:`with_grid_resolution`).  A (width, seed) whose smallest grid rate is already unstable
has no η_max (NaN): that width's seeds are listed as dropped, never silently.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .fit import FitOptions, fit_table
from .predict import gamma_calc_max_lr
from .verdict import add_verdicts

GROUP = ["model", "scheme", "init_scale", "optimizer", "lr_exponent", "lr_exponent_b", "eps"]


def stability(steps: pd.DataFrame, runs: pd.DataFrame, tau: float) -> pd.DataFrame:
    """Per run: `stable` (never diverged and max_t dZ_B ≤ tau)."""
    dz = steps[steps.quantity == "dZ_B"].groupby("run_id", observed=True)["value"].max()
    out = runs.set_index("run_id")[GROUP + ["width", "seed", "eta0", "status"]].copy()
    out["max_dZ_B"] = dz.reindex(out.index)
    out["stable"] = (out.status == "ok") & (out.max_dZ_B <= tau)
    return out.reset_index()


def largest_stable(stab: pd.DataFrame) -> pd.DataFrame:
    """η_max per (config, width, seed): last grid rate before the first unstable one."""
    rows = []
    for key, g in stab.groupby(GROUP + ["width", "seed"], observed=True, sort=True):
        g = g.sort_values("eta0")
        ok = g.stable.to_numpy()
        first_bad = int(np.argmin(ok)) if not ok.all() else len(ok)
        eta = g.eta0.to_numpy()[first_bad - 1] if first_bad > 0 else np.nan
        rows.append(dict(zip(GROUP + ["width", "seed"], key), eta_max=eta,
                         at_grid_edge=first_bad in (0, len(ok))))
    return pd.DataFrame(rows)


def maxlr_table(steps: pd.DataFrame, runs: pd.DataFrame, tau: float,
                opts: FitOptions | None = None,
                max_lr_fn=gamma_calc_max_lr) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per-width η_max table, fitted exponent of η_max vs n with prediction and verdict)."""
    opts = opts or FitOptions()
    best = largest_stable(stability(steps, runs, tau))
    long = best.rename(columns={"eta_max": "value"}).assign(
        step=0, quantity="eta_max", eta0=0.0, run_id=np.arange(len(best)))
    fits = with_grid_resolution(fit_table(long, None, opts), long, steps_ratio(runs), opts)
    fits["predicted"] = [max_lr_fn(o, s, m) for o, s, m in
                         zip(fits.optimizer, fits.scheme, fits.model)]
    fits = add_verdicts(fits, opts.rule())
    return best, fits.drop(columns=["eta0", "step"])


def steps_ratio(runs: pd.DataFrame) -> float:
    """The rate grid's ratio between neighbouring rates (median; 1 for a single rate)."""
    g = np.sort(runs.eta0.unique())
    return float(np.median(g[1:] / g[:-1])) if len(g) > 1 else 1.0


def with_grid_resolution(fits: pd.DataFrame, long: pd.DataFrame, ratio: float,
                         opts: FitOptions) -> pd.DataFrame:
    """Widen the intervals by the grid's resolution: each η_max is known only up to its cell
    `[η, ratio·η)`, an error of up to log(ratio) in log η at each width, the same for every
    seed of the width when they share a cell.  Taken as uniform and independent across widths,
    it adds `log(ratio)/√12 / √Sxx` to the slope's standard error (Sxx over the widths used;
    over the largest ones for the local slope); the half-widths add in quadrature with
    `z_{level}` times that error."""
    from scipy.stats import norm
    if ratio <= 1 or not len(fits):
        return fits
    z = float(norm.ppf(0.5 + opts.level / 2))
    sd = np.log(ratio) / np.sqrt(12)
    out = fits.copy()
    for i, r in out.iterrows():
        ws = [int(w) for w in str(r.widths_used).split(",") if w]
        for lo, hi, mid, x in (("ci_low", "ci_high", "fitted", np.log(ws)),
                               ("local_low", "local_high", "local",
                                np.log(ws[-opts.local_widths:]))):
            if len(x) < 2 or not np.isfinite(r[mid]):
                continue
            half = np.hypot((r[hi] - r[lo]) / 2, z * sd / np.sqrt(((x - x.mean()) ** 2).sum()))
            centre = (r[hi] + r[lo]) / 2
            out.at[i, lo], out.at[i, hi] = centre - half, centre + half
    out["grid_ratio"] = ratio
    return out
