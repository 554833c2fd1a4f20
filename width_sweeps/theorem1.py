"""Theorem 1 as a measurement (docs/theory.md §2.9; Beyond Zero Init, Theorem 1).

For each scheme, the slope of the fitted `γ[δ¹]`, `γ[δ²]` against `ε` when both rates are
lowered to `c − ε`: −1 for a factor initialised at its bound, −2 for a zero factor.  The
interval comes from the fits' own draws (`fit_table(keep_boot=True)`: every ε-row's draws, so
the ε-slope inherits seeds and lack of fit).  The tolerance on the slope is the per-exponent
tolerance propagated through the least-squares slope over the ε grid
(:func:`slope_tolerance`); a pass must exclude the rival hypothesis (−1 ↔ −2) from the widened
interval; every ε-row must itself be adequate (widths, seeds: the verdict rule).
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd

from .fit import CONFIG
from .predict import to_frac
from .verdict import Rule, Verdict, adequacy, decide

RIVAL = {"-1": -2.0, "-2": -1.0}


def slope_tolerance(eps: list[float] | np.ndarray, tol: float) -> float:
    """Worst-case change of the least-squares slope when every point moves by ±tol."""
    x = np.asarray(eps, float)
    d = x - x.mean()
    return float(tol * np.abs(d).sum() / (d * d).sum())


def _eps_slope(eps: np.ndarray, y: np.ndarray) -> np.ndarray:
    x = eps - eps.mean()
    return ((y - y.mean(-1, keepdims=True)) * x).sum(-1) / (x * x).sum()


def _exact_slope(eps: list[str], pred: list[Fraction]) -> str:
    x = [Fraction(e) for e in eps]
    xm, ym = sum(x, Fraction(0)) / len(x), sum(pred, Fraction(0)) / len(pred)
    f = (sum(((xi - xm) * (yi - ym) for xi, yi in zip(x, pred)), Fraction(0))
         / sum(((xi - xm) ** 2 for xi in x), Fraction(0)))
    return str(f.numerator) if f.denominator == 1 else str(f)


def judge_slope(pred: str | None, lo: float, hi: float, tol: float, inadequate: str) -> Verdict:
    """The verdict rule on an ε-slope, with the other hypothesis as the rival."""
    if pred is None:
        return Verdict("n/a", "no prediction")
    p = float(Fraction(pred))
    rival = RIVAL.get(pred)
    return decide(lo, hi, p - tol, p + tol, inadequate=inadequate, resolution=1.0,
                  rivals=(rival,) if rival is not None else (), widen=tol)


def theorem1(fits_boot: pd.DataFrame, level: float = 0.95, rule: Rule | None = None
             ) -> pd.DataFrame:
    """Slope of γ[δ¹], γ[δ²] against ε per (config without ε, step); needs the fits' `boot`
    draws and `predicted`."""
    rule = rule or Rule()
    df = fits_boot[fits_boot.quantity.isin(["delta1", "delta2"]) & (fits_boot.status == "ok")
                   & np.isfinite(fits_boot.fitted.astype(float))]
    keys = [c for c in CONFIG if c != "eps"] + ["step", "quantity"]
    a = (1 - level) / 2
    rows = []
    for key, g in df.groupby(keys, observed=True, sort=True):
        if g.eps.nunique() < 2:
            continue
        g = g.sort_values("eps", key=lambda s: s.map(lambda e: float(Fraction(e))))
        eps = np.array([float(Fraction(e)) for e in g.eps])
        boot = np.stack(list(g["boot"]), axis=1)              # (n_boot, n_eps)
        pred = [to_frac(p) if isinstance(p, str) else None for p in g.predicted]
        tol = slope_tolerance(eps, rule.tolerance)
        why = [adequacy(int(r.n_widths), int(r.n_seeds), r.interval == "widths", rule)
               for r in g.itertuples(index=False)]
        why = [f"ε = {e}: {w}" for e, w in zip(g.eps, why) if w]
        if len(eps) < 3:
            why.insert(0, f"{len(eps)} ε values (need 3)")
        row = dict(zip(keys, key))
        row["eps_values"] = ",".join(str(e) for e in g.eps)
        row["fitted"] = float(_eps_slope(eps, g.fitted.to_numpy(float)))
        row["ci_low"], row["ci_high"] = (float(q) for q in
                                         np.quantile(_eps_slope(eps, boot), [a, 1 - a]))
        ok = all(p is not None for p in pred)
        row["predicted"] = _exact_slope(list(g.eps), pred) if ok else None  # type: ignore[arg-type]
        v = judge_slope(row["predicted"], row["ci_low"], row["ci_high"], tol,
                        "; ".join(why))
        row.update(tolerance=tol, verdict=v.verdict, reason=v.reason)
        rows.append(row)
    return pd.DataFrame(rows)
