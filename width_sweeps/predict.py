"""Predictions from `gamma_calc` for a sweep config — the one place that calls it.

`predict(...)` returns, per (quantity, step), the exact-rational exponent string of the RMS entry
(INTERFACES: keys Z_A, dZ_A, Z_B, delta1..3, A, B).  The sweep adds: `nu_A = 2·γ[A]`, `nu_B = 2·γ[B]`
(mean squares), and `dZ_B = max(δ¹, δ², δ³)` (the γ-sum rule, docs/theory.md §1).  Quantities
without a prediction map to None.  Tests inject a `PredictFn` instead of importing gamma_calc.

Predictions use the model's geometry (docs/theory.md §3.3): whether the probed layer's output
dimension grows with the width (`out_width`) and the exponent `grad = γ[dZ̄]` of the
backpropagated signal at its output.  SGD's recursions depend on both (Beyond Zero Init, App. C:
its scalar-output model is `out_width = False`); Adam's do not, except through exact zeros.
Each built-in model declares its geometry in :data:`GEOMETRY`; a sweep of another model gets
SGD predictions only when its spec's `model_options` give `out_width` and `grad_exponent`.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from gamma_calc.vocab import (
    NEG_INF_TEXT,
    PREDICTED,
    canonical_model,
    exponent_double,
    exponent_max,
)

Exp = str | None
PredictFn = Callable[..., dict[tuple[str, int], Exp]]


class PredictionUnavailable(RuntimeError):
    """gamma_calc cannot be imported or cannot predict this config."""


@dataclass(frozen=True)
class Geometry:
    """What the predictions need to know about a model's probed layer (docs/theory.md §3.3).

    out_width: the layer's output dimension is the width n (B: n × r), not a constant;
    grad: γ[dZ̄], the exponent of the RMS entry of the loss gradient at the layer's output."""
    out_width: bool
    grad: str
    why: str = ""


GEOMETRY: dict[str, Geometry] = {
    "theory-layer": Geometry(True, "0", "n × n layer; L = ½Σ(Z̄ − y)² summed over the n outputs, "
                             "so dZ̄ = Z̄ − y has Θ(1) entries"),
    "toy": Geometry(True, "-1/2", "n × n hidden layer; dZ̄ = ReLU′ ⊙ W_outᵀ g with a 10 × n "
                    "readout of variance 1/n and Θ(1) logit gradients g"),
    "toy-init": Geometry(True, "-1/2", "as the toy"),
    "toy-mup": Geometry(True, "-1", "n × n hidden layer; dZ̄ = ReLU′ ⊙ W_outᵀ g with a μP "
                        "readout (init variance n₀/n², Adam updates Θ(1/n)) and Θ(1) logit "
                        "gradients g"),
    "mlp5": Geometry(True, "-1/2", "n × n middle layer; the signal comes back through an "
                     "n × n Kaiming layer and a 10 × n readout of variance 1/n"),
}
ADAM_DEFAULT = Geometry(True, "0", "Adam's recursions do not depend on the geometry")


def geometry(model: str, optimizer: str, options: dict[str, Any] | None = None) -> Geometry:
    """The model's geometry: spec `model_options` (`out_width`, `grad_exponent`) override the
    built-in declaration; an undeclared model gets Adam's default, and no SGD prediction."""
    opts = options or {}
    if "out_width" in opts and "grad_exponent" in opts:
        return Geometry(bool(opts["out_width"]), str(opts["grad_exponent"]), "model_options")
    g = GEOMETRY.get(canonical_model(model))
    if g is not None:
        return g
    if optimizer == "sgd":
        raise PredictionUnavailable(
            f"model {model!r} declares no geometry (out_width, grad_exponent in model_options);"
            " SGD predictions need it")
    return ADAM_DEFAULT


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
                       eps: str, steps: int, model: str = "theory-layer",
                       model_options: dict[str, Any] | None = None
                       ) -> dict[tuple[str, int], Exp]:
    """Call `gamma_calc.api.predict` for a named scheme with the model's geometry."""
    try:
        from gamma_calc.api import predict
    except ImportError as exc:
        raise PredictionUnavailable(f"gamma_calc.api is not available ({exc})") from None
    geo = geometry(model, optimizer, model_options)
    lr_b = None if lr_exponent_b == lr_exponent else lr_exponent_b
    try:
        p = predict(optimizer=optimizer, scheme=scheme, lr_a=lr_exponent, lr_b=lr_b, eps=eps,
                    steps=steps, out_width=geo.out_width, grad=geo.grad)
    except (KeyError, ValueError, NotImplementedError) as exc:
        raise PredictionUnavailable(f"gamma_calc cannot predict {scheme}: {exc}") from None
    return expand(p.exponents, steps)


def gamma_calc_max_lr(optimizer: str, scheme: str, model: str = "theory-layer") -> Exp:
    """`gamma_calc.api.max_lr` (largest stable equal-rate exponent) with the model's geometry,
    or None if unavailable."""
    try:
        from gamma_calc.api import max_lr
    except ImportError:
        return None
    try:
        geo = geometry(model, optimizer)
        return str(max_lr(optimizer, scheme, out_width=geo.out_width, grad=geo.grad))
    except Exception:  # noqa: BLE001 — an unpredictable config is reported as "n/a"
        return None


def table_predict(path: str) -> PredictFn:
    """Predictions from a JSON file (hand derivations, or a model gamma_calc does not cover): a
    list of {scheme, lr_exponent, quantity, step, predicted} with optional optimizer ("adam"),
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
           steps: int, **_: Any) -> dict[tuple[str, int], Exp]:
        return table.get((optimizer, scheme, lr_exponent, lr_exponent_b, eps), {})
    return fn


def attach_predictions(fits: Any, predict_fn: PredictFn = gamma_calc_predict,
                       model_options: dict[str, Any] | None = None) -> tuple[Any, list[str]]:
    """Add `predicted` (exponent string or None) to a fits table; returns the notes on
    unavailable predictions.  The model's geometry travels with each call."""
    cache: dict[tuple, Any] = {}
    notes: list[str] = []
    preds = []
    steps = int(fits.step.max()) if len(fits) else 0
    for row in fits.itertuples(index=False):
        key = (row.model, row.optimizer, row.scheme, row.lr_exponent, row.lr_exponent_b, row.eps)
        if key not in cache:
            try:
                cache[key] = predict_fn(optimizer=row.optimizer, scheme=row.scheme,
                                        lr_exponent=row.lr_exponent,
                                        lr_exponent_b=row.lr_exponent_b, eps=row.eps,
                                        steps=steps, model=str(row.model),
                                        model_options=model_options)
            except PredictionUnavailable as exc:
                cache[key] = {}
                notes.append(str(exc))
        preds.append(cache[key].get((row.quantity, int(row.step))))
    out = fits.copy()
    out["predicted"] = preds
    return out, sorted(set(notes))
