"""Predictions from `gamma_calc` for a sweep config — the one place that calls it.

`predict(...)` returns, per (quantity, step), the exact-rational exponent string of the RMS entry
(INTERFACES: keys Z_A, dZ_A, Z_B, delta1..3, A, B).  The sweep adds: `nu_A = 2·γ[A]`, `nu_B = 2·γ[B]`
(mean squares), and `dZ_B = max(δ¹, δ², δ³)` (the γ-sum rule, THEORY §1).  Quantities without a
prediction map to None.  Tests inject a `PredictFn` instead of importing gamma_calc.
"""
from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

from gamma_calc.vocab import NEG_INF_TEXT, PREDICTED, exponent_double, exponent_max

Exp = str | None
PredictFn = Callable[..., dict[tuple[str, int], Exp]]


class PredictionUnavailable(RuntimeError):
    """gamma_calc cannot be imported or cannot predict this config."""


def to_frac(e: Exp) -> Fraction | None:
    """Exact rational of a finite exponent string; None for "-oo" and undefined."""
    if e is None or e == NEG_INF_TEXT:
        return None
    return Fraction(e)


def expand(exponents: dict[str, list[Exp]], steps: int) -> dict[tuple[str, int], Exp]:
    """gamma_calc's per-key lists → the sweep's (quantity, step) map."""
    out: dict[tuple[str, int], Exp] = {}
    for t in range(steps + 1):
        def get(k: str, t: int = t) -> Exp:
            return exponents[k][t] if k in exponents and t < len(exponents[k]) else None
        for q in PREDICTED:
            out[(q, t)] = get(q)
        out[("nu_A", t)] = exponent_double(get("A"))
        out[("nu_B", t)] = exponent_double(get("B"))
        out[("dZ_B", t)] = (exponent_max(get("delta1"), get("delta2"), get("delta3"))
                            if t else None)
    return out


def gamma_calc_predict(*, optimizer: str, scheme: str, lr_exponent: str, lr_exponent_b: str,
                       eps: str, steps: int) -> dict[tuple[str, int], Exp]:
    """Call `gamma_calc.api.predict` for a named scheme (INTERFACES)."""
    try:
        from gamma_calc.api import predict
    except ImportError as exc:
        raise PredictionUnavailable(f"gamma_calc.api is not available ({exc})") from None
    lr_b = None if lr_exponent_b == lr_exponent else lr_exponent_b
    try:
        p = predict(optimizer=optimizer, scheme=scheme, lr_a=lr_exponent, lr_b=lr_b, eps=eps,
                    steps=steps)
    except (KeyError, ValueError, NotImplementedError) as exc:
        raise PredictionUnavailable(f"gamma_calc cannot predict {scheme}: {exc}") from None
    return expand(p.exponents, steps)


def gamma_calc_max_lr(optimizer: str, scheme: str) -> Exp:
    """`gamma_calc.api.max_lr` (largest stable equal-rate exponent), or None if unavailable."""
    try:
        from gamma_calc.api import max_lr
    except ImportError:
        return None
    try:
        return str(max_lr(optimizer, scheme))
    except Exception:  # noqa: BLE001 — an unpredictable config is reported as "n/a"
        return None


def table_predict(path: str) -> PredictFn:
    """Predictions from a JSON file (hand derivations, or before gamma_calc lands): a list of
    {scheme, lr_exponent, quantity, step, predicted} with optional optimizer ("adam"),
    lr_exponent_b (= lr_exponent) and eps ("0")."""
    import json
    from pathlib import Path
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"predictions: no such file {path!r}")
    try:
        rows = json.loads(p.read_text())
        table: dict[tuple, dict[tuple[str, int], Exp]] = {}
        for r in rows:
            key = (r.get("optimizer", "adam"), r["scheme"], str(r["lr_exponent"]),
                   str(r.get("lr_exponent_b", r["lr_exponent"])), str(r.get("eps", "0")))
            table.setdefault(key, {})[(r["quantity"], int(r["step"]))] = str(r["predicted"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"predictions: {p.name} is not a list of prediction rows ({exc})") from None

    def fn(*, optimizer: str, scheme: str, lr_exponent: str, lr_exponent_b: str, eps: str,
           steps: int) -> dict[tuple[str, int], Exp]:
        return table.get((optimizer, scheme, lr_exponent, lr_exponent_b, eps), {})
    return fn
