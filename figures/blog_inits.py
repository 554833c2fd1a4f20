"""The A×0 ≠ 0×B blog's sweep on our toy: evaluation loss against learning rate for
Standard (Init[A]), Reversed (Init[B]), Ortho-Eye (const), Ortho-QR (const) and Ortho-QR (match),
mean over seeds, blow-ups marked — as a plot and as a table like the blog's.

The blog fine-tuned Qwen2.5-1.5B on no_robots at 7 rates 1e−4…1e−2 with 4 seeds; we fine-tune the
MNIST-pretrained toy on Fashion-MNIST (Adam, 100 steps, batch 64, r = 32).  Our rate grid keeps
the blog's 1–2–5 spacing over two decades, shifted to where the toy goes from slow to unstable
(20× the blog's rates at n = 512, 10× at n = 4096 — Adam's stable rate falls with width).  A run
has *blown up* when it diverged or its Fashion-MNIST test loss ends above ln 10 (worse than a
uniform guess).  Claims tested (blog's conclusions): Standard reaches the lowest loss; Standard
tolerates the highest rate; Reversed and Ortho-QR (match) blow up at a lower rate than Standard.
Verdicts (docs/theory.md §9.6): the lowest-loss row judges a bootstrap interval (seeds per cell,
over the rates where no seed blew up);
the rate rows compare largest stable rates that are known only up to their grid cell
(width_sweeps.verdict.compare_on_grid): two schemes in the same cell are inconclusive.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import common, style
from .common import Claim, Context, FigureResult

SCHEMES = ("A", "B", "ortho-eye-const", "ortho-qr-const", "ortho-qr-match")
BLOG_RATES = (1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2)
BLOWUP = math.log(10)
SOURCE = "A×0 ≠ 0×B blog (Results, Overview)"


@dataclass(frozen=True)
class Config:
    width: int
    seeds: int
    rate_factor: float
    pretrain_steps: int
    n_test: int | None

    @property
    def rates(self) -> list[float]:
        return [r * self.rate_factor for r in BLOG_RATES]

    def spec(self) -> dict:
        opts = common.toy_options(self.pretrain_steps, self.n_test)
        return {"name": "blog_inits", "model": "toy", "widths": [self.width],
                "schemes": list(SCHEMES), "optimizer": "adam", "eta0": self.rates,
                "n0": self.width, "seeds": self.seeds, "steps": 100, "batch_size": 64,
                "probe_batch": 16, "rank": 32, "dtype": "float32", "runs_per_shard": 256,
                "test_eval": True, "model_options": opts}

    def label(self) -> str:
        return common.toy_label(self.width, self.pretrain_steps, self.n_test,
                                f"rates = {self.rate_factor:g} × blog's, {self.seeds} seeds")


def config(mode: str) -> Config:
    if mode == "quick":
        return Config(512, 2, 20.0, 500, 2000)
    return Config(4096, 4, 10.0, 2000, None)


def measure(cfg: Config, ctx: Context) -> pd.DataFrame:
    from width_sweeps.results import load
    _, runs = load(common.sweep(cfg.spec(), ctx, "blog_inits"))
    runs = runs.copy()
    runs["blown_up"] = (runs.status != "ok") | ~(runs.final_test_loss <= BLOWUP)
    return runs


def table(runs: pd.DataFrame) -> pd.DataFrame:
    """Rows η, columns scheme: seed-mean test loss (NaN when every seed diverged)."""
    return runs.pivot_table(index="eta0", columns="scheme", values="final_test_loss",
                            aggfunc="mean", observed=True).reindex(columns=list(SCHEMES))


def blown(runs: pd.DataFrame) -> pd.DataFrame:
    """Rows η, columns scheme: True when any seed blew up."""
    return runs.pivot_table(index="eta0", columns="scheme", values="blown_up", aggfunc="max",
                            observed=True).reindex(columns=list(SCHEMES)).astype(bool)


def stable_max(runs: pd.DataFrame) -> dict[str, float]:
    """Largest rate below which no seed of the scheme blew up (0 if the smallest already did)."""
    b = blown(runs)
    out = {}
    for s in SCHEMES:
        ok = ~b[s].to_numpy()
        k = int(np.argmin(ok)) if not ok.all() else len(ok)
        out[s] = float(b.index[k - 1]) if k else 0.0
    return out


def claims(runs: pd.DataFrame) -> list[Claim]:
    from width_sweeps.bootstrap import stratified
    from width_sweeps.verdict import combine, compare_on_grid, judge_effect
    out = []
    ok = runs[~runs.blown_up]
    # a rate counts for a scheme only when every seed stayed finite there (no cell of survivors)
    cells = {k: g.final_test_loss.to_numpy(float) for k, g in
             runs.groupby(["scheme", "eta0"], observed=True) if not g.blown_up.any()}

    def gap(m: dict) -> np.ndarray:
        best = {s: np.min(np.stack([v for k, v in m.items() if k[0] == s]), 0) for s in SCHEMES
                if any(k[0] == s for k in m)}
        others = np.min(np.stack([v for s, v in best.items() if s != "A"]), 0)
        return best["A"] - others
    b = stratified(cells, gap)
    v = judge_effect(b.low, b.high, high=0.0, n_seeds=b.min_seeds)
    t = table(ok)
    best = {s: (t[s].min(), t[s].idxmin()) for s in SCHEMES if t[s].notna().any()}
    runner = min((s for s in best if s != "A"), key=lambda s: best[s][0])
    out.append(Claim(
        "blog_inits", "Standard reaches the lowest eval loss of the five inits (best rate "
        "each): Standard − best other", SOURCE, "< 0",
        f"{b.estimate:+.3f} (Standard {best['A'][0]:.3f} at η = {best['A'][1]:g}; best other "
        f"{style.short(runner, 'blog')} {best[runner][0]:.3f})", f"[{b.low:+.3f}, {b.high:+.3f}]",
        v.verdict, f"{b.min_seeds} seeds" + ("" if v.verdict == "pass" else f" — {v.reason}"),
        common.claim_id("blog_inits", "lowest-loss"), "toy", b.low, b.high))
    smax = stable_max(runs)
    grid = np.sort(runs.eta0.unique())
    listing = "; ".join(f"{style.short(s, 'blog')} {smax[s]:g}" for s in SCHEMES)
    parts = [compare_on_grid(smax[s], smax["A"], grid) for s in SCHEMES if s != "A"]
    same = [style.short(s, "blog") for s, p in zip(SCHEMES[1:], parts) if p.verdict != "pass"]
    out.append(Claim("blog_inits", "Standard tolerates the highest rate (largest rate "
                     "with no blow-up in any seed)", SOURCE, "Standard above every other",
                     listing, "grid ratio 2–2.5", combine(parts),
                     f"not separated from: {', '.join(same)}" if same else "",
                     common.claim_id("blog_inits", "highest-rate"), "toy"))
    for s in ("B", "ortho-qr-match"):
        v = compare_on_grid(smax[s], smax["A"], grid)
        out.append(Claim("blog_inits", f"{style.name(s, 'blog')} blows up at a lower rate "
                         "than Standard", SOURCE, f"η_max({s}) < η_max(Standard)",
                         f"{smax[s]:g} vs {smax['A']:g}", "grid ratio 2–2.5", v.verdict,
                         "" if v.verdict == "pass" else v.reason,
                         common.claim_id("blog_inits", "lower-rate", s), "toy"))
    return out


def plot(cfg: Config, runs: pd.DataFrame, ctx: Context):
    t, b = table(runs), blown(runs)
    with style.rc():
        fig, axes = style.figure(1, 2, size=(11, 4.4),
                                 footer=common.footer("blog_inits", ctx, cfg.label()),
                                 title="The A×0 ≠ 0×B blog's sweep on our toy: Fashion-MNIST "
                                       "eval loss after 100 steps against learning rate (mean "
                                       "over seeds; × blow-up)")
        for k, ax in enumerate(axes[0]):
            for i, s in enumerate(SCHEMES):
                y = t[s]
                x = y.index.to_numpy(float) * (1 + 0.03 * (i - 2))     # dodge
                ax.plot(x, y, color=style.color(s), marker="o", label=style.name(s, "blog"))
                bad = b[s].to_numpy()
                ax.plot(x[bad], np.where(np.isfinite(y[bad]), y[bad], BLOWUP), ls="none",
                        marker="X", ms=9, mec="black", mew=0.6, color=style.color(s))
            ax.axhline(BLOWUP, **style.REFERENCE)
            ax.set_xscale("log")
            ax.set_xlabel("learning rate η (Adam)")
            ax.set_ylabel("eval loss (Fashion-MNIST test cross-entropy)")
        ax0, ax1 = axes[0]
        ax0.set_yscale("log")
        ax0.set_title("all rates (log scale); dotted: ln 10, uniform guess = blow-up line")
        good = t.where(~b)
        lo, hi = np.nanmin(good.to_numpy()), np.nanmax(good.to_numpy())
        ax1.set_ylim(lo - 0.05 * (hi - lo), hi + 0.1 * (hi - lo))
        ax1.set_title("zoom on the runs that did not blow up")
        ax0.legend(loc="upper left")
    return fig


def details(runs: pd.DataFrame) -> str:
    """The blog's two tables: mean eval loss († blow-up) and relative to Standard."""
    t, b = table(runs), blown(runs)
    names = [style.name(s, "blog") for s in SCHEMES]
    head = "| η | " + " | ".join(names) + " |\n|---" + "|---" * len(SCHEMES) + "|"
    rows, rel = [], []
    for e in t.index:
        cells = [f"{t.at[e, s]:.4f}" + (" †" if b.at[e, s] else "") for s in SCHEMES]
        rows.append(f"| {e:g} | " + " | ".join(cells) + " |")
        base = t.at[e, "A"]
        rc = ["Baseline"] + [f"{100 * (t.at[e, s] / base - 1):+.2f} %" for s in SCHEMES[1:]]
        rel.append(f"| {e:g} | " + " | ".join(rc) + " |")
    return ("Mean eval loss over seeds († = blown up in at least one seed: diverged or loss "
            f"> ln 10):\n\n{head}\n" + "\n".join(rows)
            + f"\n\nRelative to Standard:\n\n{head}\n" + "\n".join(rel))


def run(ctx: Context) -> FigureResult:
    t0 = time.perf_counter()
    cfg = config(ctx.mode)
    runs = measure(cfg, ctx)
    fig = plot(cfg, runs, ctx)
    res = FigureResult("blog_inits", "The A×0 ≠ 0×B blog's init sweep on our toy",
                       "Is Standard (Init[A]) the best and most rate-tolerant of the five inits "
                       "the blog compared, with Reversed and Ortho-QR (match) blowing up first?",
                       claims(runs), [common.save(fig, "blog_inits", ctx)], cfg.label(),
                       common.device_label(ctx.device), time.perf_counter() - t0,
                       details(runs))
    res.rule = ("the verdict rule (docs/theory.md §9.6). Lowest-loss row: pass when the 95 % "
                "bootstrap interval of Standard − best other lies below 0, fail when above, else "
                "(or with fewer than 3 seeds) inconclusive. Rate rows: the largest rate with no "
                "blow-up (diverged, or loss > ln 10) in any seed is known only up to its grid "
                "cell; a comparison passes when the cells are ordered as claimed, fails when "
                "ordered the other way, and is inconclusive when the two share a cell.")
    return res


if __name__ == "__main__":
    raise SystemExit(common.main(run))
