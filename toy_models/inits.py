"""The init-scheme registry: every LoRA init the seeds name, behind one signature.

    scheme = get_init("AB")
    ini = scheme.init(W, r, generator=g, init_scale=1.0, runs=None, alpha=None, rslora=False)
    ini.A (r × in | runs × r × in), ini.B (out × r | runs × out × r), ini.W_residual, ini.scale

Conventions (INTERFACES.md, docs/theory.md §1, §5): W is out × in; "Kaiming" for a LoRA factor means
N(0, 1/fan_in) (fan-in `in` for A, `r` for B); `init_scale` β multiplies the *variance* of every
random factor (Beyond Zero Init D.2: "β × Kaiming"); the subtracting schemes use the scaled product,
W_residual = W − s·B₀A₀, so the model starts from W exactly.  All draws are made in float64
from the given generator on its device, then cast to W's dtype/device — so a seed gives the
same init on every device and dtype (up to rounding).

`asymptotics()` gives, per factor, the *entry* exponent in n for a square n × n layer with a
Kaiming W (entries N(0, 1/n)) and fixed r, as an exact-rational string, and the factor's kind
for the contraction rule: "random" (zero-mean, incoherent with the data: CLT +1/2), "aligned"
(built from W's spectrum or QR: +1), "zero".  This is the entry exponent, NOT Beyond Zero Init's
γ[A₀] (which is γ[A₀ z] − 1: Kaiming A is entry −1/2 here, "−1" in the paper).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from gamma_calc import schemes as gamma_schemes
from gamma_calc.schemes import DISPLAY_NAMES, MODIFIERS, PAPER_NAMES, UnknownSchemeError

from . import inits_spectral as spec
from .lora import lora_scale

__all__ = [
    "DISPLAY_NAMES",
    "MODIFIERS",
    "PAPER_NAMES",
    "InitScheme",
    "LoRAInit",
    "Modifiers",
    "UnknownSchemeError",
    "get_init",
    "inilora_checkpoint",
    "parse_modifiers",
    "scheme_names",
]

Draw = Callable[[Tensor, int, torch.Generator, float], tuple[Tensor, Tensor]]


@dataclass(frozen=True)
class LoRAInit:
    """Initial LoRA factors.  `subtract`: the scheme replaces W by W − s·B₀A₀."""

    A: Tensor
    B: Tensor
    scale: float
    W: Tensor
    subtract: bool

    @property
    def W_residual(self) -> Tensor | None:
        """W − s·B₀A₀ (runs × out × in when A has a run dim), or None when W is kept.
        Materialised on demand: models subtract the low-rank product instead (lora.py)."""
        if not self.subtract:
            return None
        return self.W - self.scale * (self.B @ self.A)

    def offsets(self) -> dict[str, Tensor]:
        """Frozen per-run factors to subtract in the forward ({} when W is kept)."""
        return {"A0": self.A.clone(), "B0": self.B.clone()} if self.subtract else {}


@dataclass(frozen=True)
class InitScheme:
    """One registry entry; `draw(W64, r, generator, β)` returns one run's (A, B) in float64."""

    name: str
    summary: str
    draw: Draw
    from_weight: bool = False   # factors computed from W: `init_scale` does not apply
    random: bool = True         # uses the generator
    even_rank: bool = False
    # `bind(W64, r)` → the per-run draw for this W, computed once per `init` call (statistics
    # of W, e.g. a target magnitude from its spectrum, shared by every run); None: `draw`.
    bind: Callable[[Tensor, int], Draw] | None = None

    @property
    def shape_only(self) -> bool:
        """The draw reads only W's shape (Gaussian and orthogonal schemes), not its values."""
        return getattr(self.draw, "shape_only", False)

    @property
    def display(self) -> str:
        return DISPLAY_NAMES[self.name]

    @property
    def subtract(self) -> bool:
        """The scheme rewrites W ← W − s·B₀A₀ (the vocabulary's table)."""
        return gamma_schemes.get_scheme(self.name).subtract

    def asymptotics(self) -> dict[str, tuple[str, str]]:
        """{"A": (entry exponent, kind), "B": (...)} for a square n × n Kaiming W, fixed r:
        the vocabulary's table (gamma_calc.schemes), which the asymptotics tests measure."""
        return gamma_schemes.get_scheme(self.name).asymptotics()

    def init(self, W: Tensor, r: int, *, generator: torch.Generator | Sequence[torch.Generator],
             init_scale: float = 1.0, runs: int | None = None, alpha: float | None = None,
             rslora: bool = False) -> LoRAInit:
        """Draw the factors (a leading run dim when `runs` is given).  `generator` may be one
        generator (runs drawn one after another) or one per run: run k is then exactly the
        single-run init with generator k."""
        self._check(W, r, init_scale)
        # Draws read W's values only for the schemes built from W; the Gaussian and orthogonal
        # ones see a free stride-0 float64 stand-in of W's shape (no n × n float64 copy).
        W64 = (torch.zeros((), dtype=torch.float64, device=W.device).expand(W.shape)
               if self.shape_only else W.detach().to(torch.float64))
        gens = _generators(generator, runs)
        draw = self.bind(W64, r) if self.bind is not None else self.draw
        if runs is None:
            A, B = draw(W64, r, gens[0], init_scale)
            A = A.to(dtype=W.dtype, device=W.device).contiguous()
            B = B.to(dtype=W.dtype, device=W.device).contiguous()
        else:       # each run's float64 draw cast straight into its slot (no float64 stack)
            out_f, in_f = W.shape
            A = torch.empty((len(gens), r, in_f), dtype=W.dtype, device=W.device)
            B = torch.empty((len(gens), out_f, r), dtype=W.dtype, device=W.device)
            pair = None
            seen: dict[bytes, tuple[tuple[Tensor, Tensor], Tensor]] = {}
            for k, g in enumerate(gens):
                if self.random:       # runs whose generators start in the same state (same
                    key = bytes(g.get_state().numpy())      # seed) get the same draw: reused,
                    if key in seen:                         # their generator advanced as if
                        pair, after = seen[key]             # it had drawn
                        g.set_state(after)
                    else:
                        pair = draw(W64, r, g, init_scale)
                        seen[key] = (pair, g.get_state())
                elif pair is None:    # deterministic: computed once, copied
                    pair = draw(W64, r, g, init_scale)
                A[k].copy_(pair[0])
                B[k].copy_(pair[1])
        return LoRAInit(A, B, lora_scale(r, alpha, rslora), W.detach(), self.subtract)

    def _check(self, W: Tensor, r: int, init_scale: float) -> None:
        if W.dim() != 2:
            raise ValueError(f"W must be out × in (2-D), got shape {tuple(W.shape)}")
        if not 1 <= r <= min(W.shape):
            raise ValueError(f"rank r={r} must be in [1, min(out, in) = {min(W.shape)}]")
        if self.even_rank and r % 2:
            raise ValueError(f"scheme {self.name!r} needs an even rank (A and B take "
                             f"alternate rows of an r × r orthogonal Q), got r={r}")
        if init_scale < 0:
            raise ValueError(f"init_scale is a variance multiplier ≥ 0, got {init_scale}")
        if self.from_weight and init_scale != 1.0:
            raise ValueError(f"init_scale does not apply to {self.name!r}: its factors are "
                             f"computed from W (got init_scale={init_scale})")


def _generators(generator, runs: int | None) -> list[torch.Generator]:
    if isinstance(generator, torch.Generator):
        return [generator] * (1 if runs is None else runs)
    gens = list(generator)
    if len(gens) != (1 if runs is None else runs):
        raise ValueError(f"got {len(gens)} generators for runs={runs}")
    return gens


# ---- draws (float64, one run) ----------------------------------------------------------

def _randn(shape: tuple[int, ...], g: torch.Generator, std: float) -> Tensor:
    return torch.randn(shape, generator=g, dtype=torch.float64, device=g.device).mul_(std)


def _gauss(sa: Callable[[int, int, int], float], sb: Callable[[int, int, int], float]) -> Draw:
    """A ~ N(0, β sa²), B ~ N(0, β sb²), A drawn first; a std of 0 gives exact zeros."""
    def draw(W: Tensor, r: int, g: torch.Generator, beta: float) -> tuple[Tensor, Tensor]:
        out, inp = W.shape
        root = math.sqrt(beta)
        std_a, std_b = sa(out, inp, r), sb(out, inp, r)
        A = (_randn((r, inp), g, root * std_a).to(W.device) if std_a
             else W.new_zeros(r, inp))
        B = (_randn((out, r), g, root * std_b).to(W.device) if std_b
             else W.new_zeros(out, r))
        return A, B
    draw.shape_only = True  # type: ignore[attr-defined]
    return draw


def _ortho(eye: bool, match: bool) -> Draw:
    """The A×0 ≠ 0×B blog / PEFT `orthogonal` (datta0): Q = I_r or QR of randn(r, r); A = (G_A
    Q[0::2])ᵀ, B = G_Bᵀ Q[1::2] with G_A: in × r/2, G_B: r/2 × out standard Gaussians, so
    B A = G_Bᵀ (Q[1::2] Q[0::2]ᵀ) G_A ᵀ = 0 exactly.  "const": both × 1/10 (PEFT);
    "match": A × √(1/in), B × √(1/r) (the Kaiming stds; since each factor gets half of Q's
    rows, its mean entry variance is half of Kaiming's: 1/(2 in), 1/(2 r))."""
    def draw(W: Tensor, r: int, g: torch.Generator, beta: float) -> tuple[Tensor, Tensor]:
        out, inp = W.shape
        Q = (torch.eye(r, dtype=torch.float64, device=g.device) if eye
             else torch.linalg.qr(_randn((r, r), g, 1.0))[0])
        ca, cb = (math.sqrt(1 / inp), math.sqrt(1 / r)) if match else (0.1, 0.1)
        root = math.sqrt(beta)
        A = (_randn((inp, r // 2), g, 1.0) @ Q[0::2]).T * (ca * root)
        B = (_randn((r // 2, out), g, 1.0).T @ Q[1::2]) * (cb * root)
        return A.to(W.device), B.to(W.device)
    draw.shape_only = True  # type: ignore[attr-defined]
    return draw


def _from_w(fn: Callable[[Tensor, int], tuple[Tensor, Tensor]], scaled: bool = False) -> Draw:
    def draw(W: Tensor, r: int, g: torch.Generator, beta: float) -> tuple[Tensor, Tensor]:
        A, B = fn(W, r)
        root = math.sqrt(beta) if scaled else 1.0
        return A * root, B * root
    return draw


def _inilora(W: Tensor, r: int, g: torch.Generator, beta: float, *,
             steps: int = spec.INILORA_STEPS) -> tuple[Tensor, Tensor]:
    """IniLoRA (Eq. 1–3; docs/theory.md §6.3): start N(0, σ̄²), σ̄ = std of W (one layer: its own std),
    then `steps` steps of the fit (checkpoints of the INILORA_STEPS-step schedule)."""
    sigma = float(W.std())
    out, inp = W.shape
    A0 = _randn((r, inp), g, sigma).to(W.device)
    B0 = _randn((out, r), g, sigma).to(W.device)
    return spec.inilora_fit(W, r, A0, B0, steps=steps,
                            schedule_steps=max(steps, spec.INILORA_STEPS))


def inilora_checkpoint(steps: int) -> InitScheme:
    """IniLoRA after `steps` of its fit (Optimizing Fine-Tuning through Advanced Initialization
    Strategies for Low-Rank Adaptation, Xue 2025, Fig. 2's checkpoints; 0: its "Iter = 0"
    Gaussian start, Table 7): the `inilora` scheme with a shorter fit, same draws, residual."""
    if steps < 0:
        raise ValueError(f"IniLoRA fitting steps must be >= 0, got {steps}")

    def draw(W: Tensor, r: int, g: torch.Generator, beta: float) -> tuple[Tensor, Tensor]:
        return _inilora(W, r, g, beta, steps=steps)
    return InitScheme("inilora", f"IniLoRA after {steps} fitting steps; residual", draw,
                      from_weight=True)


def _loram_orth(W: Tensor, r: int, g: torch.Generator, beta: float) -> tuple[Tensor, Tensor]:
    A, B = spec.loram_orth(W, r, g)
    root = math.sqrt(beta)
    return A * root, B * root


def _noise_zeros_matched(W: Tensor, r: int) -> Draw:
    """Noise & Zeros whose k₁ equals PiSSA's on this W (The Primacy of Magnitude in Low-Rank
    Adaptation, arXiv 2507.06558, Prop. 2, Eq. 6, 10): B₀ = 0 and A₀ a Gaussian rescaled so
    that ν[A₀] = β σ_A² exactly, σ_A⁴ = k₁(PiSSA)/(r m) — so k₁ = β² k₁(PiSSA) exactly."""
    out, inp = W.shape
    var = spec.noise_zeros_std(spec.pissa_update_rate(W, r), r, inp) ** 2

    def draw(W: Tensor, r: int, g: torch.Generator, beta: float) -> tuple[Tensor, Tensor]:
        G = _randn((r, inp), g, 1.0).to(W.device)
        A = G * math.sqrt(beta * var / float(G.pow(2).mean())) if beta else G.zero_()
        return A, W.new_zeros(out, r)
    return draw


K = spec.kaiming_std
_SCHEMES: dict[str, InitScheme] = {s.name: s for s in [
    InitScheme("A", "A ~ N(0, 1/in), B = 0; W kept (standard LoRA)",
               _gauss(lambda o, i, r: K(i), lambda *_: 0.0)),
    InitScheme("B", "A = 0, B ~ N(0, 1/r) (Kaiming, fan-in r); W kept",
               _gauss(lambda *_: 0.0, lambda o, i, r: K(r))),
    InitScheme("AB", "A ~ N(0, 1), B ~ N(0, 1/out); W − s·B₀A₀ (Theorem 1's robust point)",
               _gauss(lambda *_: 1.0, lambda o, i, r: K(o))),
    InitScheme("AB-practical", "A, B ~ N(0, 1/in) (σ_A = σ_B); W − s·B₀A₀",
               _gauss(lambda o, i, r: K(i), lambda o, i, r: K(i))),
    InitScheme("AB+", "A, B ~ N(0, 1/in) (σ_A = σ_B); W kept (noise left in)",
               _gauss(lambda o, i, r: K(i), lambda o, i, r: K(i))),
    InitScheme("ortho-eye-const", "Q = I_r rows split, Gaussians × 1/10; BA = 0; W kept",
               _ortho(True, False), even_rank=True),
    InitScheme("ortho-eye-match", "Q = I_r rows split, A × √(1/in), B × √(1/r); BA = 0",
               _ortho(True, True), even_rank=True),
    InitScheme("ortho-qr-const", "Q = qr(randn(r, r)) rows split, Gaussians × 1/10; BA = 0",
               _ortho(False, False), even_rank=True),
    InitScheme("ortho-qr-match", "Q = qr(randn(r, r)) rows split, A × √(1/in), B × √(1/r)",
               _ortho(False, True), even_rank=True),
    InitScheme("pissa", "top-r SVD triplets, √S split; residual W − s·B₀A₀",
               _from_w(spec.pissa), True, False),
    InitScheme("milora", "bottom-r SVD triplets, √S split; residual W − s·B₀A₀",
               _from_w(spec.milora), True, False),
    InitScheme("olora", "W = QR: A = R[:r], B = Q[:, :r]; residual W − s·B₀A₀",
               _from_w(spec.olora), True, False),
    InitScheme("loram", "A = β Φ_mᵀ[:r], B = β Φ_n[:, :r] (DST-I), β⁴ = Q ν[W] mn/r; residual",
               _from_w(spec.loram, scaled=True),
               random=False),
    InitScheme("inilora", "Adam fit of BA ≈ W from N(0, σ̄²); frozen residual W − s·B₀A₀",
               _inilora, from_weight=True),
    InitScheme("inilora-alpha", "A, B ~ N(0, 0.5²); residual W − s·B₀A₀ (IniLoRA-α)",
               _gauss(lambda *_: 0.5, lambda *_: 0.5)),
    InitScheme("inilora-beta", "A ~ N(0, 1/in), B ~ N(0, 1/r) (Kaiming both); residual",
               _gauss(lambda o, i, r: K(i), lambda o, i, r: K(r))),
    InitScheme("inilora-alpha-kept", "A, B ~ N(0, 0.5²); W kept (no residual)",
               _gauss(lambda *_: 0.5, lambda *_: 0.5)),
    InitScheme("loram-orth", "LoRAM's β times Haar-random orthonormal bases; residual",
               _loram_orth),
    InitScheme("loram-pissa", "DST bases, β with PiSSA's k₁ (tracking mode); residual",
               _from_w(spec.loram_tracking(spec.pissa), scaled=True), random=False),
    InitScheme("loram-milora", "DST bases, β with MiLoRA's k₁ (tracking mode); residual",
               _from_w(spec.loram_tracking(spec.milora), scaled=True), random=False),
    InitScheme("A-match-pissa", "A Gaussian with ν[A] set so k₁ = PiSSA's, B = 0; W kept",
               lambda W, r, g, b: _noise_zeros_matched(W, r)(W, r, g, b),
               bind=_noise_zeros_matched),
    InitScheme("zero", "A = 0, B = 0 (no gradient ever flows: a control)",
               _gauss(lambda *_: 0.0, lambda *_: 0.0),
               random=False),
    InitScheme("kaiming", "A ~ N(0, 1/in), B ~ N(0, 1/r); W kept (peft's init_lora_weights=False)",
               _gauss(lambda o, i, r: K(i), lambda o, i, r: K(r))),
    InitScheme("gaussian", "A ~ N(0, 1/r²), B = 0; W kept (peft's init_lora_weights='gaussian')",
               _gauss(lambda o, i, r: 1.0 / r, lambda *_: 0.0)),
]}

def scheme_names() -> list[str]:
    """The registry's names, in the INTERFACES order."""
    return list(_SCHEMES)


def get_init(name: str | bool) -> InitScheme:
    """The init of a scheme, by its name (or a paper's or peft's name for it,
    case-insensitive)."""
    return _SCHEMES[gamma_schemes.canonical_scheme(name)]


# ---- modifiers (not inits) --------------------------------------------------------------

LORAPLUS_DEFAULT_RATIO = 16.0  # LoRA+ (Hayou et al. 2024a) recommends λ = 2⁴


@dataclass(frozen=True)
class Modifiers:
    """rsLoRA changes the scale; LoRA+ sets η_B = λ η_A (read by the optimizer set-up)."""

    rslora: bool = False
    loraplus: float | None = None

    @property
    def lr_ratio(self) -> float:
        return 1.0 if self.loraplus is None else self.loraplus


def parse_modifiers(names: Iterable[str]) -> Modifiers:
    """["rslora", "loraplus"] or ["loraplus=8"] → Modifiers."""
    rs, ratio = False, None
    for item in names:
        key, _, value = item.partition("=")
        if key == "rslora" and not value:
            rs = True
        elif key == "loraplus":
            ratio = float(value) if value else LORAPLUS_DEFAULT_RATIO
        else:
            raise UnknownSchemeError(f"unknown modifier {item!r}; valid: rslora, "
                                     "loraplus[=λ]")
    return Modifiers(rs, ratio)
