"""Validation of a sweep spec: every field typed, finite and in range, before anything runs.

Each check raises :class:`SpecError` — a :class:`gamma_calc.errors.UserError`, so every command
line reports it as one line with exit code 2 — whose message names the field and the value:
``spec field 'eta0': inf is not a finite number > 0``.  Pure Python (no torch, no numpy): a
spec is validated in time linear in the size of its grid's axes, never in the number of runs.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from fractions import Fraction
from typing import Any

from gamma_calc.errors import UserError

MAX_RUNS = 10_000_000        # a grid beyond this cannot be merged into tables in memory
MAX_GRID = 100_000           # entries of an eta0 {from, to, per_octave} grid
LOG_MAX, LOG_MIN = math.log(1e300), math.log(1e-300)   # rates must stay well inside float range


class SpecError(UserError):
    """An invalid sweep spec; the message is one line naming the field and value."""


def fail(name: str, msg: str) -> None:
    raise SpecError(f"spec field '{name}': {msg}")


def is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def is_num(v: Any) -> bool:
    """A finite real number (bool excluded)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def check_int(name: str, v: Any, lo: int, what: str | None = None) -> None:
    if not (is_int(v) and v >= lo):
        what = what or ("a positive integer" if lo == 1 else f"an integer >= {lo}")
        fail(name, f"{v!r} is not {what}")


def check_num(name: str, v: Any, *, gt: float | None = None, ge: float | None = None,
              lt: float | None = None) -> None:
    """A finite number with the given bounds (gt: >, ge: >=, lt: <)."""
    ok = is_num(v) and (gt is None or v > gt) and (ge is None or v >= ge) and (
        lt is None or v < lt)
    if not ok:
        bounds = " and ".join(f"{op} {b:g}" for op, b in ((">", gt), (">=", ge), ("<", lt))
                              if b is not None)
        fail(name, f"{v!r} is not a finite number{' ' + bounds if bounds else ''}")


def check_bool(name: str, v: Any) -> None:
    if not isinstance(v, bool):
        fail(name, f"{v!r} is not true or false")


def parse_rational(text: Any, field_name: str) -> Fraction:
    """An exact-rational exponent string ("-1/2", "0") whose value is a representable float."""
    s = str(text).strip()
    try:
        f = Fraction(s)
        float(f)
    except (ValueError, ZeroDivisionError):
        raise SpecError(f"spec field '{field_name}': {text!r} is not an exact rational "
                        f"like \"-1/2\"") from None
    except OverflowError:
        raise SpecError(f"spec field '{field_name}': {text!r} is out of range") from None
    return f


def nonempty_list(name: str, val: Any) -> list:
    if not isinstance(val, list) or not val:
        fail(name, f"{val!r} is not a non-empty list")
    return val


def unique(name: str, vals: list) -> None:
    if len(set(vals)) != len(vals):
        seen: set = set()
        dup = next(v for v in vals if v in seen or seen.add(v))   # type: ignore[func-returns-value]
        fail(name, f"{dup!r} appears twice")


def check_device_name(name: str, dev: Any) -> None:
    """`auto`, `cpu`, `cuda` or `cuda:k` (whether it exists is checked when planning)."""
    ok = isinstance(dev, str) and (dev in ("auto", "cpu", "cuda") or (
        dev.startswith("cuda:") and dev[5:].isdigit()))
    if not ok:
        fail(name, f"{dev!r} is not auto, cpu, cuda or cuda:k")


def check_rates(widths: list[int], n0: int, eta0: list[float], pairs: list[tuple[str, str]],
                eps: list[str], lr_ratio: float) -> None:
    """Every run's η_A = η₀ (n/n₀)^(c_A − ε) and η_B = λ η₀ (n/n₀)^(c_B − ε) is a finite,
    non-zero float (checked in log space on the grid's extremes: linear in the axes)."""
    lo_e, hi_e = math.log(min(eta0)), math.log(max(eta0))
    logs = {n: math.log(n / n0) for n in (min(widths), max(widths))}
    for e in eps:
        fe = Fraction(e)
        for ca, cb in pairs:
            for c, lam, which in ((ca, 1.0, "η_A"), (cb, lr_ratio, "η_B")):
                k = float(Fraction(c) - fe)
                for n, ln in logs.items():
                    for le in (lo_e, hi_e):
                        v = le + math.log(lam) + k * ln
                        if not (LOG_MIN < v < LOG_MAX):
                            fail("lr_exponents", f"{c!r} with eps {e!r} makes the rate {which} = "
                                 f"eta0·(n/n0)^(c−ε) = e^{v:.4g} leave the float range at "
                                 f"width {n} (eta0 = {math.exp(le):g}, n0 = {n0})")


def eta_grid(g: Mapping[str, Any]) -> list[float]:
    """`eta0 = {from = lo, to = hi, per_octave = k}`: the log grid lo·2^(j/k) up to hi."""
    unknown = sorted(set(g) - {"from", "to", "per_octave"})
    if unknown:
        fail(f"eta0.{unknown[0]}", "unknown key (a grid has from, to, per_octave)")
    lo, hi, k = g.get("from"), g.get("to"), g.get("per_octave", 4)
    check_num("eta0.from", lo, gt=0)
    check_num("eta0.to", hi, gt=0)
    check_int("eta0.per_octave", k, 1)
    if lo > hi:
        fail("eta0", f"grid needs from <= to (got from = {lo:g}, to = {hi:g})")
    n = math.floor(k * (math.log2(hi) - math.log2(lo)) + 1e-9) + 1
    if n > MAX_GRID:
        fail("eta0", f"the grid from {lo:g} to {hi:g} at {k} per octave has {n} rates "
             f"(at most {MAX_GRID})")
    return [lo * 2.0 ** (j / k) for j in range(n)]


FIT_EXTRA = ("maxlr", "tau")


def check_fit(d: Any, label: Callable[[str], str] | None = None) -> None:
    """The `[fit]` table (FitOptions fields, `maxlr`, `tau`) or the CLI's overrides of it.

    `label(key)` names a key in messages (default: `spec field 'fit.KEY'`).  A percentile
    interval at level L needs at least 2/(1 − L) bootstrap draws so that each tail holds one."""
    from .fit import FitOptions
    name = label or (lambda k: f"spec field 'fit.{k}'")

    def bad(k: str, msg: str) -> None:
        raise SpecError(f"{name(k)}: {msg}")
    if not isinstance(d, dict):
        fail("fit", f"{d!r} is not a table")
    known = set(FitOptions.__dataclass_fields__) | set(FIT_EXTRA)
    for k in d:
        if k not in known:
            bad(k, f"unknown key (valid: {', '.join(sorted(known))})")
    v = d.get("level", FitOptions.level)
    if not (is_num(v) and 0 < v < 1):
        bad("level", f"{v!r} is not a number in (0, 1)")
    level = v
    if "n_boot" in d:
        need = math.ceil(2 / (1 - level) - 1e-9)
        if not (is_int(d["n_boot"]) and d["n_boot"] >= need):
            bad("n_boot", f"{d['n_boot']!r} is not an integer >= {need} (a {level:g} interval "
                f"needs 2/(1 − level) draws)")
    for k, lo in (("local_widths", 2), ("seed", 0), ("min_steps", 0)):
        if k in d and not (is_int(d[k]) and d[k] >= lo):
            bad(k, f"{d[k]!r} is not an integer >= {lo}")
    if "tolerance" in d and not (is_num(d["tolerance"]) and d["tolerance"] >= 0):
        bad("tolerance", f"{d['tolerance']!r} is not a finite number >= 0")
    if "tau" in d and not (is_num(d["tau"]) and d["tau"] > 0):
        bad("tau", f"{d['tau']!r} is not a finite number > 0")
    if "maxlr" in d and not isinstance(d["maxlr"], bool):
        bad("maxlr", f"{d['maxlr']!r} is not true or false")


def grid_size(axes: Iterable[int]) -> int:
    n = 1
    for a in axes:
        n *= a
    return n

