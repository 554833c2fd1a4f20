"""Init schemes as *entry scale + kind*, and the paper's convention derived from them.

docs/theory.md §1.6 "convention trap" and §5. A factor's initialisation is given by the exponent
of its typical entry (``A_0`` entries ``Θ(n^e)``) and a kind:

* ``random``  — i.i.d. zero-mean, independent of the data (Gaussian, Kaiming…);
* ``aligned`` — deterministic and correlated with the data direction (``A_0``'s rows with the
  input ``z``; ``B_0``'s columns with the backpropagated signal);
* ``zero``    — exactly zero (entry exponent ``−∞``).

Beyond Zero Init writes its conditions on "``γ[A_0]``" but means ``γ[A_0 z] − 1``;
:func:`paper_exponent` computes that from the typed contraction ``A_0 z`` instead of assuming it
(random Kaiming ``A_0``: entries ``n^{−1/2}``, ``A_0 z = Θ(1)`` by the CLT, paper
``γ[A_0] = −1``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .exponent import NEG_INF, ZERO, Exponent, ExponentError, Lin
from .quantity import Dim, Tensor

KINDS = ("random", "aligned", "zero")

WIDTH = Dim("n", True)
RANK = Dim("r", False)


class UnknownSchemeError(KeyError):
    """Unknown init-scheme name (one-line message listing the valid names)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


@dataclass(frozen=True)
class FactorInit:
    """Initialisation of one LoRA factor: entry exponent and kind."""

    entry: Exponent
    kind: str = "random"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ExponentError(f"unknown kind {self.kind!r} (expected one of {', '.join(KINDS)})")
        if self.kind == "zero" and not self.entry.is_neg_inf:
            raise ExponentError("a zero factor has entry exponent -oo")
        if self.entry.is_neg_inf and self.kind != "zero":
            object.__setattr__(self, "kind", "zero")

    @classmethod
    def parse(cls, entry: str | Exponent, kind: str = "random") -> FactorInit:
        e = Exponent.parse(entry)
        return cls(e, "zero" if e.is_neg_inf else kind)

    @property
    def is_zero(self) -> bool:
        return self.kind == "zero"

    def tensor(self, name: str, dims: tuple[Dim, ...], data_tags: tuple) -> Tensor:
        """The typed initial tensor; ``data_tags`` give the directions of an aligned factor."""
        if self.kind == "zero":
            return Tensor.zero(dims)
        if self.kind == "random":
            return Tensor.random(name, dims, self.entry)
        return Tensor.aligned(dims, self.entry, data_tags)

    def __str__(self) -> str:
        return "0" if self.is_zero else f"{self.kind}, entries n^({self.entry})"


def _z() -> Tensor:
    return Tensor.aligned((WIDTH,), ZERO, ("z",))


def product_exponent(A0: FactorInit) -> Exponent:
    """``γ[A_0 z]`` for an input ``z`` with ``Θ(1)`` entries (the ``a`` of docs/theory.md §1.6)."""
    return (A0.tensor("A0", (RANK, WIDTH), (None, "z")) @ _z()).exponent


def paper_exponent(factor: FactorInit, which: str) -> Exponent:
    """Beyond Zero Init's ``γ[A_0]`` (``= γ[A_0 z] − 1``) or ``γ[B_0]`` (the entry exponent:
    ``B Z_A`` sums over the fixed rank)."""
    if which == "B":
        return factor.entry
    return NEG_INF if factor.is_zero else product_exponent(factor) - 1


def paper_offset(kind: str = "random") -> Lin:
    """``entry − paper`` for ``A_0`` of the given kind, from the typed contraction (``1/2`` for
    random, ``0`` for aligned)."""
    e = Exponent.var("__e")
    p = paper_exponent(FactorInit(e, kind), "A")
    diff = e - p.terms[0]
    return diff.terms[0]


@dataclass(frozen=True)
class Scheme:
    """A named init scheme: the one table every package reads (``toy_models.inits`` draws the
    factors; figures take legends from ``paper_name``).

    ``A``/``B``: entry exponent and kind at width ``n`` for a square ``n × n`` layer with a
    Kaiming ``W`` and fixed rank (docs/theory.md §5); ``subtract``: the scheme rewrites
    ``W ← W − s·B₀A₀`` so the model starts from ``W``; ``paper_name``: the display name;
    ``aliases``: other names the papers use for it (accepted wherever a scheme is named)."""

    name: str
    A: FactorInit
    B: FactorInit
    subtract: bool
    paper_name: str
    description: str
    cancel_init_product: bool = False  # B_0 A_0 = 0 exactly although neither factor is zero
    aliases: tuple[str, ...] = ()

    @property
    def display(self) -> str:
        return self.paper_name

    def asymptotics(self) -> dict[str, tuple[str, str]]:
        """``{"A": (entry exponent string, kind), "B": (...)}``."""
        return {k: (str(f.entry), f.kind) for k, f in (("A", self.A), ("B", self.B))}


def _f(entry: str, kind: str = "random") -> FactorInit:
    return FactorInit.parse(entry, kind)


_SCHEMES = (
    Scheme("A", _f("-1/2"), _f("-oo"), False, "Init[A]",
           "A_0 Kaiming (entries n^-1/2), B_0 = 0 — standard LoRA, 'Noise & Zeros'",
           aliases=("Standard", "Noise & Zeros")),
    Scheme("B", _f("-oo"), _f("0"), False, "Init[B]",
           "A_0 = 0, B_0 Kaiming with fan-in r (entries Θ(1)) — 'reversed'",
           aliases=("Reversed",)),
    Scheme("AB", _f("0"), _f("-1/2"), True, "Init[AB]",
           "Theorem 1's robust point for equal rates: A_0 entries Θ(1), B_0 entries n^-1/2"),
    Scheme("AB-practical", _f("-1/2"), _f("-1/2"), True, "Init[AB] (practical)",
           "both Kaiming-sized, σ_A = σ_B = n^-1/2, B_0A_0 subtracted from W"),
    Scheme("AB+", _f("-1/2"), _f("-1/2"), False, "Init[AB+]",
           "as AB-practical, B_0A_0 left in W"),
    Scheme("zero", _f("-oo"), _f("-oo"), False, "Zero", "A_0 = B_0 = 0 (nothing trains)"),
    # entry exponents for a square n × n layer with a Kaiming W, fixed rank
    Scheme("ortho-eye-const", _f("0"), _f("0"), False, "Ortho-Eye (const)",
           "rows of I_r split between A and B, Gaussian-weighted, x1/10: BA = 0", True,
           aliases=("Ortho (Eye)", "Orthogonal Eye")),
    Scheme("ortho-eye-match", _f("-1/2"), _f("0"), False, "Ortho-Eye (match)",
           "as ortho-eye, Kaiming-matched (1/sqrt(in) for A, 1/sqrt(r) for B): BA = 0", True),
    Scheme("ortho-qr-const", _f("0"), _f("0"), False, "Ortho-QR (const)",
           "rows of a random orthogonal Q split between A and B, x1/10: BA = 0", True,
           aliases=("Ortho QR (Const)",)),
    Scheme("ortho-qr-match", _f("-1/2"), _f("0"), False, "Ortho-QR (match)",
           "as ortho-qr, Kaiming-matched: BA = 0", True, aliases=("Ortho QR (Match)",)),
    Scheme("loram", _f("-1/4"), _f("-1/4"), True, "LoRAM",
           "DST bases times β ~ (Q n / r)^(1/4): entries n^-1/4 up to a log factor (LoRAM Eq. 11)"),
    Scheme("pissa", _f("-1/2", "aligned"), _f("-1/2", "aligned"), True, "PiSSA",
           "top-r singular triplets of W, sqrt(S) split (entries n^-1/2 on a Kaiming W)"),
    Scheme("milora", _f("-1", "aligned"), _f("-1", "aligned"), True, "MiLoRA",
           "bottom-r singular triplets (singular values ~ n^-1/2 at the spectrum's edge)"),
    Scheme("olora", _f("-1/2", "aligned"), _f("-1/2", "aligned"), True, "OLoRA",
           "QR of W: A = R[:r], B = Q[:, :r]"),
    Scheme("inilora", _f("-1/2", "aligned"), _f("-1/2", "aligned"), True, "IniLoRA",
           "B_0 A_0 fitted to W by Adam, frozen residual"),
    # IniLoRA's variants keep its frozen residual R = W − B₀A₀ (its "Iter = 0" start, Table 7,
    # with another σ): the model starts from W (docs/theory.md §6.3)
    Scheme("inilora-alpha", _f("0"), _f("0"), True, "IniLoRA-α",
           "N(0, 0.5²) for both factors, B_0A_0 subtracted from W"),
    Scheme("inilora-beta", _f("-1/2"), _f("0"), True, "IniLoRA-β",
           "Kaiming for both factors, B_0A_0 subtracted from W"),
    Scheme("inilora-alpha-kept", _f("0"), _f("0"), False, "IniLoRA-α (W kept)",
           "N(0, 0.5²) for both factors, W kept: the reading with no residual"),
    # LoRAM's ablations (§4.3) and the magnitude-matched control (docs/theory.md §4, §6.4)
    Scheme("loram-orth", _f("-1/4"), _f("-1/4"), True, "LoRAM (random orth.)",
           "LoRAM's β times Haar-random orthonormal bases instead of the DST"),
    Scheme("loram-pissa", _f("-1/2"), _f("-1/2"), True, "LoRAM (tracking PiSSA)",
           "DST bases, β with PiSSA's k_1: β² = mean top-r singular value (tracking mode)"),
    Scheme("loram-milora", _f("-1"), _f("-1"), True, "LoRAM (tracking MiLoRA)",
           "DST bases, β with MiLoRA's k_1: β² = mean bottom-r singular value"),
    Scheme("A-match-pissa", _f("-1/2"), _f("-oo"), False, "Noise & Zeros (PiSSA's k₁)",
           "Noise & Zeros with ν[A_0] set so that k_1 = r m ν[A_0]² equals PiSSA's"),
    Scheme("kaiming", _f("-1/2"), _f("0"), False, "Kaiming A, B (peft False)",
           "A ~ N(0, 1/in), B ~ N(0, 1/r): both factors at nn.Linear's Kaiming scale, W kept — "
           "peft's init_lora_weights=False (its uniform draws have a third of this variance)"),
    Scheme("gaussian", _f("0"), _f("-oo"), False, "Gaussian A (peft)",
           "A ~ N(0, 1/r²), B = 0 — peft's init_lora_weights='gaussian': A's entries are Θ(1) "
           "(1/r does not shrink with width), unlike Kaiming's n^-1/2"),
)
SCHEMES: dict[str, Scheme] = {s.name: s for s in _SCHEMES}
# the legend names; modifiers (not inits) appear in legends too
DISPLAY_NAMES: dict[str, str] = {s.name: s.paper_name for s in _SCHEMES} | {
    "rslora": "rsLoRA", "loraplus": "LoRA+"}
# every name a paper uses for a scheme, display name first
PAPER_NAMES: dict[str, tuple[str, ...]] = {s.name: (s.paper_name, *s.aliases) for s in _SCHEMES}
_ALIASES: dict[str, str] = {a.lower(): n for n, names in PAPER_NAMES.items() for a in names}
# Hugging Face peft's `LoraConfig(init_lora_weights=...)` values that draw a registry scheme
# (docs/theory.md §5; peft/tuners/lora/layer.py).  `gaussian`, `pissa`, `olora` are names of their
# own; `pissa_niter_<k>` (randomised SVD) is PiSSA.  Python's True/False are spelled "True"/"False".
PEFT_ALIASES: dict[str, str] = {
    "true": "A",                  # A ~ Kaiming-uniform(a=√5) = U(±1/√in), B = 0
    "false": "kaiming",           # no LoRA init: nn.Linear defaults A ~ U(±1/√in), B ~ U(±1/√r)
    "orthogonal": "ortho-qr-const",   # QR of randn(r, r), rows split, Gaussians × 1/10: BA = 0
}
# peft values whose factors come from data, gradients or a quantiser: no draw from W alone
# (their exponents are in gamma_calc.peft and `gamma-solve table --peft`)
PEFT_UNDRAWN = ("eva", "corda", "loftq", "lora_ga", "mica")
PEFT_VALUES = ("True", "False", "gaussian", "orthogonal", "pissa", "pissa_niter_<k>", "olora",
               *PEFT_UNDRAWN)
_ALIASES.update(PEFT_ALIASES)
MODIFIERS: dict[str, str] = {"rslora": "scale s = α/√r instead of α/r (Kalajdzievski 2023)",
                             "loraplus": "rate ratio λ = η_B/η_A (LoRA+, Hayou et al. 2024)"}


def canonical_scheme(name: str | bool) -> str:
    """A scheme's name from its name, any paper's name for it, or peft's `init_lora_weights`
    value (case-insensitive; True/False accepted)."""
    if isinstance(name, str) and name in SCHEMES:
        return name
    low = str(name).lower()
    key = _ALIASES.get(low)
    if key is None and re.fullmatch(r"pissa_niter_\d+", low):
        key = "pissa"
    if key is None and low in PEFT_UNDRAWN:
        raise UnknownSchemeError(
            f"init scheme {name!r}: peft's init_lora_weights={low!r} builds its factors from data, "
            "gradients or a quantiser, not from W alone; its entry exponents are listed by "
            "`gamma-solve table --peft` (use --a-entry/--b-entry with those)")
    if key is None:
        raise UnknownSchemeError(f"unknown init scheme {name!r}; valid: {', '.join(SCHEMES)}, "
                                 f"or peft's init_lora_weights values "
                                 f"({', '.join(PEFT_VALUES)})")
    return key


def get_scheme(name: str | bool) -> Scheme:
    """The scheme of that name (or of a paper's name for it)."""
    return SCHEMES[canonical_scheme(name)]
