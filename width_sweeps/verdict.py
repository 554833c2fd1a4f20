"""Predictions beside fits, and a verdict per row (issue 4 §5); Theorem 1 as a measurement.

Verdict rule: `pass` when the predicted exponent lies in `[ci_low − tol, ci_high + tol]`
(tolerance stated in the output, default 0.05: THEORY §2's pre-asymptotic drift); a prediction
of "-oo" passes only when the quantity is exactly zero at every width; `n/a` when gamma_calc
gives no prediction.  Theorem 1 (THEORY §2, robustness): for each scheme, the slope of the
fitted `γ[δ¹]`, `γ[δ²]` against `ε` — −1 for a factor initialised at its bound, −2 for a zero
factor — with a CI from the same bootstrap draws.
"""
from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd

from .fit import CONFIG
from .predict import PredictFn, PredictionUnavailable, gamma_calc_predict, to_frac


def attach_predictions(fits: pd.DataFrame, predict_fn: PredictFn = gamma_calc_predict,
                       lora_models: tuple[str, ...] | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Add `predicted` (exponent string or None); returns the notes on unavailable predictions."""
    cache: dict[tuple, Any] = {}
    notes: list[str] = []
    preds = []
    for row in fits.itertuples(index=False):
        key = (row.optimizer, row.scheme, row.lr_exponent, row.lr_exponent_b, row.eps)
        if key not in cache:
            steps = int(fits.step.max())
            try:
                cache[key] = predict_fn(optimizer=row.optimizer, scheme=row.scheme,
                                        lr_exponent=row.lr_exponent,
                                        lr_exponent_b=row.lr_exponent_b, eps=row.eps, steps=steps)
            except PredictionUnavailable as exc:
                cache[key] = {}
                notes.append(str(exc))
        preds.append(cache[key].get((row.quantity, int(row.step))))
    out = fits.copy()
    out["predicted"] = preds
    return out, sorted(set(notes))


def judge(predicted: str | None, lo: float, hi: float, tol: float) -> str:
    """pass / fail / n/a for one row."""
    if predicted is None or (isinstance(predicted, float) and np.isnan(predicted)):
        return "n/a"
    if predicted == "-oo":
        return "pass" if hi == -np.inf else "fail"
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "fail"
    p = float(Fraction(predicted))
    return "pass" if lo - tol <= p <= hi + tol else "fail"


def add_verdicts(fits: pd.DataFrame, tol: float) -> pd.DataFrame:
    out = fits.copy()
    out["verdict"] = [judge(p, lo, hi, tol) for p, lo, hi in
                      zip(out.predicted, out.ci_low, out.ci_high)]
    out["tolerance"] = tol
    return out


def _eps_slope(eps: np.ndarray, y: np.ndarray) -> np.ndarray:
    x = eps - eps.mean()
    return ((y - y.mean(-1, keepdims=True)) * x).sum(-1) / (x * x).sum()


def theorem1(fits_boot: pd.DataFrame, level: float = 0.95, tol: float = 0.05) -> pd.DataFrame:
    """Slope of γ[δ¹], γ[δ²] against ε per (config without ε, step); needs `boot` and `predicted`."""
    df = fits_boot[fits_boot.quantity.isin(["delta1", "delta2"]) & np.isfinite(fits_boot.fitted)]
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
        row = dict(zip(keys, key))
        row["eps_values"] = ",".join(str(e) for e in g.eps)
        row["fitted"] = float(_eps_slope(eps, g.fitted.to_numpy()))
        row["ci_low"], row["ci_high"] = (float(q) for q in
                                         np.quantile(_eps_slope(eps, boot), [a, 1 - a]))
        pred_slope = None
        if all(p is not None for p in pred):
            x = [Fraction(e) for e in g.eps]
            xm = sum(x) / len(x)
            ym = sum(pred) / len(pred)
            num = sum((xi - xm) * (yi - ym) for xi, yi in zip(x, pred))
            den = sum((xi - xm) ** 2 for xi in x)
            f = num / den
            pred_slope = str(f.numerator) if f.denominator == 1 else str(f)
        row["predicted"] = pred_slope
        row["verdict"] = judge(pred_slope, row["ci_low"], row["ci_high"], tol)
        rows.append(row)
    return pd.DataFrame(rows)
