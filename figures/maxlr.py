"""Largest stable learning rate against width for Init[A] and Init[B] (Adam, theory layer), with
the fitted exponent (95 % interval: seeds and lack of fit) against `gamma-solve max-lr`
(docs/theory.md §2.11: Init[A] tolerates Θ(n^{−1/2}), Init[B] only Θ(n^{−1}); Hayou et al. 2024).

Every rate of a log grid (ratio 2^{1/4}) runs at every width, all batched
(`width_sweeps.maxlr`): a run is stable when it never diverged and max_t RMS(ΔZ_B^t) ≤ τ = 2;
η_max is the largest grid rate below which every rate is stable.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import common, style
from .common import Claim, Context, FigureResult

SCHEMES = ("A", "B")
SOURCE = "LoRA+ (Hayou et al. 2024); Beyond Zero Init (§3.2 fn. 7)"


@dataclass(frozen=True)
class Config:
    widths: tuple[int, ...]
    seeds: int
    steps: int = 8
    tau: float = 2.0
    eta_from: float = 2.0 ** -13
    per_octave: int = 4

    def spec(self) -> dict:
        return {"name": "maxlr", "model": "theory-layer", "widths": list(self.widths),
                    "schemes": list(SCHEMES), "optimizer": "adam",
                    "eta0": {"from": self.eta_from, "to": 1.0, "per_octave": self.per_octave},
                    "n0": 1, "lr_exponents": ["0"], "seeds": self.seeds, "steps": self.steps,
                    "batch_size": 1, "probe_batch": 1, "rank": 4, "dtype": "float64",
                    "runs_per_shard": 1024,
                    "test_eval": False, "fit": {"maxlr": True, "tau": self.tau, "tolerance": 0.05}}

    def label(self) -> str:
        return (f"theory layer, Adam, r = 4, rate grid 2^-13…1 (×2^(1/{self.per_octave})), "
                f"{self.steps} steps, stable: max RMS ΔZ_B ≤ {self.tau:g}, "
                f"{common.width_range(self.widths)}, {self.seeds} seeds")


def config(mode: str) -> Config:
    if mode == "quick":
        return Config(tuple(2 ** k for k in range(6, 12)), 2)
    return Config(tuple(2 ** k for k in range(6, 15)), 4)


def measure(cfg: Config, ctx: Context) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(per (width, seed) η_max, fitted exponents with verdicts, per-run stability)."""
    from width_sweeps.analyze import analyze
    from width_sweeps.maxlr import stability
    from width_sweeps.results import load
    out = common.sweep(cfg.spec(), ctx, "maxlr")
    res = analyze(out)
    steps, runs = load(out)
    return res.maxlr_widths, res.maxlr, stability(steps, runs, cfg.tau)


def claims(fits: pd.DataFrame) -> list[Claim]:
    out = []
    for s in SCHEMES:
        row = fits[fits.scheme == s]
        text = f"{style.name(s)}: largest stable equal rate ∝ n^c (Adam)"
        cid = common.claim_id("maxlr", s)
        if not len(row):
            out.append(Claim("maxlr", text, SOURCE, "?", "missing", verdict="inconclusive",
                             note="not measured", id=cid, model="theory-layer"))
            continue
        r = row.iloc[0]
        why = "" if r.verdict == "pass" else f" — {r.reason}"
        out.append(Claim("maxlr", text, SOURCE, f"c = {r.predicted}", f"{r.fitted:+.3f} (largest "
                         f"widths {r.local:+.3f})", common.fmt_ci(r.ci_low, r.ci_high),
                         r.verdict, f"tol ±{r.tolerance:.2f}, {r.n_seeds} seeds{why}", cid,
                         "theory-layer", float(r.ci_low), float(r.ci_high)))
    return out


def plot(cfg: Config, best: pd.DataFrame, fits: pd.DataFrame, stab: pd.DataFrame, ctx: Context):
    with style.rc():
        fig, axes = style.figure(1, 3, size=(12, 4.0),
                                 footer=common.footer("maxlr", ctx, cfg.label()),
                                 title="Largest stable learning rate against width (Adam, theory "
                                       "layer)")
        ax = axes[0, 0]
        for s in SCHEMES:
            g = best[(best.scheme == s) & best.eta_max.notna()].groupby("width").eta_max
            m, lo, hi = np.exp(g.apply(lambda v: np.log(v).mean())), g.min(), g.max()
            row = fits[fits.scheme == s]
            lab = style.name(s)
            if len(row):
                r = row.iloc[0]
                mark = {"pass": "✓", "fail": "✗"}.get(r.verdict, "")
                ci = common.fmt_ci(r.ci_low, r.ci_high, 2)
                lab += f": fit {r.fitted:+.2f} {ci}, θ {r.predicted} {mark}"
                x = m.index.to_numpy(float)
                lx = np.log(x)
                p = common.frac(r.predicted)
                anchor = np.log(m.to_numpy()).mean() - p * lx.mean()
                ax.plot(x, np.exp(anchor + p * lx), **style.PREDICTION)
            ax.errorbar(m.index, m, yerr=[(m - lo).clip(lower=0), (hi - m).clip(lower=0)],
                        color=style.color(s), marker="o", capsize=2, label=lab)
        ax.plot([], [], **style.PREDICTION, label="gamma-solve max-lr slope")
        style.log2_width_axis(ax, best.width.unique())
        ax.set_yscale("log", base=2)
        ax.set_ylabel("largest stable rate η_max")
        ax.set_title("η_max (seed geo-mean, min–max)")
        ax.legend(loc="lower left", fontsize=6.5)
        for k, s in enumerate(SCHEMES):
            _stability_map(axes[0, k + 1], stab[stab.scheme == s], fits[fits.scheme == s], s)
    return fig


def _stability_map(ax, stab: pd.DataFrame, fit: pd.DataFrame, scheme: str) -> None:
    """Fraction of seeds stable over (width, rate); the predicted slope through the edge."""
    frac = stab.groupby(["eta0", "width"]).stable.mean().unstack("width")
    widths, etas = frac.columns.to_numpy(float), frac.index.to_numpy(float)
    im = ax.pcolormesh(_edges(widths), _edges(etas), frac.to_numpy(), cmap="Greys_r", vmin=0,
                       vmax=1, shading="flat")
    if len(fit):
        r = fit.iloc[0]
        p = common.frac(r.predicted)
        edge = stab[stab.stable].groupby("width").eta0.max()
        anchor = np.log(edge.to_numpy()).mean() - p * np.log(edge.index.to_numpy(float)).mean()
        ax.plot(widths, np.exp(anchor + p * np.log(widths)), color=style.color(scheme), ls="--",
                lw=1.6, label=f"slope {r.predicted} (gamma-solve)")
        ax.legend(loc="lower left", fontsize=6.5)
    style.log2_width_axis(ax)
    ax.set_yscale("log", base=2)
    ax.set_ylabel("learning rate η")
    ax.set_title(f"{style.name(scheme)}: fraction of seeds stable")
    ax.grid(False)
    ax.figure.colorbar(im, ax=ax, fraction=0.05, pad=0.02)


def _edges(v: np.ndarray) -> np.ndarray:
    """Cell edges of a log-spaced grid (geometric midpoints)."""
    lv = np.log(v)
    mid = (lv[1:] + lv[:-1]) / 2
    return np.exp(np.concatenate([[lv[0] - (mid[0] - lv[0])], mid, [lv[-1] + (lv[-1] - mid[-1])]]))


def run(ctx: Context) -> FigureResult:
    t0 = time.perf_counter()
    cfg = config(ctx.mode)
    best, fits, stab = measure(cfg, ctx)
    fig = plot(cfg, best, fits, stab, ctx)
    from width_sweeps.report import table
    det = table(fits, ["scheme", "optimizer", "predicted", "fitted", "ci_low", "ci_high", "local",
                       "n_widths", "verdict"], markdown=True)
    res = FigureResult("maxlr", "Largest stable rate against width",
                       "Does the largest stable Adam rate scale like n^−1/2 for Init[A] and "
                       "n^−1 for Init[B], as gamma-solve max-lr derives?", claims(fits),
                       [common.save(fig, "maxlr", ctx)], cfg.label(),
                       common.device_label(ctx.device), time.perf_counter() - t0, det)
    res.rule = (common.rule_text(0.05) + " The exponent is that of η_max (per width and seed) "
                "against n; η_max is known to a grid ratio of 2^(1/4), which enters the scatter "
                "across widths.")
    return res


if __name__ == "__main__":
    raise SystemExit(common.main(run))
