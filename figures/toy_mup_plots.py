"""The images of figures/toy_mup_checks.py: the μP toy's measurements beside the theory layer's.

`coord`: RMS entry against width per (config, quantity) — seed mean ± sd at t = 3 (bold) and
the other steps (faint), gamma_calc's slope (dashed) through the t = 3 data; each panel's title
gives the toy's fit and verdict and, below it, the theory layer's fit of the same row.
`theorem1_maxlr`: fitted γ[δ¹], γ[δ²] against ε (t = 3) on the toy, with the ε-slopes of both
models in the legend; and the largest stable rate against width, toy and theory layer.
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd

from gamma_calc.vocab import PREDICTED, label

from . import common, style
from .common import Context

MARK = {"pass": "✓", "fail": "✗", "inconclusive": "(?)"}


def _fit_row(fits: pd.DataFrame, s: str, c: str, q: str, t: int):
    sel = fits[(fits.scheme == s) & (fits.lr_exponent == c) & (fits.quantity == q)
               & (fits.step == t)]
    if "eps" in sel:
        sel = sel[sel.eps == "0"]
    return sel.iloc[0] if len(sel) else None


def coord(cfg, steps: pd.DataFrame, runs: pd.DataFrame, fits: pd.DataFrame,
          theory: pd.DataFrame, ctx: Context):
    from .toy_mup_checks import COORD, HEADLINE
    ok = runs.loc[runs.status == "ok", "run_id"]
    d = steps[steps.run_id.isin(ok) & steps.quantity.isin(list(PREDICTED)) & (steps.step >= 1)]
    d = d[np.isfinite(d.value) & (d.value > 0)]
    agg = (d.assign(logv=np.log(d.value))
           .groupby(["scheme", "lr_exponent", "quantity", "step", "width"], observed=True)
           .logv.agg(["mean", "std"]).reset_index())
    T = int(steps.step.max())
    with style.rc():
        fig, axes = style.figure(len(COORD), len(PREDICTED), size=(14, 2.3 * len(COORD) + 1.2),
                                 footer=common.footer("toy_mup_checks", ctx, cfg.label()),
                                 title="Coordinate check on the μP-pretrained toy (seed mean ± "
                                       f"sd; bold t = {HEADLINE}); second title line: the theory "
                                       "layer's fit of the same row")
        for i, (s, c) in enumerate(COORD):
            for j, q in enumerate(PREDICTED):
                ax = axes[i, j]
                g = agg[(agg.scheme == s) & (agg.lr_exponent == c) & (agg.quantity == q)]
                for t in range(1, T + 1):
                    gt = g[g.step == t]
                    bold = t == HEADLINE
                    if len(gt):
                        m, sd = gt["mean"].to_numpy(), np.nan_to_num(gt["std"].to_numpy())
                        ax.errorbar(gt.width, np.exp(m), yerr=[np.exp(m) - np.exp(m - sd),
                                                               np.exp(m + sd) - np.exp(m)],
                                    color=style.color(s), alpha=1.0 if bold else 0.25,
                                    lw=1.6 if bold else 0.8, marker="o" if bold else None,
                                    ms=3)
                _title(ax, _fit_row(fits, s, c, q, HEADLINE), _fit_row(theory, s, c, q, HEADLINE),
                       g[g.step == HEADLINE], f"RMS {label(q)}\n" if i == 0 else "")
                style.log2_width_axis(ax, cfg.widths)
                ax.set_yscale("log")
                if j == 0:
                    ax.set_ylabel(f"{style.name(s)}\nc = {c}\nRMS entry")
                if i < len(COORD) - 1:
                    ax.set_xlabel("")
    return fig


def _title(ax, r, tr, g: pd.DataFrame, head: str) -> None:
    if r is None:
        ax.set_title(head + "no fit", fontsize=7.5)
        return
    pred = r.predicted
    if isinstance(pred, str) and pred != "-oo" and len(g):
        lx = np.log(g.width.to_numpy(float))
        p = common.frac(pred)
        anchor = g["mean"].mean() - p * lx.mean()
        ax.plot(np.exp(lx), np.exp(anchor + p * lx), **style.PREDICTION, zorder=0)
    col = {"pass": "#1a7f37", "fail": "#cf222e"}.get(r.verdict, "0.3")
    theory = (f"\ntheory {common.fmt_exp(tr.fitted)} {MARK.get(tr.verdict, '')}"
              if tr is not None else "")
    ax.set_title(f"{head}toy {common.fmt_exp(r.fitted)} "
                 f"{common.fmt_ci(r.ci_low, r.ci_high, 2)}, θ {pred} "
                 f"{MARK.get(r.verdict, '')}{theory}", fontsize=7.2, color=col)


def theorem1_maxlr(cfg, fits: pd.DataFrame, t1: pd.DataFrame, best: pd.DataFrame,
                   mfits: pd.DataFrame, ref: dict, ctx: Context):
    from .toy_mup_checks import HEADLINE, T1_EPS, T1_SCHEMES
    with style.rc():
        fig, axes = style.figure(1, 3, size=(14, 4.4),
                                 footer=common.footer("toy_mup_checks", ctx, cfg.label()),
                                 title="μP toy: Theorem 1 (rate lowered to n^(−1/2 − ε)) and the "
                                       "largest stable rate, beside the theory layer")
        eps = [float(Fraction(e)) for e in T1_EPS]
        for j, q in enumerate(("delta1", "delta2")):
            ax = axes[0, j]
            for k, lab in ((-1, "−ε"), (-2, "−2ε")):
                ax.plot([0, max(eps)], [0, k * max(eps)], **style.REFERENCE)
            for s in T1_SCHEMES:
                g = fits[(fits.scheme == s) & (fits.lr_exponent == "-1/2") & (fits.quantity == q)
                         & (fits.step == HEADLINE)]
                g = g.assign(e=g.eps.map(lambda e: float(Fraction(e)))).sort_values("e")
                row = t1[(t1.scheme == s) & (t1.quantity == q) & (t1.step == HEADLINE)]
                tr = ref["theorem1"]
                tr = tr[(tr.scheme == s) & (tr.quantity == q) & (tr.step == HEADLINE)]
                lab = style.name(s)
                if len(row):
                    r = row.iloc[0]
                    lab += f": toy {r.fitted:+.2f} {MARK.get(r.verdict, '')}"
                if len(tr):
                    lab += f", theory {tr.iloc[0].fitted:+.2f} {MARK.get(tr.iloc[0].verdict, '')}"
                if len(row):
                    lab += f" (θ {row.iloc[0].predicted})"
                ax.errorbar(g.e, g.fitted, yerr=np.vstack([g.fitted - g.ci_low,
                                                           g.ci_high - g.fitted]),
                            color=style.color(s), marker="o", capsize=2, label=lab)
            ax.set_xticks(eps, list(T1_EPS))
            ax.set_xlabel("ε (rate exponent −1/2 − ε)")
            ax.set_ylabel(f"fitted width exponent of {label(q)}")
            ax.set_title(f"γ[{label(q)}] at t = {HEADLINE} (dotted: slopes −1, −2)")
            ax.legend(loc="lower left", fontsize=6.3)
        _maxlr_panel(axes[0, 2], best, mfits, ref)
    return fig


def _maxlr_panel(ax, best: pd.DataFrame, mfits: pd.DataFrame, ref: dict) -> None:
    from .maxlr import SCHEMES
    for s in SCHEMES:
        g = best[(best.scheme == s) & best.eta_max.notna()].groupby("width").eta_max
        m = np.exp(g.apply(lambda v: np.log(v).mean()))
        r = mfits[mfits.scheme == s]
        lab = f"{style.name(s)} toy"
        if len(r):
            row = r.iloc[0]
            lab += (f": {row.fitted:+.2f} {common.fmt_ci(row.ci_low, row.ci_high, 2)}"
                    f", θ {row.predicted} {MARK.get(row.verdict, '')}")
        ax.plot(m.index, m, color=style.color(s), marker="o", label=lab)
        tr = ref["maxlr"][ref["maxlr"].scheme == s]
        tb = ref["maxlr_widths"]
        tb = tb[(tb.scheme == s) & tb.eta_max.notna()].groupby("width").eta_max
        tm = np.exp(tb.apply(lambda v: np.log(v).mean()))
        if len(tr):
            ax.plot(tm.index, tm, color=style.color(s), ls="--", marker="s", ms=3, alpha=0.7,
                    label=f"{style.name(s)} theory layer: {tr.iloc[0].fitted:+.2f} "
                          f"{MARK.get(tr.iloc[0].verdict, '')}")
    style.log2_width_axis(ax, sorted(best.width.unique()))
    ax.set_yscale("log", base=2)
    ax.set_ylabel("largest stable rate η_max (seed geo-mean)")
    ax.set_title("largest stable rate (solid: μP toy; dashed: theory)")
    ax.legend(loc="lower left", fontsize=6.3)
