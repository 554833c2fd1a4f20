"""From a coordinate-check table to fitted exponents, predictions, verdicts and premises.

* Geometry (docs/theory.md §2, §8): each adapter's input and output dimensions are read at
  every width; a dimension is `width` when it grows like n (slope 1 in log–log: n, 3n, n/h …),
  `fixed` when it does not grow.  The γ-algebra contracts over a width-sized input, so an
  adapter with a fixed input dimension (an embedding over a fixed vocabulary) gets no prediction.
* Entry exponents *as applied*: a scheme's factors are drawn by their own rules (toy_models.inits)
  on the adapter's actual shape, so e.g. `AB`'s `B ~ N(0, 1/out)` has Θ(1) entries when `out`
  is fixed.  `applied_entries` states each Gaussian scheme's standard deviation as a power of
  `in` / `out` (the rank r is fixed); the W-derived schemes (PiSSA, OLoRA, …) are declared for
  width × width layers with a Kaiming-like W only.
* Premise: the theory takes the adapter's input `z` with Θ(1) entries.  The RMS of `z` at t = 0
  is fitted like every quantity; where its interval widened by ±`PREMISE_TOL` (1/4, half-way to
  the nearest power a width-scaled layer produces, n^{±1/2}) excludes 0 the module's rows are
  marked `premise fails` instead of being judged.  (z does not depend on the LoRA seeds below
  the first adapter, so its interval over seeds can be a point: the frozen base is one draw per
  width, and the tolerance absorbs its finite-width wobble.)
Fits are `width_sweeps.fit.fit_table`'s rows (computed by `fit_rows` with one sort; the series
of one adapter, scheme and rate fitted together by `fit.fit_pending`) and verdicts the rule of
`width_sweeps.verdict` (docs/theory.md §9.6).
"""
from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd

from gamma_calc.vocab import NEG_INF_TEXT, QUANTITIES, UNROLLED

from .fit import COLUMNS, CONFIG, FitOptions, Pending, fit_pending, log_series, no_slope
from .verdict import row_verdict

PREMISE = QUANTITIES["z"].key
PREMISE_TOL = 0.25
PREDICTED_Q = UNROLLED
# Entry standard deviation of each Gaussian / orthogonal scheme as powers of the adapter's
# dimensions (toy_models.inits; r is fixed): None = an exact-zero factor.
_FANS: dict[str, tuple[dict[str, str] | None, dict[str, str] | None]] = {
    "A": ({"in": "-1/2"}, None),
    "B": (None, {}),
    "AB": ({}, {"out": "-1/2"}),
    "AB-practical": ({"in": "-1/2"}, {"in": "-1/2"}),
    "AB+": ({"in": "-1/2"}, {"in": "-1/2"}),
    "zero": (None, None),
    "ortho-eye-const": ({}, {}),
    "ortho-qr-const": ({}, {}),
    "ortho-eye-match": ({"in": "-1/2"}, {}),
    "ortho-qr-match": ({"in": "-1/2"}, {}),
    "inilora-alpha": ({}, {}),
    "inilora-beta": ({"in": "-1/2"}, {}),
    "gaussian": ({}, None),
}


def dim_kind(sizes: list[int], widths: list[int]) -> str:
    """`width` (grows like n), `fixed`, or `n^x` for another growth, from sizes at widths."""
    if len(set(widths)) < 2:
        return "fixed" if len(set(sizes)) == 1 else "width"
    x = float(np.polyfit(np.log(widths), np.log(sizes), 1)[0])
    if abs(x - 1) < 0.05:
        return "width"
    if abs(x) < 0.05:
        return "fixed"
    return f"n^{x:.2f}"


def applied_entries(scheme: str, in_dim: str, out_dim: str) -> dict[str, tuple[str, str]] | None:
    """{"A": (entry exponent, kind), "B": (…)} of `scheme` on an in × out adapter, or None
    when not declared for that geometry (W-derived schemes off width × width)."""
    from gamma_calc.schemes import get_scheme
    sch = get_scheme(scheme)
    kinds = {"A": sch.A.kind, "B": sch.B.kind}
    if scheme not in _FANS:
        if in_dim == "width" and out_dim == "width":
            return sch.asymptotics()
        return None
    scales = {"in": in_dim == "width", "out": out_dim == "width"}
    out = {}
    for k, fan in zip("AB", _FANS[scheme]):
        if fan is None:
            out[k] = (NEG_INF_TEXT, "zero")
            continue
        e = sum((Fraction(v) for d, v in fan.items() if scales[d]), Fraction(0))
        out[k] = (str(e), kinds[k])
    return out


def predictions(optimizer: str, scheme: str, c_a: str, c_b: str, in_dim: str, out_dim: str,
                steps: int) -> tuple[dict[tuple[str, int], str | None], str | None]:
    """Predicted exponent per (quantity, step) for one adapter geometry, and a note when none
    can be given (gamma_calc.api.exponents: `predict`'s exponents without its flags)."""
    from gamma_calc.api import exponents
    from gamma_calc.schemes import get_scheme
    if in_dim != "width":
        return {}, f"input dimension {in_dim}: the theory contracts over a width-sized input"
    if out_dim not in ("width", "fixed"):
        return {}, f"output dimension {out_dim}: neither width nor fixed"
    ent = applied_entries(scheme, in_dim, out_dim)
    if ent is None:
        return {}, f"{scheme}: entry exponents declared for width x width layers only"
    try:
        exps = exponents(optimizer=optimizer, a_entry=ent["A"][0], a_kind=ent["A"][1],
                         b_entry=ent["B"][0], b_kind=ent["B"][1], lr_a=c_a,
                         lr_b=None if c_b == c_a else c_b, steps=max(steps, 2),
                         out_width=out_dim == "width",
                         cancel_init_product=get_scheme(scheme).cancel_init_product)
    except (KeyError, ValueError, NotImplementedError) as exc:
        return {}, f"gamma_calc cannot predict {scheme}: {exc}"
    out: dict[tuple[str, int], str | None] = {}
    for t in range(steps + 1):
        for q in PREDICTED_Q:
            out[(q, t)] = exps[q][t] if q in exps else None
        out[(PREMISE, t)] = "0"
    return out, None


def fit_frame(table: pd.DataFrame, optimizer: str) -> pd.DataFrame:
    """The table in `fit_table`'s layout (the module is the `model` key of a fit)."""
    df = table.rename(columns={"module": "model"}).copy()
    df["init_scale"] = 1.0
    df["optimizer"] = optimizer
    df["lr_exponent_b"] = df["lr_exponent"]
    df["eta0"] = 1.0
    df["eps"] = "0"
    df["run_id"] = df.groupby(["scheme", "lr_exponent", "seed", "width"], sort=False).ngroup()
    return df


KEYS = ["module", "scheme", "lr_exponent", "step", "quantity"]


def _one_series(w: np.ndarray, v: np.ndarray) -> tuple[dict[str, Any] | None, Any, Any]:
    """One series by `fit.fit_table`'s rules (no run accounting: coord_check keeps every run):
    (row, widths, logs) — row None where no value is finite (δ at t = 0); widths None where the
    row is complete, else the series still to fit."""
    fin = np.isfinite(v)
    if not fin.any():
        return None, None, None
    widths, logs, zero, dropped = log_series(w, v)
    row: dict[str, Any] = {"status": "ok", "n_widths": len(widths),
                           "runs_used": int(np.isin(w, widths).sum()) if dropped else len(w),
                           "runs_diverged": 0,
                           "widths_used": ",".join(str(int(n)) for n in widths),
                           "widths_dropped": "; ".join(dropped), "note": ""}
    if zero:
        row.update(fitted=-np.inf, ci_low=-np.inf, ci_high=-np.inf, interval="exact",
                   n_seeds=int(min(int((w == n).sum()) for n in widths)))
    elif len(widths) >= 2:
        return row, np.array(widths), logs
    else:
        row.update(no_slope(logs))
    return row, None, None


def _series_order(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row order, series cuts in it, each series' first row): the rows sorted by `KEYS` as
    `groupby(KEYS, sort=True)` sorts its groups, then by width."""
    codes = [pd.factorize(table[k], sort=True) for k in KEYS]
    series = np.ravel_multi_index([c for c, _ in codes], [max(len(u), 1) for _, u in codes])
    order = np.lexsort((table.width.to_numpy(), series))
    cuts = np.flatnonzero(np.diff(series[order])) + 1
    return order, cuts, order[np.r_[0, cuts]] if len(order) else order


def _fit_dicts(table: pd.DataFrame, optimizer: str, opts: FitOptions) -> list[dict[str, Any]]:
    """`fit_rows`' rows as dicts."""
    order, cuts, heads = _series_order(table)
    width, value = table.width.to_numpy()[order], table.value.to_numpy(dtype=float)[order]
    first = zip(*(table[k].to_numpy()[heads] for k in KEYS))
    rows: list[dict[str, Any]] = []
    pending: list[Pending] = []
    for key, w, v in zip(first, np.split(width, cuts), np.split(value, cuts)):
        row, widths, logs = _one_series(w, v)
        if row is not None:
            base = dict(zip(KEYS, key))
            rows.append({"module": base["module"], "scheme": base["scheme"], "init_scale": 1.0,
                         "optimizer": optimizer, "lr_exponent": base["lr_exponent"],
                         "lr_exponent_b": base["lr_exponent"], "eta0": 1.0, "eps": "0",
                         "step": base["step"], "quantity": base["quantity"]} | row)
            if widths is not None:
                cfg = (base["module"], base["scheme"], base["lr_exponent"])
                pending.append((rows[-1], cfg, widths, logs))
    fit_pending(pending, opts, np.random.default_rng(opts.seed))
    return rows


FIT_COLUMNS = ["module"] + CONFIG[1:] + ["step", "quantity"] + COLUMNS


def fit_rows(table: pd.DataFrame, optimizer: str, opts: FitOptions) -> pd.DataFrame:
    """`fit.fit_table(fit_frame(table), None, opts)` with the module as key, computed with one
    sort instead of a pandas group per series (same rules, same series order, same draws)."""
    return pd.DataFrame(_fit_dicts(table, optimizer, opts), columns=FIT_COLUMNS)


def fit_check(table: pd.DataFrame, geometry: pd.DataFrame, canonical: dict[str, str],
              optimizer: str, steps: int, opts: FitOptions) -> tuple[pd.DataFrame, list[str]]:
    """Fits, predictions, premises and verdicts: one row per (module, quantity, step, scheme,
    lr_exponent) with values at two or more widths, for the quantities gamma_calc predicts and
    the premise `z` at t = 0 (the table keeps every measurement, the loss included).  Rows are
    judged by `verdict.row_verdict` (the premise `z` with tolerance `PREMISE_TOL`) and the
    table is built once."""
    keep = table.quantity.isin(PREDICTED_Q) | ((table.quantity == PREMISE) & (table.step == 0))
    rows = _fit_dicts(table[keep], optimizer, opts)
    notes: list[str] = []
    geo = {m: (i, o) for m, i, o in zip(geometry.module, geometry.in_dim, geometry.out_dim)}
    cache: dict[tuple, dict] = {}
    rule = opts.rule()
    premise_rule = replace(rule, tolerance=PREMISE_TOL)
    for r in rows:
        r["predicted"] = None
        if r["module"] in geo:                    # else the model's loss
            parts = [p.strip() for p in str(r["lr_exponent"]).split(",")]
            key = (canonical[r["scheme"]], parts[0], parts[-1], *geo[r["module"]])
            if key not in cache:
                cache[key], note = predictions(optimizer, *key, steps)
                if note:
                    notes.append(f"{r['module']} ({r['scheme']}): {note}")
            r["predicted"] = cache[key].get((r["quantity"], int(r["step"])))
        ru = premise_rule if r["quantity"] == PREMISE else rule
        v = row_verdict(r, ru)
        r.update(verdict=v.verdict, reason=v.reason, tolerance=ru.tolerance)
    _mark_premise(rows)
    cols = FIT_COLUMNS + ["predicted", "verdict", "reason", "tolerance", "premise"]
    return pd.DataFrame(rows, columns=cols), notes


def _mark_premise(rows: list[dict[str, Any]]) -> None:
    """`premise` per row (holds / fails / unknown) from its module's γ[z] at t = 0; rows of a
    module whose premise fails get the verdict `premise fails` (the z row keeps its own)."""
    word = {"pass": "holds", "fail": "fails"}
    state = {(r["module"], r["scheme"], r["lr_exponent"]): word.get(r["verdict"], "n/a")
             for r in rows if r["quantity"] == PREMISE and r["step"] == 0}
    for r in rows:
        r["premise"] = state.get((r["module"], r["scheme"], r["lr_exponent"]), "n/a")
        if r["premise"] == "fails" and r["quantity"] != PREMISE and r["verdict"] != "n/a":
            r["verdict"] = "premise fails"


def premise_table(fits: pd.DataFrame) -> pd.DataFrame:
    """One row per (module, scheme, lr_exponent): fitted γ[z] at t = 0 and the premise."""
    z0 = fits[(fits.quantity == PREMISE) & (fits.step == 0)]
    cols = ["module", "scheme", "lr_exponent", "fitted", "ci_low", "ci_high", "premise"]
    return z0[cols].reset_index(drop=True)


def summary(fits: pd.DataFrame) -> dict[str, Any]:
    """Verdict counts."""
    return {str(k): int(v) for k, v in fits.verdict.value_counts().items()}
