"""Exponent fits with intervals that include what seeds don't show (docs/theory.md §9.6).

For each (config, step, quantity): per width `n_w`, the mean `m_w` over seeds of `log q`; the
*fitted* exponent `b` is the least-squares slope of `m_w` against `x_w = log n_w` over the
widths used, the *local* slope the same over the `local_widths` largest widths, and `drift` =
local − fitted (how the slope still moves at the largest widths).

The interval combines two sources of error (the design, justified in docs/theory.md §9.6):

* **seeds** — the stratified seed bootstrap (`width_sweeps.bootstrap`): seeds resampled within
  every width, independently across widths, the slope recomputed — one resample of the runs
  for every series of a config measured on them (`fit_group`); the draws' spread is scaled
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


def _cells(cells: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per series and width `(S, W)`: the mean of the log values over the seeds and the variance
    of that mean (0 for one value); `cells[w]` is `(S, k_w)`."""
    means = np.stack([c.mean(1) for c in cells], 1)
    var = np.stack([c.var(1, ddof=1) / c.shape[1] if c.shape[1] > 1 else np.zeros(len(c))
                    for c in cells], 1)
    return means, var


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


def _lack_of_fit(x: np.ndarray, means: np.ndarray, slope: np.ndarray,
                 seed_var: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per series `(S,)`: (slope SE from the residual scatter beyond seed noise, plain OLS slope
    SE); `means`, `seed_var` `(S, W)`."""
    W = len(x)
    xc = x - x.mean()
    sxx = float((xc * xc).sum())
    if W <= 2:
        return np.zeros(len(means)), np.full(len(means), math.nan)
    e = means - means.mean(1, keepdims=True) - slope[:, None] * xc
    h = 1 / W + xc * xc / sxx
    rss = (e * e).sum(1)
    lof = np.maximum(0.0, rss - ((1 - h) * seed_var).sum(1)) / (W - 2)
    return np.sqrt(lof / sxx), np.sqrt(rss / (W - 2) / sxx)


def _t_draws(rng: np.random.Generator, n: int, W: int, seed_se: np.ndarray,
             lof_se: np.ndarray) -> np.ndarray:
    """`(S, n)` Student-t variates for the lack-of-fit term, with the Welch–Satterthwaite
    degrees of freedom of a sum whose seed part is known well and whose lack-of-fit part is
    estimated from W − 2 residual degrees of freedom: ν = (seed² + lof²)² (W − 2) / lof⁴ —
    ν = W − 2 when the seeds add nothing (the plain regression interval), ν → ∞ (a normal
    variate) when the lack of fit is a small part of the error.  Zeros where there is no lack
    of fit; series after series from `rng`."""
    out = np.zeros((len(lof_se), n))
    live = lof_se > 0
    if W > 2 and live.any():
        s, lof = seed_se[live], lof_se[live]
        nu = np.minimum(1e6, (s ** 2 + lof ** 2) ** 2 * (W - 2) / lof ** 4)
        out[live] = rng.standard_t(nu[:, None], size=(len(nu), n))
    return out


def fit_series(widths: np.ndarray, logq: list[np.ndarray], opts: FitOptions,
               rng: np.random.Generator) -> dict[str, Any]:
    """Fit one series: `logq[w]` = log values over seeds at `widths[w]` (sorted ascending);
    `fit_group` of that one series."""
    return fit_group(np.asarray(widths), [np.asarray(v, float)[None] for v in logq], opts,
                     rng)[0]


def fit_group(widths: np.ndarray, cells: list[np.ndarray], opts: FitOptions,
              rng: np.random.Generator) -> list[dict[str, Any]]:
    """Fit S series measured on the same runs: `cells[w]` `(S, k_w)` holds every series' log
    values over the seeds at `widths[w]` (sorted ascending).  Each bootstrap draw resamples the
    seeds once and every series takes the same resample (the runs are the resampled units:
    every quantity and step of a resampled run comes along); each series draws its own
    lack-of-fit variates.  One series gives exactly what it gives alone.

    The local slope's interval uses the same two sources: its own seed bootstrap and the lack
    of fit, `s_lof / √Sxx_local` (the scatter measured over all widths)."""
    x = np.log(np.asarray(widths, float))
    W, S, n = len(x), len(cells[0]), opts.n_boot
    means, seed_var = _cells(cells)
    n_seeds = int(min(c.shape[1] for c in cells))
    kl = opts.local_widths if W > opts.local_widths else 0
    lin, sxx, sxx_local = _slope_map(x, kl)
    est = means @ lin                                   # (S, 1 or 2): fitted (and local)
    lof_se, ols_se = _lack_of_fit(x, means, est[:, 0], seed_var)
    if n_seeds >= opts.min_seeds:                       # every cell has ≥ 2 seeds here
        draws = resampled_means(cells, n, rng) @ lin    # (S, n, 1 or 2)
        draws = est[:, None] + (draws - est[:, None]) * math.sqrt(n_seeds / (n_seeds - 1))
        seed_se = draws[:, :, 0].std(1)
        tdraw = _t_draws(rng, n, W, seed_se, lof_se)
        boot = draws[:, :, 0] + lof_se[:, None] * tdraw
        local = draws[:, :, 1] if kl else None
        scatter, interval, se = lof_se, "seeds+widths", (seed_se, lof_se)
    else:
        scatter = ols_se if W > 2 else np.zeros(S)
        tdraw = _t_draws(rng, n, W, np.zeros(S), scatter)
        boot = est[:, :1] + scatter[:, None] * tdraw
        local = np.repeat(est[:, 1:], n, 1) if kl else None
        interval = "widths" if W > 2 else "none"
        se = (np.full(S, math.nan), ols_se)
    a = (1 - opts.level) / 2
    if local is not None:
        local = local + (scatter * math.sqrt(sxx / sxx_local))[:, None] * tdraw
    q = _quantiles(boot if local is None else np.stack([boot, local], 1), a)
    rows = []
    for i in range(S):
        r: dict[str, Any] = {"fitted": float(est[i, 0]), "n_widths": W, "n_seeds": n_seeds,
                             "local": float(est[i, 1]) if kl else math.nan,
                             "interval": interval, "seed_se": float(se[0][i]),
                             "lof_se": float(se[1][i]), "boot": boot[i]}
        if local is None:
            r["ci_low"], r["ci_high"] = float(q[0, i]), float(q[1, i])
        else:
            r.update(ci_low=float(q[0, i, 0]), ci_high=float(q[1, i, 0]),
                     local_low=float(q[0, i, 1]), local_high=float(q[1, i, 1]),
                     drift=r["local"] - r["fitted"])
        rows.append(r)
    return rows


Pending = tuple[dict[str, Any], Any, np.ndarray, list[np.ndarray]]   # row, config, widths, logs


def fit_pending(pending: list[Pending], opts: FitOptions, rng: np.random.Generator,
                keep_boot: bool = False) -> None:
    """Complete each `(row, config key, widths, per-width logs)` row with its fit, in place:
    the series of one config with the same widths and seeds per width as one `fit_group`
    (groups in order of their first series, all from `rng`); `boot` kept only if asked."""
    groups: dict[tuple, list[Pending]] = {}
    for p in pending:
        _, key, w, logs = p
        shape = (key, tuple(np.asarray(w).tolist()), tuple(len(v) for v in logs))
        groups.setdefault(shape, []).append(p)
    for members in groups.values():
        w, logs0 = members[0][2], members[0][3]
        cells = [np.stack([m[3][j] for m in members]) for j in range(len(logs0))]
        for m, res in zip(members, fit_group(np.asarray(w), cells, opts, rng)):
            if not keep_boot:
                res.pop("boot")
            m[0].update(res)


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
    rows: list[dict[str, Any]] = []
    pending: list[Pending] = []
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
                pending.append((row, cfg, widths, logs))
            else:
                row.update(no_slope(logs))
            rows.append(row)
    fit_pending(pending, opts, rng, keep_boot)
    cols = CONFIG + ["step", "quantity"] + COLUMNS + (["boot"] if keep_boot else [])
    return pd.DataFrame(rows, columns=cols)
