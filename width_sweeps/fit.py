"""Exponent fits: slope of log q against log n with a bootstrap CI over seeds (issue 4 §5).

For each (config, step, quantity): per width, the mean over seeds of `log q`; the fitted
exponent is the least-squares slope of those means against `log n` over all widths, and the
*local* slope uses only the `local_widths` largest widths (finite-width effects shrink with n,
THEORY §2).  The confidence interval is a percentile bootstrap: seeds are resampled with
replacement independently at every width (different widths are independent runs) and the slope
recomputed.  A quantity that is exactly zero at every width and seed fits to `-inf` ("-oo").
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

CONFIG = ["model", "scheme", "init_scale", "optimizer", "lr_exponent", "lr_exponent_b", "eta0",
          "eps"]
NO_FIT = ("test_acc",)


@dataclass(frozen=True)
class FitOptions:
    """Bootstrap settings; `tolerance` widens the interval for the verdict."""
    level: float = 0.95
    n_boot: int = 1000
    local_widths: int = 3
    tolerance: float = 0.05
    seed: int = 0
    min_steps: int = 0

    @classmethod
    def from_spec(cls, d: dict[str, Any]) -> "FitOptions":
        keys = cls.__dataclass_fields__
        return cls(**{k: v for k, v in d.items() if k in keys})


def slopes(logn: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least-squares slopes of `y[..., w]` against `logn[w]` (vectorised over leading dims)."""
    x = logn - logn.mean()
    return ((y - y.mean(-1, keepdims=True)) * x).sum(-1) / (x * x).sum()


def _boot_means(vals: list[np.ndarray], n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """(n_boot, W) bootstrap means of each width's seed values."""
    out = np.empty((n_boot, len(vals)))
    for w, v in enumerate(vals):
        idx = rng.integers(0, len(v), size=(n_boot, len(v)))
        out[:, w] = v[idx].mean(1)
    return out


def fit_series(widths: np.ndarray, logq: list[np.ndarray], opts: FitOptions,
               rng: np.random.Generator) -> dict[str, Any]:
    """Fit one series: `logq[w]` = log values over seeds at `widths[w]` (sorted ascending)."""
    logn = np.log(widths.astype(float))
    means = np.array([v.mean() for v in logq])
    boot = _boot_means(logq, opts.n_boot, rng)
    a = (1 - opts.level) / 2
    res = {"fitted": float(slopes(logn, means)), "n_widths": len(widths),
           "n_seeds": int(min(len(v) for v in logq)), "boot": slopes(logn, boot)}
    res["ci_low"], res["ci_high"] = (float(q) for q in np.quantile(res["boot"], [a, 1 - a]))
    k = min(opts.local_widths, len(widths))
    if k >= 2:
        lb = slopes(logn[-k:], boot[:, -k:])
        res["local"] = float(slopes(logn[-k:], means[-k:]))
        res["local_low"], res["local_high"] = (float(q) for q in np.quantile(lb, [a, 1 - a]))
    return res


def _series(g: pd.DataFrame) -> tuple[np.ndarray, list[np.ndarray], bool]:
    """Per-width arrays of log values (finite, > 0); flag when everything is exactly zero."""
    v = g["value"].to_numpy()
    fin = np.isfinite(v)
    if fin.any() and (v[fin] == 0).all():
        return np.array([]), [], True
    g = g[fin & (v > 0)]
    widths, logs = [], []
    for n, gw in g.groupby("width", sort=True):
        widths.append(n)
        logs.append(np.log(gw["value"].to_numpy()))
    return np.array(widths), logs, False


def fit_table(steps: pd.DataFrame, runs: pd.DataFrame | None = None,
              opts: FitOptions = FitOptions(), keep_boot: bool = False) -> pd.DataFrame:
    """The fits table: one row per (config, step, quantity) with ≥ 2 widths."""
    df = steps
    if runs is not None:                      # only runs that never diverged
        ok = runs.loc[runs.status == "ok", "run_id"]
        df = df[df.run_id.isin(ok)]
    df = df[~df.quantity.isin(NO_FIT) & (df.step >= opts.min_steps)]
    keys = CONFIG + ["step", "quantity"]
    nw = df.groupby(keys, observed=True)["width"].transform("nunique")
    df = df[nw >= 2]
    rng = np.random.default_rng(opts.seed)
    rows = []
    for key, g in df.groupby(keys, observed=True, sort=True):
        widths, logs, zero = _series(g)
        row = dict(zip(keys, key))
        if zero:
            row.update(fitted=-np.inf, ci_low=-np.inf, ci_high=-np.inf,
                       n_widths=g.width.nunique(), n_seeds=g.seed.nunique())
        elif len(widths) >= 2:
            row.update(fit_series(widths, logs, opts, rng))
            if not keep_boot:
                row.pop("boot")
        else:
            continue
        rows.append(row)
    cols = keys + ["fitted", "ci_low", "ci_high", "local", "local_low", "local_high",
                   "n_widths", "n_seeds"] + (["boot"] if keep_boot else [])
    return pd.DataFrame(rows, columns=cols)
