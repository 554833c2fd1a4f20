"""LoRAM's claims on the pretrained toy (docs/theory.md §4, §6.4): The Primacy of Magnitude in
Low-Rank Adaptation (arXiv 2507.06558).

LoRAM scales deterministic DST bases by β with β⁴ = Q ν[W] mn/r so that its initial update rate
k₁ = r(m ν[A₀]² + n ν[B₀]²) (Prop. 2) imitates PiSSA's; its thesis is that *magnitude*, not the
spectral basis, is what spectral inits buy.  Tested, paired replicate by replicate
(`figures.init_compare`), at the shared rate (the papers' protocol: one rate for all):
* Tables 1–2: LoRAM matches or beats PiSSA, MiLoRA and OLoRA (margin 1 point) and beats Noise &
  Zeros; also LoRAM vs PiSSA each at its best rate on the grid;
* Fig. 5: LoRAM's training loss falls faster early (mean probe loss over the first 30 % of steps);
* Table 4 (tracking mode): LoRAM with β set to PiSSA's / MiLoRA's k₁ (`loram-pissa`,
  `loram-milora`) matches PiSSA / MiLoRA — its evidence that magnitude drives the gain;
* Table 4 (basis): the deterministic DST does as well as a Haar-random orthogonal basis;
* the magnitude principle head-on: PiSSA beats Noise & Zeros, and Noise & Zeros brought to
  PiSSA's initial update magnitude matches PiSSA — magnitude defined as LoRAM does, k₁
  (`A-match-pissa`: ν[A₀] set so r m ν[A₀]² = k₁(PiSSA)), and as measured, the first Adam step's
  ν[ΔW¹] from each replicate's first-batch gradient G (`A-match-pissa` rescaled to PiSSA's);
* Prop. 2 on the toy: the first SGD step's k̂₁ = ν[ΔW¹]/(η² ν[G]) equals the init's k₁.
Our choices: Adam, 100 steps, batch 64, s = 1, rank 16 (Table 1's), probe batch 64 (training
images) for the loss curves; rates and shared rate as in `figures.inilora_claims`.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from . import common, style
from . import init_compare as ic
from .common import Claim, Context, FigureResult

NAME = "loram_claims"
SCHEMES = ("A", "pissa", "milora", "olora", "loram", "loram-orth", "loram-pissa",
           "loram-milora", "A-match-pissa")
CURVES = ("A", "pissa", "milora", "olora", "loram")
MATCHED = "A-match-pissa"
MEASURED = "A-match-pissa (first step)"   # MATCHED rescaled to PiSSA's measured first step
COLORS = {"loram-orth": "#8C8C00", "loram-pissa": "#E377C2", "loram-milora": "#F7B6D2",
          MATCHED: "#1F77B4", MEASURED: "#17BECF"}


def color(s: str) -> str:
    return COLORS.get(s, style.color(s))


@dataclass(frozen=True)
class Config:
    toy: ic.ToyBed
    reps: int
    rates: tuple[float, ...]
    shared: float
    rank: int = 16
    steps: int = 100

    def spec(self, schemes, rates, **kw: Any) -> dict[str, Any]:
        return self.toy.adam_spec(schemes, rates, self.rank, self.steps,
                                  **{"probe_batch": 64, "probe_every": 10, **kw})

    def label(self) -> str:
        return self.toy.setup_label(self.steps, self.rank, self.rates, self.shared, self.reps)


def config(mode: str) -> Config:
    if mode == "quick":
        return Config(ic.TOY["quick"], 3, (3e-3, 3e-2), 3e-3)
    return Config(ic.TOY["full"], 8, (1e-3, 3e-3, 1e-2, 3e-2, 1e-1), 3e-3)


def measure(cfg: Config, ctx: Context) -> dict[str, Any]:
    """The Adam sweep of every scheme × rate, the first-step magnitudes from each replicate's
    first gradient, then Noise & Zeros rescaled to PiSSA's measured first Adam step."""
    steps, runs = ic.replicated(cfg.spec(SCHEMES, cfg.rates), ctx, f"{NAME}/adam", cfg.reps)
    runs = runs.merge(ic.early_loss(steps), on=["scheme", "eta0", "init_scale", "rep"],
                      how="left")
    layer = ic.layer_stats(cfg.toy, cfg.rank, grads=cfg.reps, steps=cfg.steps)
    first = first_steps(cfg, layer)
    beta = first.set_index(["rep", "scheme"]).adam
    scale = {d: float(beta[d, "pissa"] / beta[d, "A-match-pissa"]) for d in range(cfg.reps)}
    _, matched = ic.replicated(cfg.spec([MATCHED], [cfg.shared]), ctx, f"{NAME}/matched",
                               cfg.reps, lambda d: {"init_scales": [scale[d]]})
    runs = pd.concat([runs, matched.assign(scheme=MEASURED)], ignore_index=True)
    return {"steps": steps, "runs": runs, "first": first, "layer": layer,
            "k1": predicted_k1(cfg, layer["W"])}


def first_steps(cfg: Config, layer: dict[str, Any]) -> pd.DataFrame:
    """Per replicate and scheme, the first step's ν[ΔW¹]/η² (SGD: over ν[G], i.e. k̂₁; Adam)
    from that replicate's gradient G and its init draws (`toy_models.spectral.first_step_nu`)."""
    from toy_models.base import run_generator
    from toy_models.inits import get_init
    from toy_models.spectral import first_step_nu, nu
    rows = []
    for d, G in enumerate(layer["G"]):
        for s in SCHEMES:
            ini = get_init(s).init(layer["W"], cfg.rank, generator=run_generator(d))
            rows.append({"rep": d, "scheme": s,
                         "k1_hat": first_step_nu(ini.A, ini.B, G, "sgd") / float(nu(G)),
                         "adam": first_step_nu(ini.A, ini.B, G, "adam")})
    return pd.DataFrame(rows)


def predicted_k1(cfg: Config, W: Any) -> dict[str, float]:
    """k₁ = r(m ν[A₀]² + n ν[B₀]²) of every scheme's initial factors on the toy's W."""
    from toy_models.base import run_generator
    from toy_models.inits import get_init
    from toy_models.spectral import update_rate
    out = {}
    for s in SCHEMES:
        ini = get_init(s).init(W, cfg.rank, generator=run_generator(0))
        out[s] = update_rate(ini.A, ini.B)
    return out


# ---- claims ------------------------------------------------------------------------------------

def _name(s: str) -> str:
    if s == MEASURED:
        return "Noise & Zeros (PiSSA's 1st step)"
    return style.short(s, "loram")


def claims(cfg: Config, d: dict[str, Any]) -> list[Claim]:
    runs, k1, sh = d["runs"], d["k1"], cfg.shared
    row = partial(ic.claim_row, NAME, cfg.toy.model)

    def acc(s: str, eta: float = sh) -> pd.Series:
        return ic.by_rep(runs, scheme=s, eta0=eta)

    def diff(a: str, b: str) -> ic.Paired:
        return ic.paired(acc(a), acc(b))
    out = []
    for s, paper in {"pissa": "37.68", "milora": "29.70", "olora": "35.83"}.items():
        p = diff("loram", s)
        out.append(row(f"loram-vs-{s}", f"LoRAM matches or beats {_name(s)} (final accuracy, "
                       "shared rate)",
                        "LoRAM (Tables 1–2)", f"> −1 pt (paper r 16 GSM8K: 40.32 vs {paper})",
                        [("", p)], ic.noninferior(p)))
    p = diff("loram", "A")
    out.append(row("loram-vs-noise-zeros", "LoRAM beats Noise & Zeros (final accuracy, shared "
                   "rate)",
                    "LoRAM (Tables 1–2)", "> 0 (paper: 40.32 vs 31.51)", [("", p)],
                    ic.superior(p)))
    ba, bb = ic.best_rate(runs, "loram"), ic.best_rate(runs, "pissa")
    p = ic.paired(acc("loram", ba), acc("pissa", bb))
    out.append(row("loram-vs-pissa-tuned", "LoRAM matches or beats PiSSA, each at its best rate "
                   "on the grid",
                    "LoRAM (Tables 1–2)", "> −1 pt", [("", p)], ic.noninferior(p),
                    f"best rates {ba:g} vs {bb:g}"))
    parts = [(f"vs {_name(s)}", ic.paired(ic.by_rep(runs, "early_loss", scheme=s, eta0=sh),
                                          ic.by_rep(runs, "early_loss", scheme="loram",
                                                    eta0=sh)))
             for s in ("pissa", "milora", "olora", "A")]
    out.append(Claim(NAME, "LoRAM's training loss falls faster early (mean probe loss, first "
                     "30 % of steps; other − LoRAM)", "LoRAM (Fig. 5)", "> 0 against each",
                     "; ".join(f"{k} {p.text(1.0, '', 3)}" for k, p in parts),
                     "; ".join(p.interval(1.0, 3) for _, p in parts),
                     ic.all_of([ic.superior(p) for _, p in parts]), "",
                     common.claim_id(NAME, "early-convergence"), cfg.toy.model))
    for track, ref, paper in (("loram-pissa", "pissa", "36.7 vs 37.6"),
                              ("loram-milora", "milora", "29.6 vs 29.7")):
        p = diff(track, ref)
        out.append(row(f"tracking-{ref}", f"tracking mode: LoRAM with {_name(ref)}'s k₁ "
                       f"matches {_name(ref)}",
                        "LoRAM (Table 4)", f"within ±1 pt (paper GSM8K: {paper})", [("", p)],
                        ic.equivalent(p), f"k₁ equal: {k1[track]:.4g} vs {k1[ref]:.4g}"))
    p = diff("loram", "loram-orth")
    out.append(row("dst-vs-random-basis", "the deterministic DST basis does as well as a "
                   "random orthogonal one",
                    "LoRAM (Table 4, §3.2)", "> −1 pt (paper GSM8K r 16: ≈ 40 vs 36.3)",
                    [("", p)], ic.noninferior(p)))
    gap = diff("pissa", "A")
    out.append(row("pissa-vs-noise-zeros", "PiSSA beats Noise & Zeros (the gain to explain)",
                   "LoRAM (Table 1)",
                    "> 0 (paper: 37.68 vs 31.51)", [("", gap)], ic.superior(gap),
                    f"k₁ {k1['pissa']:.3g} vs {k1['A']:.3g}"))
    for s, key, how in ((MATCHED, "k1", "k₁ (LoRAM's definition)"),
                        (MEASURED, "first-step", "measured first Adam step ν[ΔW¹]")):
        p = diff("pissa", s)
        out.append(row(f"magnitude-{key}", "magnitude principle: Noise & Zeros with PiSSA's "
                       f"{how} matches PiSSA",
                        "LoRAM (§2–3, Prop. 2)", "PiSSA − matched within ±1 pt (the gain "
                        "vanishes)", [("", p)], ic.equivalent(p),
                        _closed(p, gap)))
    out.append(k1_claim(d["first"], k1, cfg.toy.model))
    return out


def _closed(p: ic.Paired, gap: ic.Paired) -> str:
    if not gap.mean:
        return "no gain to close"
    return f"{100 * (1 - p.mean / gap.mean):.0f} % of PiSSA's gain ({gap.text()}) closed"


def k1_claim(first: pd.DataFrame, k1: dict[str, float], model: str) -> Claim:
    """The first SGD step's k̂₁ (from each replicate's gradient) over the k₁ each init was
    built with: Prop. 2 says 1 when the gradient is independent of A, B."""
    keys = ("A", "pissa", "loram")
    parts = [(s, ic.one_sample(np.log(first[first.scheme == s].set_index("rep").k1_hat
                                      / k1[s]))) for s in keys]
    return Claim(NAME, "k₁ predicts the first SGD step on the toy: k̂₁ = ν[ΔW¹]/(η² ν[∇_W L]) "
                 "over the init's k₁", "LoRAM (Prop. 2, Eq. 6)", "ratio in [1/2, 2] for each",
                 "; ".join(f"{_name(s)} ×{np.exp(p.mean):.2f}" for s, p in parts),
                 "; ".join("degenerate" if p.degenerate else
                           f"[×{np.exp(p.lo):.2f}, ×{np.exp(p.hi):.2f}]" for _, p in parts),
                 ic.all_of([ic.equivalent(p, np.log(2)) for _, p in parts]),
                 "first-order step from each replicate's first-batch gradient",
                 common.claim_id(NAME, "k1-predicts-first-step"), model)


# ---- figure and tables ------------------------------------------------------------------------

def _log_ticks(ax: Any, values: Any) -> None:
    """A log x axis ticked at the grid's values, plain labels."""
    ax.set_xscale("log")
    ax.set_xticks(list(values), [f"{v:g}" for v in values])
    ax.minorticks_off()


def plot(cfg: Config, d: dict[str, Any], ctx: Context):
    runs, steps, k1, first = d["runs"], d["steps"], d["k1"], d["first"]
    with style.rc():
        fig, axes = style.figure(2, 2, size=(11, 8.2), footer=common.footer(NAME, ctx,
                                 cfg.label()), title="LoRAM's claims on the pretrained toy "
                                 "(mean ± 95 % t-interval over replicates)")
        ax = axes[0, 0]
        for s in CURVES:
            t = ic.mean_ci(runs[runs.scheme == s], ["eta0"]).sort_values("eta0")
            ax.errorbar(t.eta0, 100 * t["mean"], yerr=100 * t["half"].fillna(0), marker="o",
                        capsize=2, color=color(s), label=_name(s))
        ax.axvline(cfg.shared, **style.REFERENCE)
        _log_ticks(ax, cfg.rates)
        ax.set(xlabel="learning rate η (Adam)", ylabel="test accuracy (%)",
               title=f"(a) Tables 1–2: rate sweep, rank {cfg.rank} (dotted: shared rate)")
        ax.legend()
        ax = axes[0, 1]
        loss = steps[(steps.quantity == "loss") & np.isclose(steps.eta0, cfg.shared)]
        for s in CURVES:
            m = loss[loss.scheme == s].groupby("step").value.mean()
            ax.plot(m.index, m.to_numpy(), color=color(s), label=_name(s))
        ax.set_yscale("log")
        ax.set(xlabel="step", ylabel="probe-batch loss (64 training images)",
               title=f"(b) Fig. 5: training loss at the shared rate {cfg.shared:g}")
        ax.legend()
        ax = axes[1, 0]
        rows = comparisons(cfg, runs)
        y = np.arange(len(rows))[::-1]
        for yi, (label, p) in zip(y, rows):
            err = None if p.degenerate else [[100 * (p.mean - p.lo)], [100 * (p.hi - p.mean)]]
            ax.errorbar([100 * p.mean], [yi], xerr=err, marker="o", capsize=3, color="0.2")
        ax.axvspan(-100 * ic.MARGIN, 100 * ic.MARGIN, color="0.9")
        ax.axvline(0, **style.REFERENCE)
        ax.set_yticks(y, [label for label, _ in rows], fontsize=7)
        ax.set(xlabel="paired accuracy difference (points; band: ±1 pt margin)",
               title="(c) Table 4 and the magnitude principle (shared rate)")
        ax = axes[1, 1]
        keys = list(SCHEMES)
        ax.bar(range(len(keys)), [k1[s] if k1[s] > 0 else np.nan for s in keys],
               color=[color(s) for s in keys], alpha=0.8, label="k₁ of the init (Prop. 2)")
        for i, s in enumerate(keys):
            v = first[first.scheme == s].k1_hat
            ax.scatter([i] * len(v), v, color="black", marker="x", zorder=3,
                       label="k̂₁ of the first SGD step (measured G)" if i == 0 else None)
        ax.set_yscale("log")
        ax.set_xticks(range(len(keys)), [_name(s) for s in keys], rotation=35, ha="right",
                      fontsize=7)
        ax.set(ylabel="initial update rate", title="(d) k₁ = r(m ν[A₀]² + n ν[B₀]²) and the "
               "first step's k̂₁")
        ax.legend(fontsize=7)
    return fig


def comparisons(cfg: Config, runs: pd.DataFrame) -> list[tuple[str, ic.Paired]]:
    """The paired accuracy differences of panel (c), at the shared rate."""
    def acc(s: str) -> pd.Series:
        return ic.by_rep(runs, scheme=s, eta0=cfg.shared)
    pairs = [("loram", "pissa"), ("loram", "milora"), ("loram", "olora"), ("loram", "A"),
             ("loram-pissa", "pissa"), ("loram-milora", "milora"), ("loram", "loram-orth"),
             ("pissa", "A"), ("pissa", MATCHED), ("pissa", MEASURED)]
    return [(f"{_name(a)} − {_name(b)}", ic.paired(acc(a), acc(b))) for a, b in pairs]


def details(cfg: Config, d: dict[str, Any]) -> str:
    keys = [*SCHEMES, MEASURED]
    t = d["runs"].pivot_table(index="eta0", columns="scheme", values="final_test_acc",
                              aggfunc="mean").reindex(columns=keys)
    head = "| η | " + " | ".join(_name(s) for s in keys) + " |\n|---" + "|---" * len(keys) + "|"
    rows = [f"| {e:g} | " + " | ".join("" if np.isnan(v) else f"{100 * v:.1f}"
                                       for v in t.loc[e]) + " |" for e in t.index]
    f = d["first"].groupby("scheme")[["k1_hat", "adam"]].mean()
    mags = ["| init | k₁ | k̂₁ (first SGD step) | first Adam step ν[ΔW¹]/η² |", "|---|---|---|---|"]
    mags += [f"| {_name(s)} | {d['k1'][s]:.3g} | {f.k1_hat[s]:.3g} | {f.adam[s]:.3g} |"
             for s in SCHEMES]
    return ("Mean test accuracy (%) over replicates (the first-step-matched Noise & Zeros "
            "runs at the shared rate only):\n\n" + head + "\n" + "\n".join(rows)
            + "\n\nInitial update magnitudes (mean over replicates' first batches):\n\n"
            + "\n".join(mags))


def run(ctx: Context) -> FigureResult:
    t0 = time.perf_counter()
    cfg = config(ctx.mode)
    d = measure(cfg, ctx)
    fig = plot(cfg, d, ctx)
    res = FigureResult(NAME, "LoRAM's claims on the toy", "Does LoRAM (magnitude-scaled DST "
                       "bases) match the spectral inits, and is their gain over Noise & Zeros "
                       "a matter of magnitude rather than basis?", claims(cfg, d),
                       [common.save(fig, NAME, ctx)], cfg.label(),
                       common.device_label(ctx.device), time.perf_counter() - t0,
                       details(cfg, d))
    res.rule = ("paired over replicates (data order + init seed shared by every scheme); 95 % "
                "Student-t intervals of the mean difference; 'beats': interval above 0 "
                "(pass) / below 0 (fail); 'matches or beats': lower end above −1 pt (pass) / "
                "upper end below −1 pt (fail); 'matches': interval inside ±1 pt (pass) / wholly "
                "outside (fail); otherwise, and for degenerate intervals, inconclusive; k̂₁/k₁: "
                "interval of the log ratio inside [1/2, 2] (pass) / wholly outside (fail).")
    return res


if __name__ == "__main__":
    raise SystemExit(common.main(run))
