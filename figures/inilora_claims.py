"""IniLoRA's claims on the pretrained toy (docs/theory.md §6.3): Optimizing Fine-Tuning through
Advanced Initialization Strategies for Low-Rank Adaptation (Yongfu Xue, 2025).

IniLoRA fits B₀A₀ ≈ W by Adam and freezes the residual W − B₀A₀; IniLoRA-α (N(0, 0.5²)) and
IniLoRA-β (Kaiming) are its zero-iteration variants with another start, residual kept (the
paper derives them from "Iter = 0", Table 7; with W kept, σ = 0.5 at n = 4096 would add an
output ~35× the pretrained layer's — see `sigma_meaning`).  Tested, each scheme paired against
LoRA (Init[A], Noise & Zeros) replicate by replicate (`figures.init_compare`):
* Tables 1–3: IniLoRA beats LoRA; IniLoRA-α and -β beat both (at the shared rate; IniLoRA vs
  LoRA also at each scheme's best rate on the grid);
* Fig. 3: accuracy rises with the init std up to 0.5 and drops beyond — read at the paper's own
  σ = 0.5 against the grid's ends, for the residual reading and for the W-kept reading;
* Fig. 2: the better B₀A₀ approximates W (checkpoints of the fit), the better the accuracy;
* Fig. 6: IniLoRA beats LoRA at most rates, "particularly at higher rates";
* Table 6: IniLoRA beats LoRA at every rank (8, 16, 32).
Our choices (the paper's LLM protocol does not transfer): Adam, 100 steps, batch 64, s = 1,
rank 8 (the paper's), rates around Noise & Zeros' best, the *shared* rate (the papers' protocol:
one rate for every scheme) a decade below it, as LLaMA's 2e−5 is below LoRA's usual 2e−4.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from . import common, style
from . import init_compare as ic
from .common import Claim, Context, FigureResult

NAME = "inilora_claims"
MAIN = ("A", "inilora", "inilora-alpha", "inilora-beta")
SIGMA_SCHEMES = ("inilora-alpha", "inilora-alpha-kept")
PAPER_SIGMA = 0.5
PAPER = {"n": 4096, "r": 8, "std_W": 0.02}     # LLaMA2-7B q/v projections, rank 8


@dataclass(frozen=True)
class Config:
    toy: ic.ToyBed
    reps: int
    rates: tuple[float, ...]
    shared: float
    sigmas: tuple[float, ...]
    fit_steps: tuple[int, ...]
    ranks: tuple[int, ...]             # the first is the main rank
    steps: int = 100

    def spec(self, schemes, rates, rank: int, **kw: Any) -> dict[str, Any]:
        return self.toy.adam_spec(schemes, rates, rank, self.steps, probe_batch=16,
                                  probe_every=0, **kw)

    def label(self) -> str:
        return (self.toy.setup_label(self.steps, self.ranks[0], self.rates, self.shared,
                                     self.reps) + " (data order + init seed)")


def config(mode: str) -> Config:
    if mode == "quick":
        return Config(ic.TOY["quick"], 3, (3e-3, 3e-2), 3e-3, (1e-3, 0.5, 4.0), (10, 400),
                      (8, 32))
    return Config(ic.TOY["full"], 8, (1e-3, 3e-3, 1e-2, 3e-2, 1e-1), 3e-3,
                  (1e-4, 1e-3, 1e-2, 0.03, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0),
                  (0, 5, 20, 80, 400), (8, 16, 32))


# ---- IniLoRA's fit checkpoints in the batched engine -----------------------------------------

class FitSteps:
    """A sweep model whose `inilora` runs read the init scale as IniLoRA's number of fitting
    steps (`toy_models.inits.inilora_checkpoint`); everything else is the wrapped model's."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def init(self, scheme: str, init_scale: float, seeds: list[int]) -> dict[str, Any]:
        if scheme != "inilora":
            return self.inner.init(scheme, init_scale, seeds)
        from toy_models.base import run_generator
        from toy_models.inits import inilora_checkpoint
        m, frozen = self.inner.model, self.inner.frozen
        sch = inilora_checkpoint(round(init_scale))
        gens = [run_generator(s) for s in seeds]
        out = {}
        for name, W in m.lora_weights(frozen).items():
            ini = sch.init(W, m.r, generator=gens, runs=len(seeds), alpha=m.alpha,
                           rslora=getattr(m, "rslora", False))
            out.update({f"{name}.A": ini.A, f"{name}.B": ini.B, f"{name}.A0": ini.A.clone(),
                        f"{name}.B0": ini.B.clone()})
        return out


def fit_steps_model(width: int, spec: Any, device: Any, dtype: Any) -> FitSteps:
    """Sweep factory `figures.inilora_claims:fit_steps_model`; `model_options.base_model`
    names the wrapped model (default `toy`)."""
    from width_sweeps.models import resolve
    opts = dict(spec.model_options)
    base = opts.pop("base_model", "toy")
    inner = resolve(base)(width, replace(spec, model=base, model_options=opts), device, dtype)
    return FitSteps(inner)


# ---- measurements ----------------------------------------------------------------------------

def measure(cfg: Config, ctx: Context) -> dict[str, pd.DataFrame]:
    r0 = cfg.ranks[0]
    _, main = ic.replicated(cfg.spec(MAIN, cfg.rates, r0), ctx, f"{NAME}/main", cfg.reps)
    scales = [s * s / 0.25 for s in cfg.sigmas]       # both schemes draw N(0, 0.25 β)
    _, sig = ic.replicated(cfg.spec(SIGMA_SCHEMES, [cfg.shared], r0, init_scales=scales), ctx,
                           f"{NAME}/sigma", cfg.reps)
    sig["sigma"] = np.sqrt(0.25 * sig.init_scale)
    fit_spec = cfg.spec(["inilora"], [cfg.shared], r0,
                        init_scales=[float(k) for k in cfg.fit_steps])
    fit_spec["model_options"] = {**fit_spec["model_options"], "base_model": cfg.toy.model}
    fit_spec["model"] = f"figures.{NAME}:fit_steps_model"
    _, fit = ic.replicated(fit_spec, ctx, f"{NAME}/fit", cfg.reps)
    fit["fit_steps"] = fit.init_scale.round().astype(int)
    ranks = [main[(main.eta0 == cfg.shared) & main.scheme.isin(["A", "inilora"])]
             .assign(rank=r0)]
    for r in cfg.ranks[1:]:
        _, rr = ic.replicated(cfg.spec(["A", "inilora"], [cfg.shared], r), ctx,
                              f"{NAME}/rank{r}", cfg.reps)
        ranks.append(rr.assign(rank=r))
    return {"main": main, "sigma": sig, "fit": fit, "ranks": pd.concat(ranks)}


def fit_errors(cfg: Config, W: Any) -> pd.DataFrame:
    """How well checkpoint k of IniLoRA's fit approximates W: `captured` = (‖W‖² − ‖W −
    B_kA_k‖²) / Σ_{i≤r} s_i², the share of the best rank-r energy (Eckart–Young: 1 at the
    optimum; ≤ 0 for the random start), and the relative error ‖W − B_kA_k‖²/‖W‖²
    (replicate 0's draws, as the engine makes them; they hardly depend on the start)."""
    import torch

    from toy_models.base import run_generator
    from toy_models.inits import inilora_checkpoint
    r = cfg.ranks[0]
    best = float(torch.linalg.svdvals(W)[:r].pow(2).sum())
    total = float(W.pow(2).sum())
    rows = []
    for k in cfg.fit_steps:
        residual = inilora_checkpoint(k).init(W, r, generator=run_generator(0)).W_residual
        assert residual is not None                    # IniLoRA subtracts B₀A₀
        res = float(residual.pow(2).sum())
        rows.append({"fit_steps": k, "rel_error": res / total, "captured": (total - res) / best})
    return pd.DataFrame(rows)


def sigma_meaning(cfg: Config, layer: dict[str, Any]) -> dict[str, float]:
    """The toy's σ equivalent to the paper's σ = 0.5 (n = 4096, r = 8) under four readings:
    the same entry std; the same entry exponent (σ = n^e); the same A₀z relative to Kaiming
    (σ√n); with W kept, the same initial output s B₀A₀z relative to Wz, whose RMS is
    σ²√(r n)·rms(z) (a CLT sum; LLaMA: rms(Wz) ≈ std(W)√n rms(z), std(W) ≈ 0.02)."""
    n, r = cfg.toy.width, cfg.ranks[0]
    pn, pr = PAPER["n"], PAPER["r"]
    e = math.log(PAPER_SIGMA) / math.log(pn)
    rho = PAPER_SIGMA ** 2 * math.sqrt(pr * pn) / (PAPER["std_W"] * math.sqrt(pn))
    kept = math.sqrt(rho * layer["rms_Wz"] / (math.sqrt(r * n) * layer["rms_z"]))
    return {"same std": PAPER_SIGMA, "same exponent": n ** e,
            "same A₀z": PAPER_SIGMA * math.sqrt(pn / n), "same B₀A₀z / Wz (W kept)": kept,
            "exponent": e, "rho_paper": rho}


# ---- claims ------------------------------------------------------------------------------------

def _sup(a: pd.Series, b: pd.Series) -> tuple[ic.Paired, str]:
    p = ic.paired(a, b)
    return p, ic.superior(p)


def claims(cfg: Config, d: dict[str, pd.DataFrame]) -> list[Claim]:
    main, sig, fit, ranks = d["main"], d["sigma"], d["fit"], d["ranks"]
    sh = cfg.shared
    row = partial(ic.claim_row, NAME, cfg.toy.model)

    def acc(s: str, eta: float = sh) -> pd.Series:
        return ic.by_rep(main, scheme=s, eta0=eta)
    out = []
    p, v = _sup(acc("inilora"), acc("A"))
    out.append(row("inilora-vs-lora", f"IniLoRA beats LoRA (Init[A]) at the shared rate {sh:g}",
                   "IniLoRA (Tables 1–2)", "> 0 (paper: +2.0 pt GSM8K LLaMA2-7B r 8; +0.6 pt "
                   "GLUE avg. RoBERTa-base)", [("", p)], v))
    ba, bb = ic.best_rate(main, "inilora"), ic.best_rate(main, "A")
    p, v = _sup(acc("inilora", ba), acc("A", bb))
    out.append(row("inilora-vs-lora-tuned", "IniLoRA beats LoRA, each at its best rate on the "
                   "grid", "IniLoRA (Tables 1–2)", "> 0", [("", p)], v,
                   f"best rates {ba:g} vs {bb:g}"))
    for s, paper in (("inilora-alpha", "28.2"), ("inilora-beta", "22.8 (K-N)")):
        parts = [("vs LoRA", ic.paired(acc(s), acc("A"))),
                 ("vs IniLoRA", ic.paired(acc(s), acc("inilora")))]
        out.append(row(f"{s}-beats-both", f"{style.name(s)} beats LoRA and IniLoRA (shared "
                       "rate)", "IniLoRA (Table 3)", f"both > 0 (paper r 8: {paper} vs 20.3 "
                       "and 22.4)", parts, ic.all_of([ic.superior(q) for _, q in parts])))
    lo, hi = min(cfg.sigmas), max(cfg.sigmas)
    for s, reading in (("inilora-alpha", "residual frozen"), ("inilora-alpha-kept", "W kept")):
        def at(sigma: float, s: str = s) -> pd.Series:
            return ic.by_rep(sig, scheme=s, sigma=sigma)
        parts = [(f"0.5 − {lo:g}", ic.paired(at(PAPER_SIGMA), at(lo))),
                 (f"0.5 − {hi:g}", ic.paired(at(PAPER_SIGMA), at(hi)))]
        peak = sig[sig.scheme == s].groupby("sigma").final_test_acc.mean().idxmax()
        out.append(row(f"sigma-peak-{s}", "accuracy rises with the init std up to σ = 0.5, "
                       f"then drops (IniLoRA-α, {reading})", "IniLoRA (Fig. 3)", "both > 0 "
                       "(rise from 1e−4 to 0.5, sharp drop beyond)", parts,
                       ic.all_of([ic.superior(q) for _, q in parts]),
                       f"grid peak at σ = {peak:g}"))
    k_hi, k_lo = max(cfg.fit_steps), min(k for k in cfg.fit_steps if k > 0)
    p, v = _sup(ic.by_rep(fit, scheme="inilora", fit_steps=k_hi),
                ic.by_rep(fit, scheme="inilora", fit_steps=k_lo))
    out.append(row("fit-quality", f"better approximation of W gives better accuracy: {k_hi} "
                   f"vs {k_lo} fitting steps", "IniLoRA (Fig. 2)", "> 0 (accuracy rises while "
                   "the fit loss falls, then plateaus)", [("", p)], v))
    out.append(most_rates(cfg, acc))
    gap = [acc("inilora", e) - acc("A", e) for e in (max(cfg.rates), min(cfg.rates))]
    p, v = _sup(gap[0], gap[1])
    out.append(row("gain-at-high-rates", "IniLoRA's advantage is larger at higher rates",
                   "IniLoRA (Fig. 6)", f"Δ({max(cfg.rates):g}) − Δ({min(cfg.rates):g}) > 0",
                   [("", p)], v))
    parts = [(f"r {r}", ic.paired(ic.by_rep(ranks, scheme="inilora", rank=r),
                                  ic.by_rep(ranks, scheme="A", rank=r))) for r in cfg.ranks]
    out.append(row("every-rank", "IniLoRA beats LoRA at every rank (shared rate)",
                   "IniLoRA (Table 6)", "> 0 at each rank (paper: 22.5/25.8/27.2 vs "
                   "20.5/21.8/25.2)", parts, ic.all_of([ic.superior(q) for _, q in parts])))
    return out


def most_rates(cfg: Config, acc: Any) -> Claim:
    """"Most rates": pass when IniLoRA beats LoRA at more than half of the rates, fail when
    it cannot (at least half are losses), else inconclusive."""
    per = [ic.paired(acc("inilora", e), acc("A", e)) for e in cfg.rates]
    vs = [ic.superior(q) for q in per]
    k, n_pass, n_fail = len(vs), vs.count("pass"), vs.count("fail")
    verdict = "pass" if n_pass > k / 2 else "fail" if n_fail >= k / 2 else "inconclusive"
    return Claim(NAME, "IniLoRA beats LoRA at most learning rates", "IniLoRA (Fig. 6)",
                 f"wins at > {k // 2} of {k} rates", f"wins {n_pass}/{k}, losses {n_fail}/{k}: "
                 + "; ".join(f"{e:g} {q.text()}" for e, q in zip(cfg.rates, per)),
                 "; ".join(q.interval() for q in per), verdict, "per rate: the 'beats' rule",
                 common.claim_id(NAME, "most-rates"), cfg.toy.model)


# ---- figure and tables ------------------------------------------------------------------------

def _log_ticks(ax: Any, values: Any) -> None:
    """A log x axis ticked at the grid's values, plain labels."""
    ax.set_xscale("log")
    ax.set_xticks(list(values), [f"{v:g}" for v in values])
    ax.minorticks_off()


def _errorbar(ax, df: pd.DataFrame, x: str, scheme: str, label: str, **kw: Any) -> None:
    t = ic.mean_ci(df[df.scheme == scheme], [x]).sort_values(x)
    ax.errorbar(t[x], 100 * t["mean"], yerr=100 * t["half"].fillna(0), marker="o", capsize=2,
                label=label, **kw)


def plot(cfg: Config, d: dict[str, pd.DataFrame], errs: pd.DataFrame,
         meaning: dict[str, float], ctx: Context):
    main, sig, fit, ranks = d["main"], d["sigma"], d["fit"], d["ranks"]
    with style.rc():
        fig, axes = style.figure(2, 2, size=(11, 8.2), footer=common.footer(NAME, ctx,
                                 cfg.label()), title="IniLoRA's claims on the pretrained toy: "
                                 "Fashion-MNIST test accuracy (mean ± 95 % t-interval over "
                                 "replicates)")
        ax = axes[0, 0]
        for s in MAIN:
            _errorbar(ax, main, "eta0", s, style.name(s), color=style.color(s))
        ax.axvline(cfg.shared, **style.REFERENCE)
        _log_ticks(ax, cfg.rates)
        ax.set(xlabel="learning rate η (Adam)", ylabel="test accuracy (%)",
               title=f"(a) Tables 1–3, Fig. 6: rate sweep, rank {cfg.ranks[0]} "
                     "(dotted: shared rate)")
        ax.legend()
        ax = axes[0, 1]
        eq = [v for k, v in meaning.items() if k.startswith("same")]
        ax.axvspan(min(eq), max(eq), color="0.9", label="paper's σ = 0.5 mapped to n = "
                   f"{cfg.toy.width} (4 readings)")
        for s, c in zip(SIGMA_SCHEMES, (style.color("inilora-alpha"), "#E377C2")):
            _errorbar(ax, sig, "sigma", s, style.name(s), color=c)
        base = ic.by_rep(main, scheme="A", eta0=cfg.shared).mean()
        ax.axhline(100 * base, color=style.color("A"), ls="--", lw=1, label="LoRA (Init[A])")
        _log_ticks(ax, cfg.sigmas)
        ax.set(xlabel="init std σ of both factors", ylabel="test accuracy (%)",
               title=f"(b) Fig. 3: IniLoRA-α against σ at the shared rate {cfg.shared:g}")
        ax.legend(fontsize=6.5)
        ax = axes[1, 0]
        t = ic.mean_ci(fit, ["fit_steps"]).merge(errs, on="fit_steps")
        ax.errorbar(t.captured, 100 * t["mean"], yerr=100 * t["half"].fillna(0), marker="o",
                    capsize=2, color=style.color("inilora"))
        for i, (_, row) in enumerate(t.iterrows()):
            ax.annotate(f"{int(row.fit_steps)} steps", (row.captured, 100 * row["mean"]),
                        fontsize=7, xytext=(-40, 6) if i % 2 else (5, -10),
                        textcoords="offset points")
        ax.set(xlabel="share of the best rank-r approximation's energy captured by B₀A₀ "
                      "(1 = Eckart–Young)", ylabel="test accuracy (%)",
               title="(c) Fig. 2: accuracy against the fit's quality (checkpoints)")
        ax = axes[1, 1]
        for i, r in enumerate(cfg.ranks):
            p = ic.paired(ic.by_rep(ranks, scheme="inilora", rank=r),
                          ic.by_rep(ranks, scheme="A", rank=r))
            ax.errorbar([i], [100 * p.mean], yerr=[[100 * (p.mean - p.lo)],
                        [100 * (p.hi - p.mean)]] if not p.degenerate else None, marker="o",
                        capsize=3, color=style.color("inilora"))
        ax.axhline(0, **style.REFERENCE)
        ax.set_xticks(range(len(cfg.ranks)), [f"r = {r}" for r in cfg.ranks])
        ax.set(ylabel="IniLoRA − LoRA (accuracy points)",
               title="(d) Table 6: IniLoRA's paired gain at each rank (shared rate)")
    return fig


def details(cfg: Config, d: dict[str, pd.DataFrame], errs: pd.DataFrame,
            meaning: dict[str, float]) -> str:
    t = d["main"].pivot_table(index="eta0", columns="scheme", values="final_test_acc",
                              aggfunc="mean").reindex(columns=list(MAIN))
    head = "| η | " + " | ".join(style.name(s) for s in MAIN) + " |\n|---" + "|---" * len(MAIN)
    rows = [f"| {e:g} | " + " | ".join(f"{100 * v:.1f}" for v in t.loc[e]) + " |"
            for e in t.index]
    m = [f"| {k} | {v:.3g} |" for k, v in meaning.items() if k.startswith("same")]
    f = ic.mean_ci(d["fit"], ["fit_steps"]).merge(errs, on="fit_steps")
    fr = [f"| {int(r.fit_steps)} | {r.rel_error:.4f} | {r.captured:.3f} | "
          f"{100 * r['mean']:.1f} |" for _, r in f.iterrows()]
    return ("Mean test accuracy (%) over replicates:\n\n" + head + "\n" + "\n".join(rows)
            + f"\n\nWhat the paper's σ = 0.5 (LLaMA2-7B, n = 4096, r = 8: entry exponent "
            f"{meaning['exponent']:.3f}; with W kept an initial output ≈ "
            f"{meaning['rho_paper']:.0f}× the layer's) means at n = {cfg.toy.width}:\n\n"
            "| reading | σ |\n|---|---|\n" + "\n".join(m)
            + "\n\nIniLoRA's fit checkpoints:\n\n| steps | ‖W − B₀A₀‖²/‖W‖² | share of the "
            "best rank-r energy | accuracy (%) |\n|---|---|---|---|\n" + "\n".join(fr))


def run(ctx: Context) -> FigureResult:
    t0 = time.perf_counter()
    cfg = config(ctx.mode)
    d = measure(cfg, ctx)
    layer = ic.layer_stats(cfg.toy, cfg.ranks[0])
    errs = fit_errors(cfg, layer["W"])
    meaning = sigma_meaning(cfg, layer)
    fig = plot(cfg, d, errs, meaning, ctx)
    res = FigureResult(NAME, "IniLoRA's claims on the toy", "Does IniLoRA (B₀A₀ fitted to W, "
                       "residual frozen) beat LoRA, do its variants α (σ = 0.5) and β (Kaiming) "
                       "beat both, and do its σ, fit-quality, rate and rank curves hold?",
                       claims(cfg, d), [common.save(fig, NAME, ctx)], cfg.label(),
                       common.device_label(ctx.device), time.perf_counter() - t0,
                       details(cfg, d, errs, meaning))
    res.rule = ("paired over replicates (each a data order and init seed shared by every "
                "scheme); 95 % Student-t intervals of the mean difference in accuracy points; "
                "'beats': pass when the interval is above 0, fail when below, else "
                "inconclusive (also for < 2 replicates or zero spread); a claim of several "
                "parts fails if one fails and passes if all pass; 'most rates': pass when it "
                "wins at more than half of the rates, fail when it loses at half or more.")
    return res


if __name__ == "__main__":
    raise SystemExit(common.main(run))
