"""Measured explanations for the transformer coordinate check (figures/transformer_coord.py).

Where a marginal exponent of docs/theory.md §2 fails inside the transformer, three things can be
at fault; each is measured here, not assumed:

1. **The premise** (§2.1): the adapter's input z has Θ(1) entries.  ``premise_fits`` fits the
   RMS and the mean |entry| of every projection's input on the probe data against width, with
   a bootstrap over the probe *sequences* (the pretrained model is one per width, so seeds do
   not vary it; the data do).  Adam's sign update contracts z like an L1 norm, so mean |z|
   is the form of the premise that enters ΔA·z; and the **alignment** κ of the sign pattern
   with z (``toy_models.transformer_probes.sign_alignment``, fitted by ``exponent_fits`` over
   seeds) is the aligned-sum rule itself (§1.3): γ[ΔA z] = c + 1 + γ[mean |z|] + γ[κ].
2. **The recursion given its measured inputs** (§2.4, Eq. 3–4).  Under Adam, and with the
   aligned-sum rule for ΔA·z, the exponents obey, for every step t ≥ 1,
   ``γ[δ²_t] − γ[Z_A_{t−1}] = c_B`` (ΔB's entries are Θ(η_B), contracted over the fixed r),
   ``γ[δ¹_t] − γ[B_{t−1}] = c_A + 1`` (ΔA_t z is an aligned width sum) and
   ``γ[Z_B_t] − γ[Z_A_t] = γ[B_t]``, whatever the finite-width mix inside Z_A (its Θ(1) init
   term A₀z against its growing update part).  ``ratio_fits`` fits the per-run ratios
   δ²_t/Z_A_{t−1}, δ¹_t/B_{t−1}, Z_B_t/Z_A_t: when they pass while δ², δ¹ or Z_B fail, the
   failure is inherited from Z_A or B (finite width), not a breakdown of the theory's recursion;
   when δ¹/B fails, ΔA·z is not the aligned sum the theory assumes.  Z_A's own finite-width
   mix is tested too: Z_A_t / √(Z_A_0² + ((A−A₀)z)_t²) has exponent 0 when Z_A is the sum of
   its Θ(1) init part and its growing update part.
3. **The backpropagated signal** dL/dZ̄ (§3.3): Adam's update is its sign pattern, so its size
   matters only against Adam's ε; ``signal_fits`` fits its RMS per projection against width.
Fits are ``width_sweeps.fit.fit_series`` and verdicts ``width_sweeps.verdict.judge_exponent``
(docs/theory.md §9.2–9.6).
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd

MIX = "Z_A_t / √(Z_A_0² + ((A−A₀)z)_t²)"
RATIOS = (  # name, numerator (quantity, step offset), denominator (quantity, step offset)
    ("δ²_t / Z_A_{t−1}", ("delta2", 0), ("Z_A", -1)),
    ("δ¹_t / B_{t−1}", ("delta1", 0), ("B", -1)),
    ("Z_B_t / Z_A_t", ("Z_B", 0), ("Z_A", 0)),
)
FIT_COLUMNS = ["fitted", "ci_low", "ci_high", "interval", "local", "local_low", "local_high",
               "n_widths", "n_seeds"]


def _fit(widths: list[int], logs: list[np.ndarray], tol: float, seed: int = 0) -> dict:
    """`width_sweeps.fit.fit_series` of one series and its verdict under the project's rule
    (``width_sweeps.verdict.judge_exponent``) against ``pred`` (set by the caller)."""
    from width_sweeps.fit import FitOptions, fit_series
    res = fit_series(np.asarray(widths), logs, FitOptions(tolerance=tol),
                     np.random.default_rng(seed))
    return {k: res.get(k, np.nan) for k in FIT_COLUMNS}


def _judge(pred: str | None, row: dict, tol: float) -> tuple[str, str]:
    from width_sweeps.verdict import Rule, judge_exponent
    v = judge_exponent(pred, row["fitted"], row["ci_low"], row["ci_high"],
                       n_widths=int(row["n_widths"]), n_seeds=int(row["n_seeds"]),
                       seedless=row["interval"] == "widths", local=float(row["local"]),
                       local_low=float(row["local_low"]), local_high=float(row["local_high"]),
                       rule=Rule(tolerance=tol))
    return v.verdict, v.reason


def exponent_fits(values: dict[int, dict[str, np.ndarray]], tol: float,
                  predicted: str = "0") -> pd.DataFrame:
    """One row per module: the fitted width exponent of a positive statistic given as
    ``values[width][module]`` = samples (probe sequences, or seeds), its 95 % bootstrap
    interval over those samples, the prediction and the verdict; ``level`` keeps the RMS of
    the samples per width (for tables and plots)."""
    widths = sorted(values)
    rows = []
    for module in values[widths[0]]:
        logs = [np.log(np.asarray(values[w][module], float)) for w in widths]
        row = {"module": module, **_fit(widths, logs, tol), "predicted": predicted,
               "level": {w: float(np.sqrt(np.mean(np.square(values[w][module]))))
                         for w in widths}}
        row["verdict"], row["reason"] = _judge(predicted, row, tol)
        rows.append(row)
    return pd.DataFrame(rows)


def premise_fits(stats: dict[int, dict[str, dict[str, np.ndarray]]], tol: float
                 ) -> pd.DataFrame:
    """The premise per module and statistic ("rms": RMS z, "l1": mean |z|; per-sequence
    values ``stats[width][module][stat]``): exponent, interval over sequences, verdict vs 0."""
    parts = []
    for stat in ("rms", "l1"):
        vals = {n: {m: v[stat] for m, v in per.items()} for n, per in stats.items()}
        parts.append(exponent_fits(vals, tol).assign(stat=stat))
    return pd.concat(parts, ignore_index=True)


def signal_fits(grads: dict[int, dict[str, float]]) -> pd.DataFrame:
    """Per module: the slope of RMS dL/dZ̄ against width (one value per width: no interval)."""
    widths = sorted(grads)
    x = np.log(np.asarray(widths, float))
    rows = []
    for module in grads[widths[0]]:
        y = np.log([grads[w][module] for w in widths])
        rows.append({"module": module, "fitted": float(np.polyfit(x, y, 1)[0]),
                     "min_rms": float(np.exp(y.min())), "rms": dict(zip(widths, np.exp(y)))})
    return pd.DataFrame(rows)


def _pred(fits: pd.DataFrame, scheme: str, c: str, module: str, q: str, t: int) -> str | None:
    row = fits[(fits.scheme == scheme) & (fits.lr_exponent == c) & (fits.module == module)
               & (fits.quantity == q) & (fits.step == t)]
    if not len(row) or not isinstance(row.predicted.iloc[0], str):
        return None
    return row.predicted.iloc[0]


def _minus(a: str | None, b: str | None) -> str | None:
    """Exponent difference a − b of exact strings; None when either is missing or −∞."""
    if a is None or b is None or "oo" in a or "oo" in b:
        return None
    return str(Fraction(a) - Fraction(b))


def ratio_fits(table: pd.DataFrame, fits: pd.DataFrame, step: int, tol: float) -> pd.DataFrame:
    """The recursion tests of the module doc at ``step``: one row per (scheme, rate, module,
    ratio) with the fitted exponent of the per-run ratio, its CI over seeds, the exponent
    gamma_calc's own predictions imply (numerator's minus denominator's) and the verdict."""
    key = ["scheme", "lr_exponent", "module", "width", "seed"]
    wide = table.pivot_table(index=key, columns=["quantity", "step"], values="value",
                             aggfunc="first")
    rows = []
    for name, (qn, dn), (qd, dd) in RATIOS:
        if (qn, step + dn) not in wide.columns or (qd, step + dd) not in wide.columns:
            continue
        ratio = (wide[(qn, step + dn)] / wide[(qd, step + dd)]).rename("r").reset_index()
        ratio = ratio[np.isfinite(ratio.r) & (ratio.r > 0)]
        for (s, c, module), g in ratio.groupby(["scheme", "lr_exponent", "module"]):
            widths = sorted(g.width.unique())
            if len(widths) < 2:
                continue
            logs = [np.log(g[g.width == w].r.to_numpy()) for w in widths]
            pred = _minus(_pred(fits, s, c, module, qn, step + dn),
                          _pred(fits, s, c, module, qd, step + dd))
            row = {"scheme": s, "lr_exponent": c, "module": module, "ratio": name, "step": step,
                   "predicted": pred, **_fit(widths, logs, tol)}
            row["verdict"], row["reason"] = _judge(pred, row, tol)
            rows.append(row)
    return pd.DataFrame(rows + _mix_rows(wide, step, tol))


def _mix_rows(wide: pd.DataFrame, step: int, tol: float) -> list[dict]:
    """Z_A_t against the sum in quadrature of its init part A₀z (= Z_A at t = 0) and its update
    part (A_t − A₀)z_t: exponent 0 when Z_A is that finite-width mix (only where A₀z ≠ 0)."""
    cols = [("Z_A", step), ("Z_A", 0), ("dZ_A", step)]
    if any(c not in wide.columns for c in cols):
        return []
    za, za0, dza = (wide[c] for c in cols)
    ratio = (za / np.sqrt(za0 ** 2 + dza ** 2)).rename("r").reset_index()
    ratio = ratio[np.isfinite(ratio.r) & (ratio.r > 0) & (za0.to_numpy() > 0)]
    rows = []
    for (s, c, module), g in ratio.groupby(["scheme", "lr_exponent", "module"]):
        widths = sorted(g.width.unique())
        if len(widths) < 2:
            continue
        logs = [np.log(g[g.width == w].r.to_numpy()) for w in widths]
        row = {"scheme": s, "lr_exponent": c, "module": module, "ratio": MIX, "step": step,
               "predicted": "0", **_fit(widths, logs, tol)}
        row["verdict"], row["reason"] = _judge("0", row, tol)
        rows.append(row)
    return rows
