"""gammakit's one vocabulary: model, quantity and optimizer names, and exponents as text.

Every package imports these names from here (scheme names, their display names, paper and
peft aliases, entry exponents and kinds live beside their mathematics in
:mod:`gamma_calc.schemes`).  Pure Python: importing it never imports torch.

Exponents cross package boundaries (JSON, Parquet, command lines) as exact-rational strings —
``"-1/2"``, ``"0"``, ``"-oo"`` — and are :class:`gamma_calc.exponent.Exponent` inside gamma_calc.
``"-oo"`` (``γ[0] = −∞``, an exact zero, docs/theory.md §1) is the only spelling of minus
infinity; its numeric value is ``float("-inf")``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from .exponent import NEG_INF_VALUE, Exponent, ExponentError

__all__ = [
    "MODELS",
    "MODEL_ALIASES",
    "NEG_INF_TEXT",
    "OPTIMIZERS",
    "PREDICTED",
    "PROBES",
    "QUANTITIES",
    "Quantity",
    "canonical_model",
    "exponent_double",
    "exponent_max",
    "exponent_text",
    "exponent_value",
    "label",
]

NEG_INF_TEXT = "-oo"
OPTIMIZERS = ("adam", "sgd")

# ---- models --------------------------------------------------------------------------------

MODELS: dict[str, str] = {
    "theory-layer": "one LoRA layer on fixed data points with a Kaiming W (docs/theory.md §8)",
    "toy": "the MNIST → Fashion-MNIST toy, pretrained on MNIST (Beyond Zero Init, §3.4)",
    "toy-mup": "the same toy pretrained in μP (docs/theory.md §7–8)",
    "toy-init": "the toy at its Kaiming init, not pretrained (a control)",
    "mlp5": "LoRAM's 5-layer LoRA MLP on teacher–student regression",
    "transformer": "a small GPT-style transformer with peft LoRA adapters",
    "custom": "a user's nn.Module with LoRA adapters",
}
# older spellings still accepted in sweep specs
MODEL_ALIASES: dict[str, str] = {"lora-layer": "theory-layer"}


def canonical_model(name: str) -> str:
    """The vocabulary's name for a model (aliases resolved; unknown names returned as given)."""
    return MODEL_ALIASES.get(name, name)


# ---- quantities ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Quantity:
    """A measured quantity: its key (tables, CLI), math label (plots) and definition."""

    key: str
    label: str
    definition: str


_Q = (
    Quantity("Z_A", "Z_A", "RMS entry of A_t z_t (docs/theory.md §2)"),
    Quantity("dZ_A", "(A−A₀)z", "RMS entry of (A_t − A₀) z_t, Z_A's update part"),
    Quantity("Z_B", "Z_B", "RMS entry of s·B_t A_t z_t"),
    Quantity("delta1", "δ¹", "RMS entry of s·B_{t−1} ΔA_t z_{t−1}"),
    Quantity("delta2", "δ²", "RMS entry of s·ΔB_t A_{t−1} z_{t−1}"),
    Quantity("delta3", "δ³", "RMS entry of s·ΔB_t ΔA_t z_{t−1}"),
    Quantity("dZ_B", "ΔZ_B", "RMS entry of δ¹ + δ² + δ³, the step's feature update"),
    Quantity("z", "A₀z", "RMS entry of A₀ z at t = 0: the premise that the adapter's input z "
             "has Θ(1) entries (docs/theory.md §2.1), measured by coord_check"),
    Quantity("A", "A", "RMS entry of A_t"),
    Quantity("B", "B", "RMS entry of B_t"),
    Quantity("nu_A", "ν[A]", "mean square entry of A_t"),
    Quantity("nu_B", "ν[B]", "mean square entry of B_t"),
    Quantity("nu_W", "ν[W_LoRA]", "mean square entry of s(B_t A_t − B₀A₀) (docs/theory.md §4)"),
    Quantity("grad_nu", "ν[G]", "mean square entry of the layer's weight gradient dZ̄ᵀz"),
    Quantity("loss", "loss", "training loss on the probe batch"),
    Quantity("test_loss", "test loss", "loss on the held-out set after the last step"),
    Quantity("test_acc", "test accuracy", "accuracy on the held-out set after the last step"),
)
QUANTITIES: dict[str, Quantity] = {q.key: q for q in _Q}
# predicted by gamma_calc for every step (the γ-recursion's outputs)
PREDICTED = ("Z_A", "dZ_A", "Z_B", "delta1", "delta2", "delta3")
# the unrolled recursion's state: the predicted probes and the factors' entries (§2.3)
UNROLLED = PREDICTED + ("A", "B")
# the probes the conditions of docs/theory.md §2.5 speak about (tables and reports show these)
CORE = ("Z_A", "Z_B", "delta1", "delta2", "delta3")
# recorded by the sweep engine and the reference loop at every probed step, in this order
PROBES = ("Z_A", "dZ_A", "Z_B", "delta1", "delta2", "delta3", "dZ_B", "nu_A", "nu_B", "nu_W",
          "grad_nu", "loss")


def label(key: str) -> str:
    """The math label of a quantity key (the key itself when unknown)."""
    q = QUANTITIES.get(key)
    return q.label if q else key


# ---- exponents as text ---------------------------------------------------------------------

def exponent_text(x: Exponent | Fraction | int | str) -> str:
    """The canonical string of a constant exponent: ``"-1/2"``, ``"0"``, ``"-oo"``."""
    e = x if isinstance(x, Exponent) else Exponent.parse(x if isinstance(x, str) else str(x))
    if not e.is_const():
        raise ExponentError(f"not a constant exponent: {e}")
    return str(e)


def exponent_value(text: str | None) -> float:
    """The float value of an exponent string (``"-oo"`` → −inf; ``None`` → NaN)."""
    if text is None:
        return math.nan
    v = Exponent.parse(text).value()
    return NEG_INF_VALUE if v == NEG_INF_VALUE else float(v)


def exponent_double(text: str | None) -> str | None:
    """``2·γ`` (the exponent of a mean square from that of an RMS); None stays None."""
    return None if text is None else str(Exponent.parse(text).scale(2))


def exponent_max(*texts: str | None) -> str | None:
    """γ of a sum, the max (``"-oo"`` is neutral); any None (undefined) gives None."""
    if any(t is None for t in texts):
        return None
    return str(Exponent.max(*(Exponent.parse(t) for t in texts if t is not None)))
