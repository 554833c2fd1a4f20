"""The verdict rule (docs/theory.md §9.6): one function decides every verdict of gammakit.

Every claim — a fitted width exponent against gamma_calc, an effect size against a threshold,
an exact identity, a comparison of two rates on a grid — ends as an interval ``[lo, hi]`` for a
statistic and a region the claim says the statistic lies in.  :func:`decide` turns those into
``pass`` / ``fail`` / ``inconclusive``:

1. the data are inadequate (too few widths or seeds, a degenerate interval) → inconclusive;
2. the interval misses the region → fail (the data exclude the claim);
3. the interval (widened by the tolerance) also holds a rival hypothesis → inconclusive;
   the interval lies inside the region → pass;
4. for claims "this exponent equals p" (a *consistency* claim, with a resolution): the interval
   meets the region and is no wider than the resolution → pass;
5. otherwise → inconclusive (the data cannot decide).

`diverged` and `error` are statuses, not verdicts about the claim: every run of the row
diverged, or the measurement raised.  `n/a`: no prediction.  :func:`combine` joins the parts
of a claim.  The helpers build the interval and region for each kind of claim and all call
:func:`decide`: :func:`judge_exponent` (fits), :func:`judge_effect` (bootstrap intervals of
derived statistics), :func:`judge_exact` (exact computations: a point, no sampling) and
:func:`compare_on_grid` (values known only up to a grid cell, e.g. largest stable rates).
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

PASS, FAIL, INCONCLUSIVE = "pass", "fail", "inconclusive"
DIVERGED, ERROR, NA = "diverged", "error", "n/a"
VERDICTS = (PASS, FAIL, INCONCLUSIVE)
STATUSES = (DIVERGED, ERROR, NA)
ALL = VERDICTS + STATUSES
INF = math.inf


@dataclass(frozen=True)
class Verdict:
    """A verdict and the one-line reason behind it."""
    verdict: str
    reason: str = ""

    def __str__(self) -> str:
        return self.verdict


@dataclass(frozen=True)
class Rule:
    """The parameters of the verdict rule for fitted exponents (docs/theory.md §9.6).

    tolerance: how far a measured exponent may sit from the prediction over a finite width
        range and still count as agreeing (the tolerance band is [p − tol, p + tol]);
    min_widths: fewest widths with finite values a fit needs;
    min_seeds: fewest seeds per width the seed bootstrap needs (below it the interval comes
        from the scatter across widths, see width_sweeps.fit);
    max_ci_ratio: a pass needs an interval at most this many times as wide as the tolerance
        band (2·tol): with tol = 0.05 an interval of width ≤ 0.2, far below the 1/2 that
        separates neighbouring exponents of the theory;
    level: the interval's confidence level (informational; the fit builds the interval)."""
    tolerance: float = 0.05
    min_widths: int = 4
    min_seeds: int = 3
    max_ci_ratio: float = 2.0
    level: float = 0.95

    @property
    def max_width(self) -> float:
        return self.max_ci_ratio * 2 * self.tolerance

    def text(self) -> str:
        """The rule in one paragraph, printed with every verdict table."""
        t = self.tolerance
        return (f"Verdict rule (docs/theory.md §9.6): inconclusive with fewer than "
                f"{self.min_widths} widths holding finite values, or fewer than {self.min_seeds} "
                f"seeds unless the interval comes from the scatter across widths; fail when the "
                f"{self.level:.0%} interval widened by ±{t:g} excludes the prediction; pass when "
                f"it includes it and is at most {self.max_width:.3g} wide ({self.max_ci_ratio:g}× "
                f"the tolerance band); otherwise inconclusive.  Finite-width drift: a fail whose "
                f"slope over the largest widths moves toward the prediction and agrees with it is "
                f"inconclusive; a pass whose largest-width slope moves away and disagrees is "
                f"inconclusive.  A prediction of −∞ passes only when the quantity is exactly zero "
                f"at every width and seed.")


def decide(lo: float, hi: float, low: float = -INF, high: float = INF, *,
           inadequate: str = "", resolution: float | None = None,
           rivals: tuple[float, ...] = (), widen: float = 0.0) -> Verdict:
    """THE rule: interval ``[lo, hi]`` of a statistic against the claimed region
    ``[low, high]``.  `inadequate` (a reason) forces inconclusive; `resolution` makes the claim
    a consistency claim (step 4 of the module doc); `rivals` are competing values (another
    hypothesis) that a pass must exclude from ``[lo − widen, hi + widen]``."""
    if inadequate:
        return Verdict(INCONCLUSIVE, inadequate)
    if math.isnan(lo) or math.isnan(hi):
        return Verdict(INCONCLUSIVE, "no interval")
    if hi < low or lo > high:
        return Verdict(FAIL, f"interval [{lo:+.3g}, {hi:+.3g}] misses [{low:+.3g}, {high:+.3g}]")
    held = [r for r in rivals if lo - widen <= r <= hi + widen]
    if held:
        return Verdict(INCONCLUSIVE, f"interval also holds the rival value {held[0]:+.3g}")
    if low <= lo and hi <= high:
        return Verdict(PASS, "interval inside the claimed region")
    if resolution is not None:
        if hi - lo <= resolution:
            return Verdict(PASS, "interval meets the tolerance band")
        return Verdict(INCONCLUSIVE, f"interval {hi - lo:.3g} wide > {resolution:.3g}")
    return Verdict(INCONCLUSIVE, "interval straddles the claimed region's edge")


def _value(p: str) -> float:
    """An exponent string's value (−inf for "-oo"; NaN for text that is no exponent)."""
    from fractions import Fraction
    if p == "-oo":
        return -INF
    try:
        return float(Fraction(p))
    except (ValueError, ZeroDivisionError):
        return math.nan


def adequacy(n_widths: int, n_seeds: int, seedless: bool, rule: Rule) -> str:
    """The reason the data cannot decide, or "" when they are adequate."""
    if n_widths < rule.min_widths:
        return f"{n_widths} widths with finite values (need {rule.min_widths})"
    if n_seeds < rule.min_seeds and not seedless:
        return f"{n_seeds} seeds (need {rule.min_seeds})"
    return ""


def judge_exponent(predicted: str | None, fitted: float, lo: float, hi: float, *,
                   n_widths: int, n_seeds: int, seedless: bool = False,
                   local: float = math.nan, local_low: float = math.nan,
                   local_high: float = math.nan, rule: Rule | None = None) -> Verdict:
    """A fitted width exponent (interval [lo, hi]) against gamma_calc's exact `predicted`
    string ("-1/2", "-oo"; None: no prediction).  `local*`: the slope over the largest widths
    and its seed interval, for the drift part of the rule."""
    rule = rule or Rule()
    if predicted is None or (isinstance(predicted, float) and math.isnan(predicted)):
        return Verdict(NA, "no prediction")
    if math.isnan(_value(str(predicted))):
        return Verdict(NA, f"prediction {predicted!r} is not a finite exponent")
    why = adequacy(n_widths, n_seeds, seedless or fitted == -INF, rule)
    if why:
        return Verdict(INCONCLUSIVE, why)
    if predicted == "-oo":
        return (Verdict(PASS, "exactly zero at every width") if hi == -INF else
                Verdict(FAIL, "predicted exactly zero, measured non-zero"))
    if fitted == -INF:
        return Verdict(FAIL, "measured exactly zero, predicted Θ(n^p)")
    p, t = _value(predicted), rule.tolerance
    v = decide(lo, hi, p - t, p + t, resolution=rule.max_width)
    return _drift(v, p, fitted, lo, hi, local, local_low, local_high, t)


def _drift(v: Verdict, p: float, fitted: float, lo: float, hi: float, local: float,
           local_low: float, local_high: float, tol: float) -> Verdict:
    """The asymptotic part of the rule: the slope over the largest widths can only turn a
    pass or a fail into inconclusive, never decide on its own."""
    if math.isnan(local):
        return v
    agrees = local_low - tol <= p <= local_high + tol
    toward = abs(local - p) < abs(fitted - p)
    if v.verdict == FAIL and agrees and toward:
        return Verdict(INCONCLUSIVE, f"finite-width drift: largest-width slope {local:+.3f} "
                       f"moves toward the prediction")
    far = abs(local - p) > tol + (hi - lo) / 2
    if v.verdict == PASS and not agrees and far and not toward:
        return Verdict(INCONCLUSIVE, f"finite-width drift: largest-width slope {local:+.3f} "
                       f"moves away from the prediction")
    return v


def judge_effect(lo: float, hi: float, *, low: float = -INF, high: float = INF,
                 n_seeds: int, min_seeds: int = 3, inadequate: str = "") -> Verdict:
    """A bootstrap interval of a derived statistic (a difference, a ratio) against the region
    the claim gives it, e.g. ``high=0`` for "< 0", ``low=0.5, high=2`` for "within ×2"."""
    why = inadequate or (f"{n_seeds} seeds (need {min_seeds})" if n_seeds < min_seeds else "")
    return decide(lo, hi, low, high, inadequate=why)


def judge_exact(value: float, *, low: float = -INF, high: float = INF) -> Verdict:
    """An exact computation (no sampling, so no interval): the point against the region."""
    return decide(value, value, low, high)


def grid_cell(value: float, grid: np.ndarray) -> tuple[float, float]:
    """The cell ``[value, next grid point)`` a grid-searched value lies in (the true value is
    at least `value` and below the next grid point); 0 means "below the grid"."""
    g = np.sort(np.asarray(grid, float))
    if value <= 0:
        return 0.0, float(g[0])
    above = g[g > value * (1 + 1e-9)]
    return float(value), float(above[0]) if len(above) else INF


def compare_on_grid(a: float, b: float, grid: np.ndarray) -> Verdict:
    """Claim ``a < b`` where both were found by a search over `grid` (e.g. the largest stable
    rate of two schemes): each is known only up to its grid cell, so the claim passes when a's
    cell lies below b's, fails when b's lies below a's, and is inconclusive when they share
    a cell — the grid cannot separate them."""
    (a_lo, a_hi), (b_lo, b_hi) = grid_cell(a, grid), grid_cell(b, grid)
    if a_hi <= b_lo:
        return Verdict(PASS, "cells ordered")
    if b_hi <= a_lo:
        return Verdict(FAIL, "cells ordered the other way")
    return Verdict(INCONCLUSIVE, "same grid cell: the grid spacing cannot separate them")


def combine(verdicts: list[str] | list[Verdict]) -> str:
    """One verdict for a claim made of parts: error if any part errored; fail if any part
    fails; pass if every part passes; diverged if every part diverged; else inconclusive."""
    vs = [str(v) for v in verdicts]
    if not vs:
        return INCONCLUSIVE
    if ERROR in vs:
        return ERROR
    if FAIL in vs:
        return FAIL
    if all(v == PASS for v in vs):
        return PASS
    if all(v == DIVERGED for v in vs):
        return DIVERGED
    if all(v == NA for v in vs):
        return NA
    return INCONCLUSIVE


def row_verdict(r: Mapping[str, Any], rule: Rule) -> Verdict:
    """The verdict of one fits-table row (a mapping of its columns, with `predicted`): a row
    whose status is not "ok" carries that status as its verdict."""
    status = r.get("status", "ok")
    if status != "ok":
        return Verdict(status, str(r.get("note", "")) or status)
    return judge_exponent(
        r["predicted"], r["fitted"], r["ci_low"], r["ci_high"], n_widths=int(r["n_widths"]),
        n_seeds=int(r["n_seeds"]), seedless=r.get("interval", "") == "widths",
        local=_num(r.get("local", math.nan)), local_low=_num(r.get("local_low", math.nan)),
        local_high=_num(r.get("local_high", math.nan)), rule=rule)


def add_verdicts(fits, rule: Rule):  # fits: pd.DataFrame (pandas imported by the caller)
    """Columns `verdict`, `reason`, `tolerance` for every row of a fits table (with
    `predicted`): rows whose status is not "ok" carry that status as their verdict."""
    out = fits.copy()
    cols = list(out.columns)
    res = [row_verdict(dict(zip(cols, values)), rule)
           for values in zip(*(out[c].tolist() for c in cols))]
    out["verdict"] = [v.verdict for v in res]
    out["reason"] = [v.reason for v in res]
    out["tolerance"] = rule.tolerance
    return out


def _num(v: object) -> float:
    try:
        return float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan
