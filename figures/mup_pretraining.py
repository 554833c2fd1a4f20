"""μP pretraining of the MNIST → Fashion-MNIST toy: what μP promises, measured.

(a) The premise of the LoRA width theory (docs/theory.md §2): the LoRA layer's input
z = φ(W_in x) has Θ(1) entries at every width.  RMS(z) over the Fashion-MNIST test images
(the fine-tuning data) against width, for the μP-pretrained toy (model `toy-mup`,
toy_models.mup) and, as the contrast, the standard-parametrisation toy at the settings
figures/coord_check.py uses.  Fitted exponent with the t-interval of the least-squares slope
(one pretraining per width, so the interval comes from the scatter about one power law).

(b) Rate transfer (Tensor Programs V, Yang et al. 2022, arXiv 2203.03466): the pretraining rate
with the lowest MNIST test loss, against width, in μP (base rate η_base, η_l = η_base·(n/n₀)^c_l)
and in SP (one rate).  Base rates on the grid 2^k, searched from the base-width optimum until
the minimum is bracketed by two rates on each side (figures.rate_transfer); the optimum is the
parabola vertex in log₂ η; interval: the seed bootstrap within (width, rate) cells
(width_sweeps.bootstrap).  At n = n₀ the two parametrisations are the same network, so the
curves share their base-width point.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import cast

import numpy as np
import pandas as pd

from toy_models.mup import MUP_BASE_LR, MUP_BASE_WIDTH, MUP_STEPS

from . import common, rate_transfer, style
from .common import Claim, Context, FigureResult

PARS = ("mup", "sp")
PAR_NAMES = {"mup": "μP", "sp": "SP"}
PAR_COLORS = {"mup": "#0072B2", "sp": "#D55E00"}
GRID = (-16, -2)          # log₂ base rates searched
SRC_PREMISE = "Tensor Programs V (μP); Beyond Zero Init (§3.1: the layer input z is Θ(1))"
SRC_TRANSFER = "Tensor Programs V (μTransfer)"


@dataclass(frozen=True)
class Config:
    widths: tuple[int, ...]           # μP testbed widths (premise)
    sweep_widths: tuple[int, ...]     # rate-transfer widths
    sp_widths: tuple[int, ...]        # SP contrast (figures/coord_check.py's toy)
    sp_steps: int
    steps: int = MUP_STEPS
    base_lr: float = MUP_BASE_LR
    base_width: int = MUP_BASE_WIDTH
    tol_premise: float = 0.1
    tol_transfer: float = 0.25
    seeds: int = 3
    n_boot: int = 1000
    n_probe: int = 10_000

    def label(self) -> str:
        return (f"μP testbed: base width {self.base_width}, base rate 2^{math.log2(self.base_lr):g}"
                f", {self.steps} AdamW steps, batch 64, {common.width_range(self.widths)}; SP "
                f"contrast {self.sp_steps} steps at 3e-4, {common.width_range(self.sp_widths)}; "
                f"rate sweep n ∈ {{{', '.join(map(str, self.sweep_widths))}}}, "
                f"{self.steps} steps, grid 2^k")


def config(mode: str) -> Config:
    """Quick: premise over 2^6…2^10 (five widths: a t-interval needs points), rate sweep at
    2^7, 2^8, 2^9; full: premise over 2^7…2^12, rate sweep at 2^7, 2^9, 2^11."""
    from . import coord_check
    sp = next(c for c in coord_check.configs(mode) if c.model == "toy" and not c.variant)
    sp_steps = cast(int, dict(sp.model_options).get("pretrain_steps", 2000))
    if mode == "quick":
        return Config((64, 128, 256, 512, 1024), (128, 256, 512), sp.widths, sp_steps,
                      n_probe=2000)
    return Config(tuple(2 ** k for k in range(7, 13)), (128, 512, 2048), sp.widths, sp_steps)


# ---- measurements --------------------------------------------------------------------------

def _model(par: str, width: int, cfg: Config, lr: float, steps: int):
    from toy_models.toy import ToyModel
    return ToyModel(width=width, pretrain_lr=lr, pretrain_steps=steps, parametrization=par,
                    base_width=cfg.base_width)


def premise(cfg: Config, ctx: Context) -> pd.DataFrame:
    """RMS of z = φ(W_in x) (and of the hidden output φ(W z)) per parametrisation and width."""
    import torch

    from toy_models.toy import PRETRAIN_LR, load_data, load_or_pretrain
    X = load_data("fashion-mnist", "test")[0][: cfg.n_probe]
    rows = []
    todo = [("mup", n, cfg.base_lr, cfg.steps) for n in cfg.widths]
    todo += [("sp", n, PRETRAIN_LR, cfg.sp_steps) for n in cfg.sp_widths]
    for par, n, lr, steps in todo:
        frozen, info = load_or_pretrain(_model(par, n, cfg, lr, steps))
        sq_z = sq_h = 0.0
        with torch.no_grad():
            for i in range(0, len(X), 2000):
                z = torch.relu(X[i:i + 2000].double() @ frozen.W_in.double().T)
                sq_z += float(z.pow(2).sum())
                sq_h += float(torch.relu(z @ frozen.W.double().T).pow(2).sum())
        rows.append({"par": par, "width": n, "rms_z": math.sqrt(sq_z / (len(X) * n)),
                     "rms_h": math.sqrt(sq_h / (len(X) * n)), "test_acc": info["test_acc"],
                     "pretrain_s": info.get("pretrain_wall_s", math.nan),
                     "cached": info["cached"]})
    return pd.DataFrame(rows)


def sweep_rates(cfg: Config) -> pd.DataFrame:
    """Rows (par, width, k, seed, test loss, …) of the rate sweep.  Per (parametrisation,
    width): seed 0 brackets the minimum on the grid 2^k (two rates on each side); then every
    seed runs the three rates around it, and the window grows by a rate (all seeds) while the
    seed mean's minimum lies on its edge — so the parabola's three points bracket the mean."""
    from toy_models.toy import data_fingerprint, load_data, pretrain_summary
    train, test = load_data("mnist", "train"), load_data("mnist", "test")
    fp = data_fingerprint(*train)
    start = round(math.log2(cfg.base_lr))
    rows: list[dict] = []
    for par in PARS:
        for n in cfg.sweep_widths:
            # at the base width SP and μP are one network: train it once (as μP)
            use = "mup" if n == cfg.base_width else par
            losses: dict[tuple[int, int], float] = {}

            def loss(k: int, seed: int, use: str = use, n: int = n, par: str = par,
                     losses: dict = losses) -> float:
                if (k, seed) not in losses:
                    m = replace(_model(use, n, cfg, 2.0 ** k, cfg.steps), pretrain_seed=seed)
                    i = pretrain_summary(m, train=train, test=test, fingerprint=fp)
                    losses[(k, seed)] = i["test_loss"]
                    rows.append({"par": par, "width": n, "k": k, "seed": seed,
                                 "test_loss": i["test_loss"], "test_acc": i["test_acc"],
                                 "train_loss": i.get("train_loss_last", math.nan),
                                 "pretrain_s": i.get("pretrain_wall_s", math.nan),
                                 "cpu_s": i.get("pretrain_cpu_s", math.nan),
                                 "cached": i["cached"]})
                return losses[(k, seed)]

            vals = rate_transfer.bracket(lambda k: loss(k, 0), start, *GRID)
            k0 = min(vals, key=lambda k: (vals[k], k))
            window = {k for k in (k0 - 1, k0, k0 + 1) if GRID[0] <= k <= GRID[1]}
            while True:
                mean = {k: np.mean([loss(k, s) for s in range(cfg.seeds)]) for k in window}
                kmin = min(mean, key=lambda k: (mean[k], k))
                grow = [k for k in (kmin - 1, kmin + 1)
                        if GRID[0] <= k <= GRID[1] and k not in window]
                if not grow:
                    break
                window.add(grow[0])
    return pd.DataFrame(rows)


def optima(cfg: Config, rates: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Best log₂ rate per (par, width): the vertex of the parabola through the seed-mean test
    losses at the grid minimum and its neighbours (the rates every seed ran), with its
    bootstrap interval; and the slope of the best log₂ rate against log₂ n per
    parametrisation.  Seeds are resampled within each (width, rate) cell
    (width_sweeps.bootstrap.stratified; resampling the rates of one seed independently ignores
    that they share the seed's init, which only widens the interval)."""
    from width_sweeps.bootstrap import stratified
    cells: dict[tuple[str, int, int], np.ndarray] = {}
    ks_of: dict[tuple[str, int], np.ndarray] = {}
    for (par, n), g in rates.groupby(["par", "width"], sort=True):
        per_k = g.groupby("k").seed.nunique()
        ks = np.array(sorted(per_k[per_k == per_k.max()].index))
        ks_of[(par, int(n))] = ks
        for k in ks:
            cells[(par, int(n), int(k))] = g[g.k == k].test_loss.to_numpy(float)

    def vertex(m: dict, key: tuple[str, int]) -> np.ndarray:
        ks = ks_of[key]
        return rate_transfer.optimum(ks, np.stack([m[(*key, int(k))] for k in ks]))

    best, fits = [], []
    for key, ks in ks_of.items():
        mine = {c: v for c, v in cells.items() if c[:2] == key}

        def at(m: dict, key: tuple[str, int] = key) -> np.ndarray:
            return vertex(m, key)

        b = stratified(mine, at, n_boot=cfg.n_boot)
        best.append({"par": key[0], "width": key[1], "log2_lr": b.estimate, "lo": b.low,
                     "hi": b.high, "seeds": b.min_seeds,
                     "rates": ",".join(str(k) for k in ks)})
    for par in PARS:
        keys = [k for k in ks_of if k[0] == par]
        x = np.log2([k[1] for k in keys])
        mine = {c: v for c, v in cells.items() if c[0] == par}

        def slope(m: dict, keys: list = keys, x: np.ndarray = x) -> np.ndarray:
            return rate_transfer.slopes(x, np.stack([vertex(m, k) for k in keys], -1))

        b = stratified(mine, slope, n_boot=cfg.n_boot)
        fits.append({"par": par, "fitted": b.estimate, "ci_low": b.low, "ci_high": b.high,
                     "n_widths": len(keys), "n_seeds": b.min_seeds})
    return pd.DataFrame(best), pd.DataFrame(fits)


def premise_fits(prem: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    """Fitted exponent of RMS z per parametrisation (width_sweeps.fit.fit_series: one value per
    width, so the interval is the regression interval from the scatter across widths); widths
    where z vanished (every ReLU of the input layer dead) are left out and counted in `dead`."""
    from width_sweeps.fit import FitOptions, fit_series
    opts = FitOptions(tolerance=cfg.tol_premise, n_boot=cfg.n_boot)
    rows = []
    for par in PARS:
        g = prem[prem.par == par].sort_values("width")
        live = g[g.rms_z > 0]
        row = {"par": par, "fitted": math.nan, "ci_low": math.nan, "ci_high": math.nan,
               "local": math.nan, "local_low": math.nan, "local_high": math.nan}
        if len(live) >= 2:
            f = fit_series(live.width.to_numpy(), [np.log([v]) for v in live.rms_z], opts,
                           np.random.default_rng(0))
            row.update({k: f.get(k, math.nan) for k in row if k != "par"})
        rows.append({**row, "n_widths": len(live), "dead": len(g) - len(live)})
    return pd.DataFrame(rows)


# ---- verdicts ------------------------------------------------------------------------------

def claims(cfg: Config, pfits: pd.DataFrame, tfits: pd.DataFrame) -> list[Claim]:
    """Premise rows: the verdict rule for a fitted exponent (prediction 0, the toy's tolerance;
    one pretraining per width, so the interval comes from the scatter across widths).  Transfer
    rows: the seed-bootstrap interval of the slope against the claimed region (μP: inside
    ±tol; SP: below −tol)."""
    from width_sweeps.verdict import Rule, judge_effect, judge_exponent
    out = []
    rule = Rule(tolerance=cfg.tol_premise)
    for par in PARS:
        r = pfits[pfits.par == par].iloc[0]
        v = judge_exponent("0", r.fitted, r.ci_low, r.ci_high, n_widths=int(r.n_widths),
                           n_seeds=1, seedless=True, local=r.local, local_low=r.local_low,
                           local_high=r.local_high, rule=rule)
        what = ("μP-pretrained toy" if par == "mup" else
                "SP-pretrained toy (the contrast: SP does not promise it)")
        note = f"{v.reason}; regression interval over {r.n_widths} widths"
        if np.isfinite(r.local):
            note += f", largest widths {r.local:+.3f}"
        out.append(Claim("mup_pretraining", f"{what}: the LoRA input z = φ(W_in x) keeps Θ(1) "
                         "entries across widths (γ of RMS z)", SRC_PREMISE,
                         f"γ = 0 (±{cfg.tol_premise:g})", f"{r.fitted:+.3f}",
                         common.fmt_ci(r.ci_low, r.ci_high), v.verdict,
                         note + (f"; z vanished at {r.dead} widths" if r.dead else ""),
                         common.claim_id("mup_pretraining", "premise", par),
                         "toy-mup" if par == "mup" else "toy", float(r.ci_low),
                         float(r.ci_high)))
    tt = cfg.tol_transfer
    texts = {"mup": ("μP: the best pretraining base rate (MNIST test loss) stays put across "
                     "widths (slope of log₂ η* against log₂ n)"),
             "sp": ("SP: the best pretraining rate shifts with width (slope of log₂ η* against "
                    "log₂ n below 0)")}
    for par, region, pred in (("mup", (-tt, tt), f"0 (±{tt:g})"),
                              ("sp", (-np.inf, -tt), f"< −{tt:g}")):
        text = texts[par]
        r = tfits[tfits.par == par].iloc[0]
        v = judge_effect(r.ci_low, r.ci_high, low=region[0], high=region[1],
                         n_seeds=int(r.n_seeds))
        out.append(Claim("mup_pretraining", text, SRC_TRANSFER, pred, f"{r.fitted:+.3f}",
                         common.fmt_ci(r.ci_low, r.ci_high), v.verdict,
                         f"{v.reason}; {r.n_widths} widths, {r.n_seeds} pretraining seeds",
                         common.claim_id("mup_pretraining", "transfer", par),
                         "toy-mup" if par == "mup" else "toy", float(r.ci_low),
                         float(r.ci_high)))
    return out


# ---- figure --------------------------------------------------------------------------------

def plot(cfg: Config, prem: pd.DataFrame, pfits: pd.DataFrame, rates: pd.DataFrame,
         best: pd.DataFrame, tfits: pd.DataFrame, ctx: Context):
    """(a) RMS z vs width; (b) best rate vs width; (c, d) test loss vs rate per width."""
    with style.rc():
        fig, axes = style.figure(2, 2, size=(10.5, 7.6),
                                 footer=common.footer("mup_pretraining", ctx, cfg.label()),
                                 title="μP pretraining of the MNIST toy: the LoRA input keeps "
                                       "Θ(1) entries, and the best rate transfers across widths")
        ax = axes[0, 0]
        for par in PARS:
            g = prem[prem.par == par].sort_values("width")
            r = pfits[pfits.par == par].iloc[0]
            ax.plot(g.width, g.rms_z, marker="o", color=PAR_COLORS[par],
                    label=f"{PAR_NAMES[par]}: γ {r.fitted:+.2f} "
                          f"{common.fmt_ci(r.ci_low, r.ci_high, 2)}")
        style.log2_width_axis(ax, sorted(set(prem.width)))
        ax.set_yscale("log", base=2)
        ax.set_ylabel("RMS entry of z = φ(W_in x)")
        ax.set_title("(a) premise: z = Θ(1) across widths (Fashion-MNIST test images)")
        ax.legend(loc="best")
        ax = axes[0, 1]
        for par in PARS:
            g = best[best.par == par].sort_values("width")
            r = tfits[tfits.par == par].iloc[0]
            ax.errorbar(g.width, 2.0 ** g.log2_lr, yerr=[2.0 ** g.log2_lr - 2.0 ** g.lo,
                                                        2.0 ** g.hi - 2.0 ** g.log2_lr],
                        marker="o", capsize=3, color=PAR_COLORS[par],
                        label=f"{PAR_NAMES[par]}: slope {r.fitted:+.2f} "
                              f"{common.fmt_ci(r.ci_low, r.ci_high, 2)}")
        style.log2_width_axis(ax, cfg.sweep_widths)
        ax.set_yscale("log", base=2)
        ax.set_ylabel("best (base) rate η*")
        ax.set_title(f"(b) best pretraining rate against width ({cfg.seeds} seeds, 95 % "
                     "bootstrap)")
        ax.legend(loc="best")
        for j, par in enumerate(PARS):
            _loss_panel(axes[1, j], rates[rates.par == par], best[best.par == par], par, cfg)
    return fig


def _loss_panel(ax, rates: pd.DataFrame, best: pd.DataFrame, par: str, cfg: Config) -> None:
    from matplotlib import colormaps
    cmap = colormaps["viridis"]
    ws = sorted(rates.width.unique())
    for i, n in enumerate(ws):
        g = rates[rates.width == n].groupby("k").test_loss.mean()      # seed mean
        c = cmap(0.1 + 0.75 * i / max(1, len(ws) - 1))
        ax.plot(2.0 ** g.index.to_numpy(float), g.clip(upper=2.5), marker="o", color=c,
                label=f"n = {n}")
        b = best[best.width == n].iloc[0]
        ax.axvline(2.0 ** b.log2_lr, color=c, ls=":", lw=1.0)
    ax.set_xscale("log", base=2)
    what = "base rate η_base (η_l = η_base·(n/n₀)^c_l)" if par == "mup" else "rate η (all layers)"
    ax.set_xlabel(what)
    ax.set_ylabel("MNIST test loss")
    ax.set_title(f"({'c' if par == 'mup' else 'd'}) {PAR_NAMES[par]}: test loss after "
                 f"{cfg.steps} steps (seed mean; dotted: optimum)")
    ax.legend(loc="upper center", ncol=len(ws))


def details(prem: pd.DataFrame, rates: pd.DataFrame, best: pd.DataFrame) -> str:
    from width_sweeps.report import table
    p = prem.assign(par=prem.par.map(PAR_NAMES))
    r = rates.assign(par=rates.par.map(PAR_NAMES)).sort_values(["par", "width", "k", "seed"])
    b = best.assign(par=best.par.map(PAR_NAMES))
    return ("<details><summary>Premise: RMS of z and of φ(W z), MNIST test accuracy, "
            "pretraining seconds per width</summary>\n\n"
            + table(p, list(p.columns), markdown=True)
            + "\n\n</details>\n\n<details><summary>Rate sweep (k: rate 2^k) and optima"
            "</summary>\n\n" + table(r, list(r.columns), markdown=True) + "\n\n"
            + table(b, list(b.columns), markdown=True) + "\n\n</details>")


def run(ctx: Context) -> FigureResult:
    t0 = time.perf_counter()
    cfg = config(ctx.mode)
    rates = sweep_rates(cfg)
    best, tfits = optima(cfg, rates)
    prem = premise(cfg, ctx)
    pfits = premise_fits(prem, cfg)
    fig = plot(cfg, prem, pfits, rates, best, tfits, ctx)
    res = FigureResult("mup_pretraining", "μP pretraining of the toy: premise and rate transfer",
                       "Does μP pretraining keep the LoRA input z = Θ(1) across widths (the "
                       "width theory's premise), and does its best pretraining rate transfer "
                       "across widths while SP's shifts (Tensor Programs V)?",
                       claims(cfg, pfits, tfits), [common.save(fig, "mup_pretraining", ctx)],
                       cfg.label(), common.device_label(ctx.device), time.perf_counter() - t0,
                       details(prem, rates, best))
    res.rule = (common.rule_text(cfg.tol_premise) + f" Premise rows: one pretraining per "
                f"width, so the interval is the regression interval from the scatter across "
                f"widths. Transfer rows: the {cfg.seeds}-seed bootstrap interval of the slope of "
                f"log₂ η* against log₂ n passes inside [−{cfg.tol_transfer:g}, "
                f"+{cfg.tol_transfer:g}] (μP) or below −{cfg.tol_transfer:g} (SP), fails when "
                f"it misses that region, else is inconclusive.")
    return res


if __name__ == "__main__":
    raise SystemExit(common.main(run))
