"""Beyond Zero Init's Figure 2 on our toy: Fashion-MNIST test accuracy and loss heat maps over
learning rate × init variance for Init[A] (σ_B = 0) and Init[AB+] (σ_A = σ_B, W kept), and their
difference.

The claim (Beyond Zero Init §3.4): zero init (Init[A]) degrades sharply at small rates, non-zero
init does not — while at the best rate the non-zero init costs nothing.  The MNIST-pretrained toy
(n = 4096, r = 32, docs/theory.md §6.1) is fine-tuned for 100 Adam steps, batch 64; the grid is
`width_sweeps/specs/fig2.toml` (7 rates × 8 variance multipliers β of Kaiming, σ² = β/n,
10 seeds; the paper's grids were lost, ours are documented there).  Measured statistics, each
with a 95 % interval from the project's one bootstrap (width_sweeps.bootstrap: seeds
resampled per cell), judged by the verdict rule (docs/theory.md §9.6):
* Δacc, Δloss at small rates: mean over β and over the rates below Init[A]'s best rate η* of
  (AB+ − A); pass when the interval lies on the predicted side of 0, fail when on the other;
* at the best rate: best-over-(η, β) accuracy of AB+ minus that of A; pass when the interval
  lies above −1 point (no loss from the non-zero init), fail when below.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import common, style
from .common import Claim, Context, FigureResult

SCHEMES = ("A", "AB+")
SOURCE = "Beyond Zero Init (§3.4, Fig. 2)"
SOURCE_BEST = "Beyond Zero Init (§3.5, §4.3)"


@dataclass(frozen=True)
class Config:
    width: int
    seeds: int
    rates: tuple[float, ...]
    scales: tuple[float, ...]
    pretrain_steps: int
    n_test: int | None
    compile: bool

    def spec(self) -> dict:
        from pathlib import Path

        import width_sweeps
        from width_sweeps.spec import load_spec
        base = load_spec(Path(width_sweeps.__file__).parent / "specs" / "fig2.toml").to_dict()
        opts = dict(base.get("model_options", {})) | common.toy_options(self.pretrain_steps,
                                                                          self.n_test)
        base.update(widths=[self.width], n0=self.width, seeds=list(range(self.seeds)),
                    eta0=list(self.rates), init_scales=list(self.scales), compile=self.compile,
                    model_options=opts)
        base.pop("device", None)
        return base

    def label(self) -> str:
        return common.toy_label(self.width, self.pretrain_steps, self.n_test,
                                f"{len(self.rates)} rates × {len(self.scales)} β × "
                                f"{self.seeds} seeds")


def config(mode: str) -> Config:
    if mode == "quick":
        return Config(512, 3, (3e-4, 1e-3, 3e-3, 1e-2, 3e-2), (0.25, 1.0, 4.0, 16.0), 500,
                      2000, False)
    return Config(4096, 10, (1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2),
                  (0.0625, 0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0), 2000, None, True)


def measure(cfg: Config, ctx: Context) -> pd.DataFrame:
    """Runs table: one row per run with final_test_acc / final_test_loss (NaN if diverged)."""
    from width_sweeps.results import load
    _, runs = load(common.sweep(cfg.spec(), ctx, "beyond_zero_fig2"))
    return runs


def cells(runs: pd.DataFrame, metric: str) -> dict[tuple, np.ndarray]:
    """(scheme, η, β) → seed values of `metric`."""
    return {k: g[metric].to_numpy(float) for k, g in
            runs.groupby(["scheme", "eta0", "init_scale"], observed=True)}


def grid(runs: pd.DataFrame, scheme: str, metric: str) -> pd.DataFrame:
    """Seed mean of `metric`, rows β, columns η."""
    g = runs[runs.scheme == scheme]
    return g.groupby(["init_scale", "eta0"])[metric].mean().unstack("eta0")


def best_rate(runs: pd.DataFrame) -> float:
    """η* = the rate at which Init[A]'s best-over-β mean accuracy is highest."""
    return float(grid(runs, "A", "final_test_acc").max(axis=0).idxmax())


def claims(runs: pd.DataFrame) -> tuple[list[Claim], float]:
    from width_sweeps.bootstrap import stratified
    from width_sweeps.verdict import judge_effect
    eta_star = best_rate(runs)
    rates = sorted(runs.eta0.unique())
    small = [e for e in rates if e < eta_star]
    scales = sorted(runs.init_scale.unique())
    out = []
    for metric, sign, what in (("final_test_acc", +1, "accuracy"),
                               ("final_test_loss", -1, "loss")):
        c = cells(runs, metric)

        def small_gap(m: dict) -> np.ndarray:
            return np.mean(np.stack([m[("AB+", e, b)] - m[("A", e, b)]
                                     for e in small for b in scales]), 0)
        cid = common.claim_id("beyond_zero_fig2", "small-rates", what)
        if not small:
            out.append(Claim("beyond_zero_fig2",
                             f"Init[AB+] − Init[A] test {what} at small rates", SOURCE, "",
                             "no rate below η*", verdict="inconclusive",
                             note="the grid has no rate below η*", id=cid, model="toy"))
            continue
        b = stratified(c, small_gap)
        v = judge_effect(b.low, b.high, low=0.0 if sign > 0 else -np.inf,
                         high=np.inf if sign > 0 else 0.0, n_seeds=b.min_seeds)
        scale = 100 if metric == "final_test_acc" else 1
        unit = " points" if scale == 100 else ""
        out.append(Claim(
            "beyond_zero_fig2",
            f"zero init degrades at small rates, non-zero does not: test {what} of Init[AB+] − "
            f"Init[A], mean over β and η < η* = {eta_star:g}",
            SOURCE, "> 0" if sign > 0 else "< 0", f"{b.estimate * scale:+.2f}{unit}",
            f"[{b.low * scale:+.2f}, {b.high * scale:+.2f}]", v.verdict,
            f"{len(small)} rates × {len(scales)} β, {b.min_seeds} seeds"
            + ("" if v.verdict == "pass" else f" — {v.reason}"), cid, "toy",
            b.low * scale, b.high * scale))
    c = cells(runs, "final_test_acc")

    def best_gap(m: dict) -> np.ndarray:
        best = {s: np.max(np.stack([m[k] for k in m if k[0] == s]), 0) for s in SCHEMES}
        return best["AB+"] - best["A"]
    b = stratified(c, best_gap)
    v = judge_effect(b.low, b.high, low=-0.01, n_seeds=b.min_seeds)
    out.append(Claim("beyond_zero_fig2", "at the best (η, β), the non-zero init costs no "
                     "accuracy: best Init[AB+] − best Init[A]", SOURCE_BEST, "≥ −1 point",
                     f"{b.estimate * 100:+.2f} points", f"[{b.low * 100:+.2f}, "
                     f"{b.high * 100:+.2f}]", v.verdict,
                     f"{b.min_seeds} seeds" + ("" if v.verdict == "pass" else f" — {v.reason}"),
                     common.claim_id("beyond_zero_fig2", "best-rate", "accuracy"), "toy",
                     b.low * 100, b.high * 100))
    return out, eta_star


def plot(cfg: Config, runs: pd.DataFrame, eta_star: float, ctx: Context):
    from matplotlib.colors import LogNorm, TwoSlopeNorm
    with style.rc():
        fig, axes = style.figure(2, 3, size=(13, 7.6),
                                 footer=common.footer("beyond_zero_fig2", ctx, cfg.label()),
                                 title="Beyond Zero Init Figure 2 on our toy: Fashion-MNIST "
                                       "test accuracy and loss after 100 steps (seed mean); "
                                       "dashed: Init[A]'s "
                                       f"best rate η* = {eta_star:g} (smaller rates to its left);"
                                       " × diverged")
        for i, (metric, what) in enumerate((("final_test_acc", "test accuracy"),
                                            ("final_test_loss", "test loss"))):
            pct = 100 if metric == "final_test_acc" else 1      # accuracy shown in %
            gs = [grid(runs, s, metric) * pct for s in SCHEMES]
            diff = gs[1] - gs[0]
            vals = np.concatenate([g.to_numpy().ravel() for g in gs])
            vals = vals[np.isfinite(vals)]
            if metric == "final_test_acc":
                kw = {"cmap": "viridis", "vmin": 0, "vmax": max(vals.max(), 1e-3)}
                fmt = lambda v: f"{v:.0f}"
            else:
                kw = {"cmap": "viridis_r", "norm": LogNorm(max(vals.min(), 1e-3), vals.max())}
                fmt = lambda v: f"{v:.2f}" if v < 10 else f"{v:.0f}"
            for j, s in enumerate(SCHEMES):
                _heat(axes[i, j], gs[j], kw, fmt, f"{style.name(s)}: {what}"
                      + (" (%)" if metric == "final_test_acc" else ""), fig)
            lim = np.nanmax(np.abs(diff.to_numpy())) or 1.0
            _heat(axes[i, 2], diff, {"cmap": "RdBu" if metric == "final_test_acc" else "RdBu_r",
                                         "norm": TwoSlopeNorm(0, -lim, lim)},
                  (lambda v: f"{v:+.0f}") if metric == "final_test_acc"
                  else (lambda v: f"{v:+.2f}"),
                  f"Init[AB+] − Init[A]: {what}" + (" (points)" if metric == "final_test_acc"
                                                     else ""), fig)
            for ax in axes[i]:
                k = list(gs[0].columns).index(eta_star)
                ax.axvline(k - 0.5, color="white", lw=1.2, ls="--")
    return fig


def _heat(ax, g: pd.DataFrame, kw: dict, fmt, title: str, fig) -> None:
    from matplotlib.colors import LogNorm
    from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter
    a = g.to_numpy()
    im = ax.imshow(np.ma.masked_invalid(a), origin="lower", aspect="auto", **kw)
    for (y, x), v in np.ndenumerate(a):
        if np.isfinite(v):
            rgba = im.cmap(im.norm(v))
            light = 0.299 * rgba[0] + 0.587 * rgba[1] + 0.114 * rgba[2] > 0.55
            ax.text(x, y, fmt(v), ha="center", va="center", fontsize=6.3,
                    color="black" if light else "white")
        else:
            ax.text(x, y, "×", ha="center", va="center", fontsize=8, color="0.3")
    ax.set_xticks(range(a.shape[1]), [f"{e:.0e}".replace("e-0", "e-") for e in g.columns],
                  rotation=0)
    ax.set_yticks(range(a.shape[0]), [f"{b:g}" for b in g.index])
    ax.set_xlabel("learning rate η (Adam)")
    ax.set_ylabel("init variance β (σ² = β·Kaiming)")
    ax.set_title(title)
    ax.grid(False)
    cb = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.02)
    if isinstance(im.norm, LogNorm):
        cb.ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 3.0, 5.0)))
        cb.ax.yaxis.set_major_formatter(ScalarFormatter())
        cb.ax.yaxis.set_minor_formatter(NullFormatter())


def details(runs: pd.DataFrame) -> str:
    d = grid(runs, "AB+", "final_test_acc") - grid(runs, "A", "final_test_acc")
    head = "| β \\ η | " + " | ".join(f"{e:g}" for e in d.columns) + " |"
    rows = [f"| {b:g} | " + " | ".join(f"{100 * v:+.1f}" for v in r) + " |"
            for b, r in zip(d.index, d.to_numpy())]
    n_div = int((runs.status == "diverged").sum())
    return ("<details><summary>Init[AB+] − Init[A] test accuracy (points), seed means"
            f"; {n_div} of {len(runs)} runs diverged</summary>\n\n"
            + "\n".join([head, "|---" * (len(d.columns) + 1) + "|"] + rows) + "\n\n</details>")


def run(ctx: Context) -> FigureResult:
    t0 = time.perf_counter()
    cfg = config(ctx.mode)
    runs = measure(cfg, ctx)
    cl, eta_star = claims(runs)
    fig = plot(cfg, runs, eta_star, ctx)
    res = FigureResult("beyond_zero_fig2",
                       "Beyond Zero Init Figure 2: zero vs non-zero init over rate × σ",
                       "Does zero init (Init[A]) lose accuracy at small rates where the "
                       "non-zero Init[AB+] does not, without costing accuracy at the best rate?",
                       cl, [common.save(fig, "beyond_zero_fig2", ctx)], cfg.label(),
                       common.device_label(ctx.device), time.perf_counter() - t0,
                       details(runs))
    res.rule = ("the verdict rule (docs/theory.md §9.6) on a bootstrap interval (seeds resampled "
                "per cell): small-rate rows pass when the 95 % interval lies on the predicted "
                "side of 0 and fail when it lies on the other; the best-rate row passes when the "
                "interval lies above −1 point and fails when below; otherwise, or with fewer "
                "than 3 seeds per cell, inconclusive.")
    return res


if __name__ == "__main__":
    raise SystemExit(common.main(run))
