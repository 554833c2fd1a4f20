"""Coordinate check with verdicts: RMS of Z_A, its update part (A_t − A₀)z, Z_B, δ¹, δ², δ³
against width, per scheme and step, with fitted slopes (95 % interval: seeds and lack of fit,
docs/theory.md §9.6) beside gamma_calc's predicted exponents and the verdict rule's verdict
(§9.6) — on the single-LoRA-layer theory model and on Beyond Zero Init's MNIST → Fashion-MNIST
toy (docs/theory.md §2, §8).

Grid: Init[A] and Init[B] × equal-rate exponents c ∈ {−1/2, −1} (η = η₀ n^c), Adam.  Theory:
Init[A] at c = −1/2 is stable and efficient (Z_A ~ n^{1/2}; Z_B, δ¹, δ² ~ 1); Init[B] at
c = −1/2 is unstable (Z_B ~ n^{1/2}); at its own largest stable rate c = −1 it is stable but
inefficient (δ² ~ n^{−1}).  Headline step t = 3, the first step at which every recursion has
settled (Init[A]'s A first moves at step 2).  `(A_t − A₀)z` separates Z_A's update from its
Θ(1) init term A₀z: where the two are comparable (and aligned, as on the toy) Z_A's slope over a
finite width range lies between 0 and the update's 1/2 (docs/figures.md).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace

import pandas as pd

from gamma_calc.vocab import PREDICTED, label

from . import common, style
from .common import Claim, Context, FigureResult

QUANTITIES = PREDICTED
LABELS = {q: label(q) for q in QUANTITIES}
CONFIGS = (("A", "-1/2"), ("B", "-1"), ("B", "-1/2"), ("A", "-1"))
HEADLINE = 3
SOURCES = {
    ("A", "-1/2"): ("Init[A] at c = −1/2 is stable and efficient (Adam)",
                    "Beyond Zero Init (Eq. 6, Table 1)"),
    ("B", "-1"): ("Init[B] at its largest stable rate c = −1: stable, δ² = Θ(n⁻¹) (inefficient)",
                  "Beyond Zero Init (§3.2 fn. 7); LoRA+ (Hayou et al. 2024)"),
    ("B", "-1/2"): ("Init[B] at c = −1/2 is unstable (Z_B grows)",
                    "Beyond Zero Init (Table 1)"),
    ("A", "-1"): ("Init[A] at c = −1: stable, δ¹ = Θ(n⁻¹) (inefficient)",
                  "Beyond Zero Init (Eq. 5)"),
}
PREMISE_SOURCE = "Beyond Zero Init (§3.1: the layer input z has Θ(1) entries)"


@dataclass(frozen=True)
class Config:
    """One coordinate check (a model): the sweep spec fields that differ by mode."""
    model: str
    widths: tuple[int, ...]
    seeds: int
    steps: int
    eta0: float
    rank: int
    batch_size: int
    probe_batch: int
    dtype: str
    tolerance: float
    configs: tuple[tuple[str, str], ...]
    model_options: tuple[tuple[str, object], ...] = ()
    variant: str = ""   # "init": the toy at its Kaiming init (not pretrained), a control;
    #                     "init-small": the same at a 5× smaller η₀ (small-step regime)

    @property
    def key(self) -> str:
        """Short name: `theory`, `toy`, `toy_init` (image and sweep names)."""
        base = "theory" if self.model == "theory-layer" else self.model
        return f"{base}_{self.variant}" if self.variant else base

    @property
    def vocab_model(self) -> str:
        """The gamma_calc.vocab.MODELS name of this check's model."""
        return "toy-init" if self.variant.startswith("init") else self.model

    @property
    def sweep_name(self) -> str:
        return f"coord-{self.model}" + (f"-{self.variant}" if self.variant else "")

    def what(self, short: bool = False) -> str:
        if self.model == "theory-layer":
            return "theory layer"
        toy = "toy" if short else "MNIST→Fashion-MNIST toy"
        if not self.variant:
            return toy
        small = f", small steps η₀ = {self.eta0:g}" if self.variant == "init-small" else ""
        return f"{toy} at its Kaiming init (not pretrained, a control{small})"

    def spec(self) -> dict:
        return {"name": self.sweep_name, "model": self.model, "widths": list(self.widths),
                    "schemes": sorted({s for s, _ in self.configs}), "optimizer": "adam",
                    "eta0": [self.eta0], "n0": 1,
                    "lr_exponents": sorted({c for _, c in self.configs}),
                    "seeds": self.seeds, "steps": self.steps, "batch_size": self.batch_size,
                    "probe_batch": self.probe_batch, "rank": self.rank, "dtype": self.dtype,
                    "runs_per_shard": 256, "test_eval": False,
                    "model_options": dict(self.model_options),
                    "fit": {"tolerance": self.tolerance, "n_boot": 1000, "local_widths": 3}}

    def label(self) -> str:
        return (f"{self.what()}, Adam, η = {self.eta0:g}·n^c, r = {self.rank}, "
                f"{common.width_range(self.widths)}, {self.seeds} seeds, {self.steps} steps")


def configs(mode: str) -> list[Config]:
    """Theory layer (float64, one data point, as docs/theory.md §8.1; 10 seeds in both modes: a
    probe of r = 4 entries on one data point is noisy, and the sweep is cheap) and the toy
    (float32, batch 64).

    η₀ = 1 at n₀ = 1 on the theory layer makes the update terms dominate the init terms by
    √n ≥ 16 from n = 2^8 on.  The toy's η₀ = 0.25 gives η = 0.011 (Init[A]) at n = 512, a rate
    at which the toy learns well (the Figure-2 grid of Beyond Zero Init).  The toy uses rank 8 so
    that small widths keep r ≪ n; tolerance 0.1 on the toy (its width range is narrower: 8–32×)."""
    quick = mode == "quick"
    theory = Config("theory-layer",
                    tuple(2 ** k for k in (range(9, 15) if quick else range(8, 17))),
                    10, 4 if quick else 6, 1.0, 4, 1, 1, "float64", 0.05,
                    CONFIGS)
    # quick: the first four of the full widths (at n = 64 the un-pretrained control is still
    # pre-asymptotic: Init[B]'s δ² fits −1.30 over 64–512, −1.11 over 128–1024)
    toy_w = (128, 256, 512, 1024) if quick else (128, 256, 512, 1024, 4096)
    toy = Config("toy", toy_w, 4 if quick else 8, 4 if quick else 6, 0.25, 8, 64, 16,
                 "float32", 0.1, CONFIGS[:2],
                 (("pretrain_steps", 500),) if quick else ())
    # Control: the same toy with no pretraining, where docs/theory.md §2's premise z = Θ(1) holds by
    # construction (Kaiming W_in); separates "the premise fails" from "the exponents are wrong".
    toy_init = replace(toy, model_options=(("pretrain_steps", 0),), variant="init")
    # At η₀ = 0.25 the un-pretrained toy leaves the small-step regime from step 3 on (Init[A]'s
    # update part (A−A₀)z fits +0.33, not +1/2); at η₀ = 0.05 it stays in it, and Z_A's own slope
    # shows the finite-width mix of its Θ(1) init term and the n^{1/2} update.
    small = replace(toy_init, eta0=0.05, variant="init-small")
    return [theory, toy, toy_init, small]


def measure(cfg: Config, ctx: Context) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(steps, runs, fits with predictions and verdicts) of one model's sweep."""
    from width_sweeps.analyze import analyze
    from width_sweeps.results import load
    out = common.sweep(cfg.spec(), ctx, cfg.sweep_name)
    steps, runs = load(out)
    fits = analyze(out).fits
    keep = pd.Series(False, index=steps.index)
    for s, c in cfg.configs:                          # the product grid has extra configs
        keep |= (steps.scheme == s) & (steps.lr_exponent == c)
    return steps[keep], runs, fits


def claims(cfg: Config, fits: pd.DataFrame) -> list[Claim]:
    what = cfg.what(short=True)
    # The theory's premise: the LoRA layer's input z has Θ(1) entries at every width.  With
    # Init[A], Z_A at t = 0 is A₀z with A₀ ~ N(0, 1/n): its RMS is RMS(z) (up to noise).
    z = fits[(fits.scheme == "A") & (fits.step == 0) & (fits.quantity == "Z_A")].head(1)
    out = [common.claim_from_fits(
        z, figure="coord_check", claim=f"{what}: premise — the LoRA layer's input z has Θ(1) "
        "entries (γ of RMS A₀z at t = 0, Init[A])", source=PREMISE_SOURCE,
        quantities=["Z_A"], labels={"Z_A": "A₀z"},
        id=common.claim_id("coord_check", cfg.key, "premise"), model=cfg.vocab_model)]
    for s, c in cfg.configs:
        sel = fits[(fits.scheme == s) & (fits.lr_exponent == c) & (fits.step == HEADLINE)
                   & fits.quantity.isin(QUANTITIES)]
        text, src = SOURCES[(s, c)]
        out.append(common.claim_from_fits(
            sel, figure="coord_check", claim=f"{what}: {text}; γ at t = {HEADLINE}",
            source=src, quantities=list(QUANTITIES), labels=LABELS,
            id=common.claim_id("coord_check", cfg.key, s, "c", c), model=cfg.vocab_model))
    return out


def plot(cfg: Config, steps: pd.DataFrame, runs: pd.DataFrame, fits: pd.DataFrame,
         ctx: Context, name: str):
    """Rows: configs; columns: quantities.  Seed mean ± sd per step (t = 3 bold, others faint),
    gamma_calc's predicted slope (dashed) through the t = 3 data, the fit and its verdict."""
    from width_sweeps.plots import log_summary
    d = steps[steps.quantity.isin(QUANTITIES) & (steps.step >= 1)]
    agg = log_summary(d, runs, ["scheme", "lr_exponent", "quantity", "step"])
    from width_sweeps.plots import draw_series
    T = int(steps.step.max())
    rows = len(cfg.configs)
    with style.rc():
        fig, axes = style.figure(rows, len(QUANTITIES), size=(14, 2.1 * rows + 1.0),
                                 footer=common.footer("coord_check", ctx, cfg.label()),
                                 title=f"Coordinate check — {cfg.what()}: "
                                       f"RMS entry vs width (seed mean ± sd; bold t = {HEADLINE})")
        for i, (s, c) in enumerate(cfg.configs):
            for j, q in enumerate(QUANTITIES):
                ax = axes[i, j]
                g = agg[(agg.scheme == s) & (agg.lr_exponent == c) & (agg.quantity == q)]
                for t in range(1, T + 1):
                    gt = g[g.step == t]
                    if not len(gt):
                        continue
                    bold = t == HEADLINE
                    draw_series(ax, gt, color=style.color(s), alpha=1.0 if bold else 0.25,
                                lw=1.6 if bold else 0.8, marker="o" if bold else None, ms=3,
                                label=f"t = {t}" if bold else None)
                head = f"RMS {LABELS[q]}\n" if i == 0 else ""
                _annotate(ax, fits, s, c, q, g[g.step == HEADLINE], head)
                style.log2_width_axis(ax, cfg.widths)
                ax.set_yscale("log")
                if j == 0:
                    ax.set_ylabel(f"{style.name(s)}\nc = {c}\nRMS entry")
                if i < rows - 1:
                    ax.set_xlabel("")
    return fig


def _annotate(ax, fits: pd.DataFrame, s: str, c: str, q: str, g: pd.DataFrame,
              head: str = "") -> None:
    """Predicted slope through the t = 3 data; the fit and verdict as the panel's title."""
    row = fits[(fits.scheme == s) & (fits.lr_exponent == c) & (fits.quantity == q)
               & (fits.step == HEADLINE)]
    if not len(row):
        ax.set_title(head + ("exactly 0" if not len(g) else "no fit"), fontsize=7.5)
        return
    from width_sweeps.plots import draw_slope
    r = row.iloc[0]
    pred = r.predicted
    if isinstance(pred, str) and pred != "-oo":
        draw_slope(ax, g, common.frac(pred), **style.PREDICTION, zorder=0)
    mark = {"pass": "✓", "fail": "✗", "inconclusive": "?"}.get(r.verdict, "")
    col = {"pass": "#1a7f37", "fail": "#cf222e", "inconclusive": "#9a6700"}.get(r.verdict, "0.3")
    ax.set_title(f"{head}fit {common.fmt_exp(r.fitted)} {common.fmt_ci(r.ci_low, r.ci_high, 2)}"
                 f", θ {pred} {mark}", fontsize=7.5, color=col)


def details(cfg: Config, fits: pd.DataFrame) -> str:
    from width_sweeps.report import shown, table
    sel = fits[fits.quantity.isin(QUANTITIES) & (fits.step >= 1)]
    keep = pd.Series(False, index=sel.index)
    for s, c in cfg.configs:
        keep |= (sel.scheme == s) & (sel.lr_exponent == c)
    sel = sel[keep].sort_values(["scheme", "lr_exponent", "step", "quantity"])
    return (f"<details><summary>All fits, {cfg.label()} (tolerance ±{cfg.tolerance})"
            f"</summary>\n\n{table(sel, shown(sel), markdown=True)}\n\n</details>")


def run(ctx: Context) -> FigureResult:
    t0 = time.perf_counter()
    res = FigureResult("coord_check", "Coordinate check with verdicts",
                       "Do the measured width exponents of Z_A, (A−A₀)z, Z_B, δ¹, δ², δ³ match "
                       "gamma_calc's predictions, per scheme and step (docs/theory.md §2)?",
                       device=common.device_label(ctx.device))
    labels = []
    for cfg in configs(ctx.mode):
        steps, runs, fits = measure(cfg, ctx)
        name = f"coord_check_{cfg.key}"
        fig = plot(cfg, steps, runs, fits, ctx, name)
        res.images.append(common.save(fig, name, ctx))
        res.claims += claims(cfg, fits)
        res.details += details(cfg, fits) + "\n\n"
        labels.append(cfg.label())
    res.config = "; ".join(labels)
    res.rule = (common.rule_text(0.05) + " On the toy the tolerance is ±0.1 (its width range is "
                "8–32×, not 64–256×). A row passes when all its exponents pass, fails when one "
                "fails, else is inconclusive.")
    res.seconds = time.perf_counter() - t0
    return res


if __name__ == "__main__":
    raise SystemExit(common.main(run))
