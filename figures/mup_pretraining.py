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
parabola vertex in log₂ η; interval: paired bootstrap over the test examples.  At n = n₀ the
two parametrisations are the same network, so the curves share their base-width point.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
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
SRC_PREMISE = "Tensor Programs V (μP); Beyond Zero Initialization (Theorem 1's premise z = Θ(1))"
SRC_TRANSFER = "Tensor Programs V (μP transfer)"


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


def sweep_rates(cfg: Config) -> tuple[pd.DataFrame, dict]:
    """Bracketed rate sweep per (parametrisation, width): rows (par, width, k, loss, …) and the
    per-example test losses {(par, width): (ks, (K, n_test) array)}."""
    from toy_models.toy import data_fingerprint, load_data, pretrain_summary
    train, test = load_data("mnist", "train"), load_data("mnist", "test")
    fp = data_fingerprint(*train)
    start = round(math.log2(cfg.base_lr))
    rows, per = [], {}
    for par in PARS:
        for n in cfg.sweep_widths:
            # at the base width SP and μP are one network: train it once (as μP)
            use = "mup" if n == cfg.base_width else par
            infos: dict[int, dict] = {}

            def evaluate(k: int, use=use, n=n, infos=infos) -> float:
                infos[k] = pretrain_summary(_model(use, n, cfg, 2.0 ** k, cfg.steps),
                                            train=train, test=test, fingerprint=fp)
                return infos[k]["test_loss"]

            vals = rate_transfer.bracket(evaluate, start, *GRID)
            ks = np.array(sorted(vals))
            per[(par, n)] = (ks, np.stack([np.asarray(infos[k]["test_losses"]) for k in ks]))
            for k in ks:
                i = infos[k]
                rows.append({"par": par, "width": n, "k": int(k), "lr": 2.0 ** k,
                             "test_loss": i["test_loss"], "test_acc": i["test_acc"],
                             "train_loss": i.get("train_loss_last", math.nan),
                             "pretrain_s": i.get("pretrain_wall_s", math.nan),
                             "cached": i["cached"]})
    return pd.DataFrame(rows), per


def optima(cfg: Config, per: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Best log₂ rate per (par, width) with its bootstrap interval, and the fitted width
    exponent of the best rate per parametrisation (paired bootstrap over test examples)."""
    a = 0.025
    keys = list(per)
    flat = [row for key in keys for row in per[key][1]]
    boot = rate_transfer.paired_means(flat, cfg.n_boot)
    best, best_boot, i0 = [], {}, 0
    for key in keys:
        ks, L = per[key]
        b = rate_transfer.optimum(ks, boot[i0:i0 + len(ks)])
        est = float(rate_transfer.optimum(ks, L.mean(1)[:, None])[0])
        i0 += len(ks)
        best_boot[key] = b
        lo, hi = np.quantile(b, [a, 1 - a])
        best.append({"par": key[0], "width": key[1], "log2_lr": est, "lo": lo, "hi": hi,
                     "grid_min": int(ks[np.argmin(L.mean(1))])})
    fits = []
    for par in PARS:
        ws = [k[1] for k in keys if k[0] == par]
        x = np.log2(ws)
        y = np.array([next(r["log2_lr"] for r in best if r["par"] == par and r["width"] == w)
                      for w in ws])
        bs = rate_transfer.slopes(x, np.stack([best_boot[(par, w)] for w in ws], -1))
        lo, hi = np.quantile(bs, [a, 1 - a])
        fits.append({"par": par, "fitted": float(rate_transfer.slopes(x, y)), "ci_low": lo,
                     "ci_high": hi, "n_widths": len(ws)})
    return pd.DataFrame(best), pd.DataFrame(fits)


def premise_fits(prem: pd.DataFrame) -> pd.DataFrame:
    """Fitted exponent of RMS z per parametrisation; widths where z vanished (every ReLU of the
    input layer dead) are left out of the fit and counted in `dead`."""
    rows = []
    for par in PARS:
        g = prem[prem.par == par].sort_values("width")
        live = g[g.rms_z > 0]
        s = lo = hi = math.nan
        if len(live) >= 3:
            s, lo, hi = rate_transfer.ols_slope(np.log(live.width), np.log(live.rms_z))
        rows.append({"par": par, "fitted": s, "ci_low": lo, "ci_high": hi,
                     "n_widths": len(live), "dead": len(g) - len(live)})
    return pd.DataFrame(rows)


# ---- verdicts ------------------------------------------------------------------------------

def decide(lo: float, hi: float, low: float, high: float) -> tuple[str, str]:
    """Interval [lo, hi] against the claimed region [low, high]: pass inside, fail when they
    do not meet, inconclusive when the interval straddles the region's edge."""
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "inconclusive", "no finite interval"
    if hi < low or lo > high:
        return "fail", f"interval [{lo:+.2f}, {hi:+.2f}] misses [{low:+.2f}, {high:+.2f}]"
    if low <= lo and hi <= high:
        return "pass", "interval inside the claimed region"
    return "inconclusive", "interval straddles the claimed region's edge"


def claims(cfg: Config, pfits: pd.DataFrame, tfits: pd.DataFrame) -> list[Claim]:
    out = []
    tp, tt = cfg.tol_premise, cfg.tol_transfer
    for par in PARS:
        r = pfits[pfits.par == par].iloc[0]
        v, why = decide(r.ci_low, r.ci_high, -tp, tp)
        what = ("μP-pretrained toy" if par == "mup" else
                "SP-pretrained toy (contrast; not expected to hold it)")
        out.append(Claim("mup_pretraining", f"{what}: the LoRA input z = φ(W_in x) keeps Θ(1) "
                         "entries across widths (γ of RMS z)", SRC_PREMISE,
                         f"γ = 0 (±{tp:g})", f"{r.fitted:+.3f}",
                         common.fmt_ci(r.ci_low, r.ci_high), v,
                         f"{why}; t-interval over {r.n_widths} widths"
                         + (f"; z vanished at {r.dead} widths" if r.dead else "")))
    r = tfits[tfits.par == "mup"].iloc[0]
    v, why = decide(r.ci_low, r.ci_high, -tt, tt)
    out.append(Claim("mup_pretraining", "μP: the best pretraining base rate (MNIST test loss) "
                     "stays put across widths (slope of log₂ η* against log₂ n)", SRC_TRANSFER,
                     f"0 (±{tt:g})", f"{r.fitted:+.3f}", common.fmt_ci(r.ci_low, r.ci_high), v,
                     f"{why}; paired bootstrap over test examples, {r.n_widths} widths"))
    r = tfits[tfits.par == "sp"].iloc[0]
    v, why = decide(r.ci_low, r.ci_high, -np.inf, -tt)
    out.append(Claim("mup_pretraining", "SP: the best pretraining rate shifts with width "
                     "(slope of log₂ η* against log₂ n below 0)", SRC_TRANSFER,
                     f"< −{tt:g}", f"{r.fitted:+.3f}", common.fmt_ci(r.ci_low, r.ci_high), v,
                     f"{why}; paired bootstrap over test examples, {r.n_widths} widths"))
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
        ax.set_title("(b) best pretraining rate against width (95 % bootstrap)")
        ax.legend(loc="best")
        for j, par in enumerate(PARS):
            _loss_panel(axes[1, j], rates[rates.par == par], best[best.par == par], par, cfg)
    return fig


def _loss_panel(ax, rates: pd.DataFrame, best: pd.DataFrame, par: str, cfg: Config) -> None:
    from matplotlib import colormaps
    cmap = colormaps["viridis"]
    ws = sorted(rates.width.unique())
    for i, n in enumerate(ws):
        g = rates[rates.width == n].sort_values("k")
        c = cmap(0.1 + 0.75 * i / max(1, len(ws) - 1))
        ax.plot(g.lr, g.test_loss.clip(upper=2.5), marker="o", color=c, label=f"n = {n}")
        b = best[best.width == n].iloc[0]
        ax.axvline(2.0 ** b.log2_lr, color=c, ls=":", lw=1.0)
    ax.set_xscale("log", base=2)
    what = "base rate η_base (η_l = η_base·(n/n₀)^c_l)" if par == "mup" else "rate η (all layers)"
    ax.set_xlabel(what)
    ax.set_ylabel("MNIST test loss")
    ax.set_title(f"({'c' if par == 'mup' else 'd'}) {PAR_NAMES[par]}: test loss after "
                 f"{cfg.steps} steps (dotted: optimum)")
    ax.legend(loc="upper center", ncol=len(ws))


def details(prem: pd.DataFrame, rates: pd.DataFrame, best: pd.DataFrame) -> str:
    from width_sweeps.report import table
    p = prem.assign(par=prem.par.map(PAR_NAMES))
    r = rates.assign(par=rates.par.map(PAR_NAMES)).drop(columns=["lr"])
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
    prem = premise(cfg, ctx)
    pfits = premise_fits(prem)
    rates, per = sweep_rates(cfg)
    best, tfits = optima(cfg, per)
    fig = plot(cfg, prem, pfits, rates, best, tfits, ctx)
    res = FigureResult("mup_pretraining", "μP pretraining of the toy: premise and rate transfer",
                       "Does μP pretraining keep the LoRA input z = Θ(1) across widths (the "
                       "width theory's premise), and does its best pretraining rate transfer "
                       "across widths while SP's shifts (Tensor Programs V)?",
                       claims(cfg, pfits, tfits), [common.save(fig, "mup_pretraining", ctx)],
                       cfg.label(), common.device_label(ctx.device), time.perf_counter() - t0,
                       details(prem, rates, best))
    res.rule = (f"premise: pass when the 95 % t-interval of the fitted exponent of RMS z lies "
                f"inside [−{cfg.tol_premise:g}, +{cfg.tol_premise:g}], fail when it misses it, "
                f"else inconclusive; transfer: the 95 % paired-bootstrap interval of the slope "
                f"of log₂ η* against log₂ n inside [−{cfg.tol_transfer:g}, "
                f"+{cfg.tol_transfer:g}] (μP) or below −{cfg.tol_transfer:g} (SP) passes, one "
                f"that misses the region fails, else inconclusive.")
    return res


if __name__ == "__main__":
    raise SystemExit(common.main(run))
