"""The one plotting home for "a quantity against width": `width-sweep report` and the figure
scripts (figures/coord_check.py) draw it with these functions.

Functions build on `matplotlib.figure.Figure` (no pyplot state) and return or draw into it;
none calls `matplotlib.use()`, so the caller's backend is never switched.  Seed statistics
are taken in log space (the fits' scale): the line is the geometric mean over seeds, the error
bar exp(mean ± sd) of `log q`.
"""
from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pandas as pd
from matplotlib.figure import Figure


def log_summary(steps: pd.DataFrame, runs: pd.DataFrame | None, keys: list[str]) -> pd.DataFrame:
    """Per `keys` + width: mean and sd over seeds of log q (runs that never diverged, values
    finite and > 0)."""
    d = steps
    if runs is not None:
        d = d[d.run_id.isin(runs.loc[runs.status == "ok", "run_id"])]
    d = d[np.isfinite(d.value) & (d.value > 0)]
    return (d.assign(logv=np.log(d.value)).groupby(keys + ["width"], observed=True)
            .logv.agg(["mean", "std"]).reset_index())


def log_errors(g: pd.DataFrame) -> np.ndarray:
    """Asymmetric error bars of exp(mean ± sd) around exp(mean)."""
    m, sd = g["mean"].to_numpy(), np.nan_to_num(g["std"].to_numpy())
    return np.vstack([np.exp(m) - np.exp(m - sd), np.exp(m + sd) - np.exp(m)])


def draw_series(ax, g: pd.DataFrame, **kw) -> None:
    """One series of a `log_summary` frame (rows of one config and step) on `ax`."""
    ax.errorbar(g.width, np.exp(g["mean"]), yerr=log_errors(g), capsize=0, **kw)


def draw_slope(ax, g: pd.DataFrame, slope: float, **kw) -> None:
    """A line of the given width exponent through the geometric centre of `g`'s points."""
    if not len(g) or not math.isfinite(slope):
        return
    x = g.width.to_numpy(float)
    lx = np.log(x)
    anchor = g["mean"].mean() - slope * lx.mean()
    ax.plot(x, np.exp(anchor + slope * lx), **kw)


def width_label(v: float, _pos: object = None) -> str:
    if v <= 0:
        return ""
    k = math.log2(v)
    return f"$2^{{{round(k)}}}$" if abs(k - round(k)) < 1e-9 else f"{v:g}"


def log2_width_axis(ax, widths: Iterable[float] | None = None) -> None:
    """x = width n on a log₂ axis; ticks at `widths` (2^k labels for powers of two)."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullLocator
    ax.set_xscale("log", base=2)
    if widths is not None:
        ticks = sorted({float(w) for w in widths})
        if len(ticks) > 5:                       # keep the labels apart in small panels
            ticks = ticks[::-2][::-1]
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_minor_locator(NullLocator())
    else:
        ax.xaxis.set_major_locator(LogLocator(base=2))
    ax.xaxis.set_major_formatter(FuncFormatter(width_label))
    ax.set_xlabel("width n")


def quantity_figure(steps: pd.DataFrame, runs: pd.DataFrame, q: str, step_list: list[int],
                    config: list[str]) -> Figure:
    """Seed summary of `q` against width, one line per config and step (`width-sweep report`)."""
    s = log_summary(steps[(steps.quantity == q) & steps.step.isin(step_list)], runs,
                    config + ["step"])
    fig = Figure(figsize=(6, 4.2), layout="constrained")
    ax = fig.subplots()
    styles = ["-", "--", ":", "-."]
    colors = [f"C{i}" for i in range(10)]
    for ci, (key, gc) in enumerate(s.groupby(config, observed=True)):
        key = key if isinstance(key, tuple) else (key,)
        for si, (t, g) in enumerate(gc.groupby("step")):
            label = " ".join(f"{c}={v}" for c, v in zip(config, key)) + f" t={t}"
            draw_series(ax, g, marker="o", ms=3, color=colors[ci % 10], ls=styles[si % 4],
                        label=label)
    log2_width_axis(ax, s.width.unique() if len(s) else None)
    ax.set_yscale("log")
    ax.set_ylabel(f"{q} (seed geometric mean, ± 1 sd of log)")
    ax.set_title(f"{q} vs width")
    if len(s):
        ax.legend(fontsize=6)
    return fig
