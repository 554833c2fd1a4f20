"""The coordinate-check figure: seed means against width, log–log, one line per step.

Built on `matplotlib.figure.Figure` directly (no pyplot): the caller's backend and pyplot state
are never touched; show it with `display(fig)` in a notebook or save it with `fig.savefig`.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from gamma_calc.vocab import label


def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "—"
    if isinstance(v, float):
        return "-oo" if v == -np.inf else f"{v:+.2f}"
    return str(v)


def plot_check(cc: Any, quantities: Sequence[str], modules: Sequence[str] | None,
               scheme: str | None, lr_exponent: str | None, max_modules: int) -> Any:
    """Figure of `cc.table` (see `CoordCheck.plot`)."""
    from matplotlib.figure import Figure
    t = cc.table
    scheme = scheme if scheme is not None else str(t.scheme.iloc[0])
    lr_exponent = lr_exponent if lr_exponent is not None else str(t.lr_exponent.iloc[0])
    t = t[(t.scheme == scheme) & (t.lr_exponent == lr_exponent)]
    mods = list(modules) if modules is not None else list(cc.geometry.module)[:max_modules]
    qs = [q for q in quantities if (t.quantity == q).any()]
    fig = Figure(figsize=(3.2 * max(len(qs), 1), 2.6 * max(len(mods), 1)), layout="constrained")
    axes = np.atleast_2d(fig.subplots(max(len(mods), 1), max(len(qs), 1), squeeze=False))
    f = cc.fits
    f = f[(f.scheme == scheme) & (f.lr_exponent == lr_exponent)]
    steps = sorted(t.step.unique())
    cmap = __import__("matplotlib").colormaps["viridis"]
    for i, m in enumerate(mods):
        for j, q in enumerate(qs):
            ax = axes[i, j]
            d = t[(t.module == m) & (t.quantity == q)]
            d = d[np.isfinite(d.value) & (d.value > 0)]
            for k, s in enumerate(steps):
                g = d[d.step == s].groupby("width").value.mean()
                if not len(g):
                    continue
                row = f[(f.module == m) & (f.quantity == q) & (f.step == s)]
                lab = f"t={s}"
                if len(row):
                    r = row.iloc[0]
                    lab += f": {_fmt(r.fitted)} (pred {_fmt(r.predicted)}, {r.verdict})"
                ax.plot(g.index, g.values, marker="o", ms=3, lw=1.2,
                        color=cmap(k / max(len(steps) - 1, 1)), label=lab)
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_title(f"{m}: {label(q)}", fontsize=8)
            ax.tick_params(labelsize=7)
            if j == 0:
                ax.set_ylabel("RMS entry", fontsize=7)
            if i == len(mods) - 1:
                ax.set_xlabel("width n", fontsize=7)
            if ax.lines:
                ax.legend(fontsize=5.5, loc="best")
    fig.suptitle(f"coordinate check: scheme {scheme}, rate exponent {lr_exponent}", fontsize=9)
    return fig
