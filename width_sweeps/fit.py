"""Exponent fits with intervals that include what seeds don't show (docs/theory.md §9.6).

For each (config, step, quantity): per width `n_w`, the mean `m_w` over seeds of `log q`; the
*fitted* exponent `b` is the least-squares slope of `m_w` against `x_w = log n_w` over the
widths used, the *local* slope the same over the `local_widths` largest widths, and `drift` =
local − fitted (how the slope still moves at the largest widths).

The interval combines two sources of error (the design, justified in docs/theory.md §9.6):

* **seeds** — the stratified seed bootstrap (`width_sweeps.bootstrap`): seeds resampled within
  every width, independently across widths, the slope recomputed; the draws' spread is scaled
  by `√(k/(k − 1))` (`k` the fewest seeds at a width: a resampled mean of `k` values has
  `(k − 1)/k` of the sample mean's variance, which makes a plain percentile interval too
  short with 3–5 seeds);
* **lack of fit** — the scatter of the width means about the line that seed noise does not
  explain: with residuals `e_w`, leverages `h_w`, seed variances `s_w²` over `k_w` seeds,
  `s²_lof = max(0, (Σ e_w² − Σ (1 − h_w) s_w²/k_w) / (W − 2))` (the expected seed part
  removed), whose slope standard error `s_lof / √Sxx` enters each draw times a Student-t
  variate (Welch–Satterthwaite degrees of freedom: `W − 2` when the lack of fit dominates).

A bootstrap draw is `b*_seeds + (s_lof/√Sxx)·T`; the interval is the central `level` of the
draws.  With fewer than `min_seeds` seeds (or one value per width) there is no
seed bootstrap: the interval is the ordinary regression interval from the scatter across
widths, `b ± t(W − 2)·s/√Sxx` (column `interval` = "widths").  A quantity that is exactly zero
at every width and seed fits to `-inf` ("-oo").

Nothing is dropped silently: every row carries the runs used and diverged, the widths used
and the widths dropped with the reason (a width with a diverged run is left out whole —
its surviving seeds are a biased sample), and a config whose every run diverged is a row with
status `diverged`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .bootstrap import resampled_means
from .verdict import Rule

CONFIG = ["model", "scheme", "init_scale", "optimizer", "lr_exponent", "lr_exponent_b", "eta0",
          "eps"]
NO_FIT = ("test_acc",)
COLUMNS = ["status", "fitted", "ci_low", "ci_high", "interval", "local", "local_low",
           "local_high", "drift", "seed_se", "lof_se", "n_widths", "n_seeds", "runs_used",
           "runs_diverged", "widths_used", "widths_dropped", "note"]


@dataclass(frozen=True)
class FitOptions:
    """Fit and verdict settings (a spec's `[fit]` table); `rule()` is the verdict rule."""
    level: float = 0.95
    n_boot: int = 1000
    local_widths: int = 3
    tolerance: float = 0.05
    seed: int = 0
    min_steps: int = 0
    min_widths: int = 4
    min_seeds: int = 3
    max_ci_ratio: float = 2.0

    @classmethod
    def from_spec(cls, d: dict[str, Any]) -> FitOptions:
        keys = cls.__dataclass_fields__
        return cls(**{k: v for k, v in d.items() if k in keys})

    def rule(self) -> Rule:
        return Rule(self.tolerance, self.min_widths, self.min_seeds, self.max_ci_ratio,
                    self.level)


def _cells(logq: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per width: the mean of the log values and the variance of that mean (0 for one value)."""
    ks = {len(v) for v in logq}
    if len(ks) == 1:                          # the usual case: as many seeds at every width
        k, L = ks.pop(), np.stack(logq)
        return L.mean(1), (L.var(1, ddof=1) / k if k > 1 else np.zeros(len(logq)))
    return (np.array([v.mean() for v in logq]),
            np.array([v.var(ddof=1) / len(v) if len(v) > 1 else 0.0 for v in logq]))


def _quantiles(draws: np.ndarray, a: float) -> np.ndarray:
    """`np.quantile(draws, [a, 1 − a], axis=-1)` (linear interpolation) from a partial sort
    (non-finite draws: numpy's own)."""
    if not np.isfinite(draws).all():
        return np.quantile(draws, [a, 1 - a], axis=-1)
    n = draws.shape[-1]
    pos = np.array([a, 1 - a]) * (n - 1)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, n - 1)
    part = np.partition(draws, sorted({*lo.tolist(), *hi.tolist()}), axis=-1)
    g = pos - lo
    below, above = part[..., lo], part[..., hi]
    d = above - below
    return np.moveaxis(np.where(g >= 0.5, above - d * (1 - g), below + d * g), -1, 0)


def _slope_map(x: np.ndarray, kl: int) -> tuple[np.ndarray, float, float]:
    """The least-squares slope over all widths and over the `kl` largest (when `kl`) as one
    linear map of the width means, `(W, 1 or 2)`, with the two `Sxx` (1.0 without `kl`)."""
    xc = x - x.mean()
    sxx = float(xc @ xc)
    if not kl:
        return (xc / sxx)[:, None], sxx, 1.0
    xl = x[-kl:] - x[-kl:].mean()
    sxx_local = float(xl @ xl)
    local = np.concatenate([np.zeros(len(x) - kl), xl / sxx_local])
    return np.stack([xc / sxx, local], 1), sxx, sxx_local


def _lack_of_fit(x: np.ndarray, means: np.ndarray, slope: float,
                 seed_var: np.ndarray) -> tuple[float, float]:
    """(slope SE from the residual scatter beyond seed noise, plain OLS slope SE)."""
    W = len(x)
    xc = x - x.mean()
    sxx = float((xc * xc).sum())
    if W <= 2:
        return 0.0, math.nan
    e = means - means.mean() - slope * xc
    h = 1 / W + xc * xc / sxx
    rss = float((e * e).sum())
    lof = max(0.0, rss - float(((1 - h) * seed_var).sum())) / (W - 2)
    return math.sqrt(lof / sxx), math.sqrt(rss / (W - 2) / sxx)


def _t_draws(rng: np.random.Generator, n: int, W: int, seed_se: float,
             lof_se: float) -> np.ndarray:
    """Student-t variates for the lack-of-fit term, with the Welch–Satterthwaite degrees of
    freedom of a sum whose seed part is known well and whose lack-of-fit part is estimated from
    W − 2 residual degrees of freedom: ν = (seed² + lof²)² (W − 2) / lof⁴ — ν = W − 2 when the
    seeds add nothing (the plain regression interval), ν → ∞ (a normal variate) when the lack
    of fit is a small part of the error."""
    if W <= 2 or lof_se <= 0:
        return np.zeros(n)
    nu = min(1e6, (seed_se ** 2 + lof_se ** 2) ** 2 * (W - 2) / lof_se ** 4)
    return rng.standard_t(nu, size=n)


def fit_series(widths: np.ndarray, logq: list[np.ndarray], opts: FitOptions,
               rng: np.random.Generator) -> dict[str, Any]:
    """Fit one series: `logq[w]` = log values over seeds at `widths[w]` (sorted ascending).

    The local slope's interval uses the same two sources: its own seed bootstrap and the lack
    of fit, `s_lof / √Sxx_local` (the scatter measured over all widths)."""
    x = np.log(np.asarray(widths, float))
    W = len(x)
    means, seed_var = _cells(logq)
    n_seeds = int(min(len(v) for v in logq))
    a = (1 - opts.level) / 2
    kl = opts.local_widths if W > opts.local_widths else 0
    lin, sxx, sxx_local = _slope_map(x, kl)
    est = means @ lin                                   # the fitted (and local) slope
    res: dict[str, Any] = {"fitted": float(est[0]), "n_widths": W, "n_seeds": n_seeds,
                           "local": float(est[1]) if kl else math.nan}
    lof_se, ols_se = _lack_of_fit(x, means, res["fitted"], seed_var)
    if n_seeds >= opts.min_seeds:                       # every cell has ≥ 2 seeds here
        draws = resampled_means(logq, opts.n_boot, rng) @ lin
        draws = est + (draws - est) * math.sqrt(n_seeds / (n_seeds - 1))
        seed_se = float(draws[:, 0].std())
        tdraw = _t_draws(rng, opts.n_boot, W, seed_se, lof_se)
        boot = draws[:, 0] + lof_se * tdraw
        local = draws[:, 1] if kl else None
        scatter = lof_se
        res.update(interval="seeds+widths", seed_se=seed_se, lof_se=lof_se)
    else:
        scatter = ols_se if W > 2 else 0.0
        tdraw = _t_draws(rng, opts.n_boot, W, 0.0, scatter)
        boot = res["fitted"] + scatter * tdraw
        local = np.full(opts.n_boot, res["local"]) if kl else None
        res.update(interval="widths" if W > 2 else "none", seed_se=math.nan, lof_se=ols_se)
    if local is None:
        res["ci_low"], res["ci_high"] = (float(q) for q in _quantiles(boot, a))
    else:
        local = local + scatter * math.sqrt(sxx / sxx_local) * tdraw
        q = _quantiles(np.stack([boot, local]), a)
        res["ci_low"], res["ci_high"], res["local_low"], res["local_high"] = (
            float(q[0, 0]), float(q[1, 0]), float(q[0, 1]), float(q[1, 1]))
        res["drift"] = res["local"] - res["fitted"]
    res["boot"] = boot
    return res


def no_slope(logs: list[np.ndarray]) -> dict[str, Any]:
    """The fit columns of a series with values at fewer than 2 widths: no slope, no interval
    (judged `inconclusive` for its widths)."""
    return {"fitted": math.nan, "ci_low": math.nan, "ci_high": math.nan, "interval": "none",
            "n_seeds": int(min((len(v) for v in logs), default=0)),
            "note": "fewer than 2 widths: no slope"}


def _widths_text(ws: Any) -> str:
    return ",".join(str(int(w)) for w in ws)


def _series(g: pd.DataFrame, bad_widths: dict[int, str]) -> tuple[np.ndarray, list, bool, list]:
    """(widths used, per-width log values, all-exactly-zero flag, dropped [width (why)])."""
    dropped = [f"{w} ({why})" for w, why in sorted(bad_widths.items())]
    g = g[~g.width.isin(list(bad_widths))]
    widths, logs, zero, more = log_series(g["width"].to_numpy(), g["value"].to_numpy())
    return np.array(widths), logs, zero, dropped + more


def log_series(w: np.ndarray, v: np.ndarray) -> tuple[list, list, bool, list[str]]:
    """Values `v` at widths `w` → (widths used, per-width logs of the positive finite values,
    all-exactly-zero flag, dropped widths as "width (why)").  A width keeps its positive finite
    values and says how many it left out; a width with none is dropped; when every finite value
    is exactly 0 (a `−∞` exponent) each width with a finite value is kept and no log is taken."""
    fin = np.isfinite(v)
    if fin.all() and (v > 0).all():           # the usual case, without a loop over widths
        o = np.argsort(w, kind="stable")
        ws, starts = np.unique(w[o], return_index=True)
        return list(ws), np.split(np.log(v[o]), starts[1:]), False, []
    zero = bool(fin.any() and (v[fin] == 0).all())
    widths: list = []
    logs: list = []
    dropped: list[str] = []
    for n in np.unique(w):
        x = v[w == n]
        ok = np.isfinite(x) & (x > 0)
        if zero and np.isfinite(x).any():
            widths.append(n)
            continue
        if not ok.any():
            dropped.append(f"{n} (no positive finite value)")
            continue
        if not ok.all():
            dropped.append(f"{n} ({int((~ok).sum())} of {len(x)} values ≤ 0 or non-finite "
                           "left out)")
        widths.append(n)
        logs.append(np.log(x[ok]))
    return widths, logs, zero, dropped


def _accounting(runs: pd.DataFrame | None, df: pd.DataFrame) -> pd.DataFrame:
    """Per (config, width): runs and diverged runs (from the runs table when given)."""
    src = (runs if runs is not None else
           df.drop_duplicates(CONFIG + ["width", "seed"]).assign(status="ok"))
    src = src.assign(bad=src.status != "ok")
    return src.groupby(CONFIG + ["width"], observed=True).agg(
        runs=("run_id", "size"), diverged=("bad", "sum")).reset_index()


def fit_table(steps: pd.DataFrame, runs: pd.DataFrame | None = None,
              opts: FitOptions | None = None, keep_boot: bool = False) -> pd.DataFrame:
    """The fits table: one row per (config, step, quantity) the sweep measured."""
    opts = opts or FitOptions()
    df = steps[~steps.quantity.isin(NO_FIT) & (steps.step >= opts.min_steps)]
    acc = _accounting(runs, df)
    bad_ids = set(runs.loc[runs.status != "ok", "run_id"]) if runs is not None else set()
    rng = np.random.default_rng(opts.seed)
    rows = []
    per_cfg = {k: g for k, g in acc.groupby(CONFIG, observed=True, sort=True)}
    data = {k: g for k, g in df.groupby(CONFIG, observed=True, sort=True)}
    universe = df[["step", "quantity"]].drop_duplicates().sort_values(["step", "quantity"])
    for cfg, a in per_cfg.items():
        base = dict(zip(CONFIG, cfg))
        n_div = int(a.diverged.sum())
        bad = {int(w): f"{int(d)}/{int(n)} runs diverged" for w, n, d in
               zip(a.width, a.runs, a.diverged) if d}
        if n_div == int(a.runs.sum()):
            note = f"all {n_div} runs diverged"
            for s, q in universe.itertuples(index=False):
                rows.append(base | {"step": s, "quantity": q, "status": "diverged",
                                    "n_widths": 0, "n_seeds": 0, "runs_used": 0,
                                    "runs_diverged": n_div, "widths_used": "",
                                    "widths_dropped": _widths_text(sorted(bad)), "note": note})
            continue
        g_cfg = data.get(cfg)
        if g_cfg is None:
            continue
        g_cfg = g_cfg[~g_cfg.run_id.isin(bad_ids)]
        for (s, q), g in g_cfg.groupby(["step", "quantity"], observed=True, sort=True):
            if not np.isfinite(g["value"].to_numpy()).any():
                continue                       # undefined at this step (δ at t = 0)
            widths, logs, zero, dropped = _series(g, bad)
            used = g[g.width.isin(widths)]
            row = base | {"step": s, "quantity": q, "status": "ok", "n_widths": len(widths),
                          "runs_used": len(used), "runs_diverged": n_div,
                          "widths_used": _widths_text(widths),
                          "widths_dropped": "; ".join(dropped), "note": ""}
            if zero:
                row.update(fitted=-np.inf, ci_low=-np.inf, ci_high=-np.inf, interval="exact",
                           n_seeds=int(used.groupby("width").seed.nunique().min()))
            elif len(widths) >= 2:
                row.update(fit_series(widths, logs, opts, rng))
                if not keep_boot:
                    row.pop("boot")
            else:
                row.update(no_slope(logs))
            rows.append(row)
    cols = CONFIG + ["step", "quantity"] + COLUMNS + (["boot"] if keep_boot else [])
    return pd.DataFrame(rows, columns=cols)
