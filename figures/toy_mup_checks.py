"""The width theory's checks on the μP-pretrained toy (model `toy-mup`), beside the theory layer.

Three experiments, each the one figures/coord_check.py, theorem1.py and maxlr.py run on the
single theory layer, now on the MNIST → Fashion-MNIST toy pretrained in μP (toy_models.mup),
where the theory's premise z = Θ(1) holds (figures/mup_pretraining.py):

* coordinate check (docs/theory.md §2): width exponents of Z_A, (A−A₀)z, Z_B, δ¹, δ², δ³ at
  t = 3 for Init[A] at c = −1/2 and Init[B] at c = −1 (Adam, η = η₀ n^c), plus the premise
  row γ[A₀z] at t = 0;
* Theorem 1 of Beyond Zero Initialization: ε-slopes of γ[δ¹], γ[δ²] under c = −1/2 − ε for
  Init[A], Init[AB] (practical) and Theorem 1's Init[AB];
* the largest stable rate against width for Init[A] and Init[B] (grid search, as maxlr.py).

The theory layer's numbers come from the same sweeps its own figures run (resumed from
`ctx.runs_dir`, so free inside the demo).  Toy settings: rank 8, batch 64, probe batch 16, η₀ =
0.25 (as the SP toy's coordinate check), tolerance ±0.1 per exponent (a narrower width range
than the theory layer's).  Theorem 1 uses ε ∈ {0, 1/4, 1/2, 3/4} (the ±0.1 tolerance propagated
through the ε-slope is ±0.32, as the theory layer's ±0.05 over its narrower ε grid) and float64.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pandas as pd

from gamma_calc.vocab import PREDICTED, label

from . import common, coord_check, maxlr, theorem1, toy_mup_plots
from .common import Claim, Context, FigureResult

MODEL = "toy-mup"
T1_SCHEMES = theorem1.SCHEMES
CHECK_SCHEMES = ("A", "B", "AB-practical", "AB")
COORD = coord_check.CONFIGS[:2]          # Init[A] at c = −1/2, Init[B] at c = −1
T1_EPS = ("0", "1/4", "1/2")
HEADLINE = coord_check.HEADLINE
SRC_T1 = "Beyond Zero Init (Theorem 1)"
LABELS = {q: label(q) for q in PREDICTED}
WHAT = "μP toy"


@dataclass(frozen=True)
class Config:
    """One sweep for the coordinate check and Theorem 1 (their grids merged: on the toy the
    model build — checkpoint and Fashion-MNIST — costs more than the runs), one for the
    largest stable rate."""
    widths: tuple[int, ...]
    seeds: int
    steps: int = 4
    eta0: float = 0.25
    rank: int = 8
    tolerance: float = 0.1
    maxlr_seeds: int = 2
    maxlr_steps: int = 8
    eta_from: float = 2.0 ** -13
    per_octave: int = 4
    tau: float = 2.0
    model_options: tuple[tuple[str, object], ...] = ()

    def _base(self) -> dict:
        return {"model": MODEL, "widths": list(self.widths), "optimizer": "adam", "n0": 1,
                "batch_size": 64, "probe_batch": 16, "rank": self.rank, "test_eval": False,
                "model_options": dict(self.model_options)}

    def checks_spec(self) -> dict:
        """Coordinate check (ε = 0; Init[A], Init[B] at c = −1/2, −1) and Theorem 1 (c = −1/2,
        every ε) in one grid (float32: the smallest rate, 0.25/n, still moves Init[AB]'s Θ(1)
        entries of A by ≥ 6e-5 of themselves, 10³ float32 ulps)."""
        return {**self._base(), "name": "checks-toy-mup", "schemes": list(CHECK_SCHEMES),
                "eta0": [self.eta0], "lr_exponents": ["-1/2", "-1"], "eps": list(T1_EPS),
                "seeds": self.seeds, "steps": self.steps, "dtype": "float32",
                "runs_per_shard": 256, "fit": {"tolerance": self.tolerance, "n_boot": 1000,
                                               "local_widths": 3}}

    def maxlr_spec(self) -> dict:
        return {**self._base(), "name": "maxlr-toy-mup", "schemes": list(maxlr.SCHEMES),
                "eta0": {"from": self.eta_from, "to": 1.0, "per_octave": self.per_octave},
                "lr_exponents": ["0"], "seeds": self.maxlr_seeds, "steps": self.maxlr_steps,
                "dtype": "float32", "runs_per_shard": 1024,
                "fit": {"maxlr": True, "tau": self.tau, "tolerance": self.tolerance}}

    def label(self) -> str:
        return (f"μP toy (toy-mup), Adam, r = {self.rank}, batch 64, η = {self.eta0:g}·n^c, "
                f"{common.width_range(self.widths)}, {self.seeds} seeds, {self.steps} steps; "
                f"max rate: grid 2^{np.log2(self.eta_from):g}…1 (×2^(1/{self.per_octave})), "
                f"{self.maxlr_steps} steps, {self.maxlr_seeds} seeds")


def config(mode: str) -> Config:
    if mode == "quick":
        return Config((64, 128, 256, 512, 1024), 4, steps=3, per_octave=2)
    return Config(tuple(2 ** k for k in range(7, 13)), 8, steps=6, maxlr_seeds=3)


# ---- measurements --------------------------------------------------------------------------

def theory_reference(ctx: Context) -> dict[str, pd.DataFrame]:
    """The theory layer's fits from its own figures' sweeps (same names, same settings).

    The sweeps are resumed (free when complete); their analysis is read from the tables the
    figures' own `analyze` wrote when those are newer than the sweep's data, else recomputed
    through the figures' `measure` (so the numbers are the figures' own)."""
    from width_sweeps.analyze import analyze
    tcoord = next(c for c in coord_check.configs(ctx.mode) if c.model == "theory-layer")
    t1cfg, mcfg = theorem1.config(ctx.mode), maxlr.config(ctx.mode)
    outs = {"coord": common.sweep(tcoord.spec(), ctx, tcoord.sweep_name),
            "theorem1": common.sweep(t1cfg.spec(), ctx, "theorem1"),
            "maxlr": common.sweep(mcfg.spec(), ctx, "maxlr")}
    files = {"coord": ["fits"], "theorem1": ["theorem1"], "maxlr": ["maxlr", "maxlr_widths"]}
    tabs: dict[str, pd.DataFrame] = {}
    for key, out in outs.items():
        # a resumed sweep re-merges (steps.parquet is rewritten); its shards date its data
        data = max(p.stat().st_mtime for p in (out / "shards").iterdir())
        paths = [out / f"{f}.parquet" for f in files[key]]
        if not all(p.exists() and p.stat().st_mtime >= data for p in paths):
            analyze(out)
        for f, p in zip(files[key], paths):
            tabs[f] = pd.read_parquet(p)
    t1 = tabs["theorem1"]
    t1 = t1[t1.step.isin(theorem1.STEPS)]
    fits = tabs["fits"]
    fits["predicted"] = fits.predicted.astype(object).where(fits.predicted.notna(), None)
    return {"coord": fits, "theorem1": t1, "maxlr": tabs["maxlr"],
            "maxlr_widths": tabs["maxlr_widths"]}


def measure_checks(cfg: Config, ctx: Context):
    """(steps, runs, judged fits, Theorem-1 ε-slope table) of the merged sweep.

    Only the rows the claims use are fitted (the merged grid holds configs they do not use,
    and the bootstrap fits dominate the cost): the coordinate-check configs at ε = 0 (every
    predicted quantity) and Theorem 1's schemes at c = −1/2 (δ¹, δ² at t = 2, 3)."""
    from width_sweeps.analyze import judged_fits
    from width_sweeps.fit import FitOptions
    from width_sweeps.results import load
    from width_sweeps.theorem1 import theorem1 as eps_slopes
    out = common.sweep(cfg.checks_spec(), ctx, "checks-toy-mup")
    steps, runs = load(out)
    coord = pd.Series(False, index=steps.index)
    for sch, c in COORD:
        coord |= (steps.scheme == sch) & (steps.lr_exponent == c) & (steps.eps == "0")
    coord &= steps.quantity.isin(list(PREDICTED))
    t1 = (steps.scheme.isin(T1_SCHEMES) & (steps.lr_exponent == "-1/2")
          & steps.quantity.isin(["delta1", "delta2"]) & steps.step.isin(theorem1.STEPS))
    opts = FitOptions(tolerance=cfg.tolerance, n_boot=1000, local_widths=3)
    fits, _ = judged_fits(steps[coord | t1], runs, opts)
    tab = eps_slopes(fits[fits.scheme.isin(T1_SCHEMES) & (fits.lr_exponent == "-1/2")],
                     opts.level, opts.rule())
    return steps[coord], runs, fits.drop(columns=["boot"]), tab[tab.step.isin(theorem1.STEPS)]


def measure_maxlr(cfg: Config, ctx: Context):
    """(per (width, seed) η_max, fitted exponents with verdicts) on the toy."""
    from width_sweeps.analyze import analyze
    res = analyze(common.sweep(cfg.maxlr_spec(), ctx, "maxlr-toy-mup"))
    return res.maxlr_widths, res.maxlr


# ---- claims --------------------------------------------------------------------------------

def _theory_note(fits: pd.DataFrame, s: str, c: str, q: str | None = None) -> str:
    """The theory layer's fitted exponent(s) of the same row, for the note."""
    sel = fits[(fits.scheme == s) & (fits.lr_exponent == c) & (fits.step == HEADLINE)
               & fits.quantity.isin([q] if q else list(PREDICTED))]
    if not len(sel):
        return "theory layer: not measured"
    parts = [f"{LABELS[r.quantity]} {r.fitted:+.2f}" for r in sel.itertuples()]
    n_pass = int((sel.verdict == "pass").sum())
    return f"theory layer: {', '.join(parts)} ({n_pass}/{len(sel)} pass)"


def coord_claims(fits: pd.DataFrame, ref: pd.DataFrame | None) -> list[Claim]:
    """The premise row and the two coordinate-check rows (theory layer's row in the note)."""
    z = fits[(fits.scheme == "A") & (fits.lr_exponent == "-1/2") & (fits.step == 0)
             & (fits.quantity == "Z_A") & (fits.eps == "0")]
    out = [common.claim_from_fits(
        z, figure="toy_mup_checks", claim=f"{WHAT}: premise — the LoRA input z has Θ(1) "
        "entries (γ of RMS A₀z at t = 0, Init[A])", source=coord_check.PREMISE_SOURCE,
        quantities=["Z_A"], labels={"Z_A": "A₀z"},
        id=common.claim_id("toy_mup_checks", "premise"), model=MODEL)]
    for s, c in COORD:
        sel = fits[(fits.scheme == s) & (fits.lr_exponent == c) & (fits.step == HEADLINE)
                   & (fits.eps == "0") & fits.quantity.isin(list(PREDICTED))]
        text = coord_check.SOURCES[(s, c)][0]
        cl = common.claim_from_fits(sel, figure="toy_mup_checks",
                                    claim=f"{WHAT}: {text}; γ at t = {HEADLINE}",
                                    source=coord_check.SOURCES[(s, c)][1],
                                    quantities=list(PREDICTED), labels=LABELS,
                                    id=common.claim_id("toy_mup_checks", "coord", s, "c", c),
                                    model=MODEL)
        if ref is not None:
            cl.note += "; " + _theory_note(ref, s, c)
        out.append(cl)
    return out


def inheritance(steps: pd.DataFrame, runs: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    """Fit of δ²_t / Z_A(t−1) for Init[A] at c = −1/2, t ≥ 2: under Adam ΔB's entries are
    Θ(η), so δ² = s ΔB_t A_{t−1}z has the exponent c + γ[Z_A(t−1)] at *every* width; the ratio
    fits c = −1/2 whether or not Z_A has reached its asymptotic slope."""
    from width_sweeps.fit import FitOptions, fit_table
    d = steps[(steps.scheme == "A") & (steps.lr_exponent == "-1/2") & (steps.eps == "0")]
    w = d.pivot_table(index=["run_id", "step"], columns="quantity", values="value",
                      observed=True).reset_index().sort_values(["run_id", "step"])
    w["prev_Z_A"] = w.groupby("run_id").Z_A.shift(1)
    meta = d.drop_duplicates("run_id").drop(columns=["step", "quantity", "value"])
    long = (w.assign(value=w.delta2 / w.prev_Z_A, quantity="delta2_over_Z_A")
            [["run_id", "step", "quantity", "value"]].merge(meta, on="run_id"))
    long = long[long.step >= 2]
    return fit_table(long, runs, FitOptions(tolerance=cfg.tolerance, n_boot=1000))


def inheritance_claim(inh: pd.DataFrame, cfg: Config) -> Claim:
    from width_sweeps.verdict import Rule, judge_exponent
    r = inh[inh.step == HEADLINE].iloc[0]
    v = judge_exponent("-1/2", r.fitted, r.ci_low, r.ci_high, n_widths=int(r.n_widths),
                       n_seeds=int(r.n_seeds), seedless=r.interval == "widths", local=r.local,
                       local_low=r.local_low, local_high=r.local_high,
                       rule=Rule(tolerance=cfg.tolerance))
    return Claim("toy_mup_checks", f"{WHAT}, Init[A] at c = −1/2: δ²'s deficit is inherited "
                 f"from Z_A (γ of δ²_t / Z_A(t−1) = c, t = {HEADLINE}), i.e. the Θ(1) init term "
                 "A₀z in Z_A, not a wrong exponent",
                 "Beyond Zero Init (Eq. 2: δ² = s ΔB A z); docs/theory.md §2.3", "−1/2",
                 f"{r.fitted:+.3f} (largest widths {r.local:+.3f})",
                 common.fmt_ci(r.ci_low, r.ci_high), v.verdict,
                 f"tol ±{cfg.tolerance:g}; {v.reason}",
                 common.claim_id("toy_mup_checks", "delta2-inherits-z_a"), MODEL,
                 float(r.ci_low), float(r.ci_high))


def theorem1_claims(t1: pd.DataFrame, ref: pd.DataFrame | None) -> list[Claim]:
    from . import style
    out = []
    want = [(s, q, HEADLINE) for s in T1_SCHEMES for q in ("delta1", "delta2")]
    for s, q, t in want + [("A", "delta2", 2)]:
        row = t1[(t1.scheme == s) & (t1.quantity == q) & (t1.step == t)]
        k = {"-1": "", "-2": "2"}.get(str(row.iloc[0].predicted), "?") if len(row) else "?"
        text = (f"{WHAT}, {style.name(s)}: γ[{label(q)}] falls like −{k}ε under "
                f"c = −1/2 − ε, t = {t}")
        cid = common.claim_id("toy_mup_checks", "theorem1", s, q, "t", t)
        if not len(row):
            out.append(Claim("toy_mup_checks", text, SRC_T1, "?", "missing",
                             verdict="inconclusive", note="not measured", id=cid, model=MODEL))
            continue
        r = row.iloc[0]
        note = f"tol ±{r.tolerance:.2f}" + ("" if r.verdict == "pass" else f"; {r.reason}")
        if ref is not None:
            tr = ref[(ref.scheme == s) & (ref.quantity == q) & (ref.step == t)]
            if len(tr):
                note += f"; theory layer {tr.iloc[0].fitted:+.2f} ({tr.iloc[0].verdict})"
        out.append(Claim("toy_mup_checks", text, SRC_T1, f"ε-slope {r.predicted}",
                         f"{r.fitted:+.2f}", common.fmt_ci(r.ci_low, r.ci_high, 2), r.verdict,
                         note, cid, MODEL, float(r.ci_low), float(r.ci_high)))
    return out


def maxlr_claims(fits: pd.DataFrame, ref: pd.DataFrame | None) -> list[Claim]:
    from . import style
    out = []
    for s in maxlr.SCHEMES:
        row = fits[fits.scheme == s]
        text = f"{WHAT}, {style.name(s)}: largest stable equal rate ∝ n^c (Adam)"
        cid = common.claim_id("toy_mup_checks", "maxlr", s)
        if not len(row):
            out.append(Claim("toy_mup_checks", text, maxlr.SOURCE, "?", "missing",
                             verdict="inconclusive", note="not measured", id=cid, model=MODEL))
            continue
        r = row.iloc[0]
        note = (f"tol ±{r.tolerance:.2f}, {r.n_seeds} seeds"
                + ("" if r.verdict == "pass" else f"; {r.reason}"))
        if ref is not None and len(ref[ref.scheme == s]):
            tr = ref[ref.scheme == s].iloc[0]
            note += f"; theory layer {tr.fitted:+.3f} ({tr.verdict})"
        out.append(Claim("toy_mup_checks", text, maxlr.SOURCE, f"c = {r.predicted}",
                         f"{r.fitted:+.3f} (largest widths {r.local:+.3f})",
                         common.fmt_ci(r.ci_low, r.ci_high), r.verdict, note, cid, MODEL,
                         float(r.ci_low), float(r.ci_high)))
    return out


# ---- the figure ----------------------------------------------------------------------------

def details(fits: pd.DataFrame, t1: pd.DataFrame, inh: pd.DataFrame, mfits: pd.DataFrame,
            cfg: Config) -> str:
    from width_sweeps.report import shown, table
    sel = fits[fits.quantity.isin(list(PREDICTED)) & (fits.eps == "0") & (fits.step >= 1)]
    sel = sel.sort_values(["scheme", "lr_exponent", "step", "quantity"])
    cols = ["quantity", "step", "scheme", "eps_values", "predicted", "fitted", "ci_low",
            "ci_high", "tolerance", "verdict"]
    return (f"<details><summary>All coordinate-check fits, {cfg.label()} (tolerance "
            f"±{cfg.tolerance:g})</summary>\n\n{table(sel, shown(sel), markdown=True)}\n\n"
            "</details>\n\n<details><summary>Theorem 1: ε-slopes</summary>\n\n"
            + table(t1.sort_values(["step", "quantity", "scheme"]), cols, markdown=True)
            + "\n\n</details>\n\n<details><summary>δ²_t / Z_A(t−1) (Init[A], c = −1/2) and "
            "the largest stable rate</summary>\n\n"
            + table(inh, ["quantity", "step", "fitted", "ci_low", "ci_high", "local"],
                    markdown=True) + "\n\n"
            + table(mfits, ["scheme", "predicted", "fitted", "ci_low", "ci_high", "local",
                            "n_widths", "verdict"], markdown=True) + "\n\n</details>")


def run(ctx: Context) -> FigureResult:
    t0 = time.perf_counter()
    cfg = config(ctx.mode)
    steps, runs, fits, t1 = measure_checks(cfg, ctx)
    best, mfits = measure_maxlr(cfg, ctx)
    inh = inheritance(steps, runs, cfg)
    ref = theory_reference(ctx)
    images = [common.save(toy_mup_plots.coord(cfg, steps, runs, fits, ref["coord"], ctx),
                          "toy_mup_coord", ctx),
              common.save(toy_mup_plots.theorem1_maxlr(cfg, fits, t1, best, mfits, ref, ctx),
                          "toy_mup_theorem1_maxlr", ctx)]
    claims = (coord_claims(fits, ref["coord"]) + [inheritance_claim(inh, cfg)]
              + theorem1_claims(t1, ref["theorem1"]) + maxlr_claims(mfits, ref["maxlr"]))
    res = FigureResult("toy_mup_checks", "The width theory on the μP-pretrained toy",
                       "Do the coordinate check, Theorem 1's ε-slopes and the largest stable "
                       "rate hold on the μP-pretrained MNIST → Fashion-MNIST toy, as on the "
                       "theory layer?", claims, images, cfg.label(),
                       common.device_label(ctx.device), time.perf_counter() - t0,
                       details(fits, t1, inh, mfits, cfg))
    from width_sweeps.theorem1 import slope_tolerance
    tol = slope_tolerance([float(Fraction(e)) for e in T1_EPS], cfg.tolerance)
    res.rule = (common.rule_text(cfg.tolerance) + " A coordinate-check row passes when all "
                f"its exponents pass, fails when one fails, else is inconclusive. Theorem 1's "
                f"ε-slopes use ±{tol:.2f} (the exponent tolerance propagated over ε ∈ "
                f"{{{', '.join(T1_EPS)}}}) and must exclude the other hypothesis (−1 ↔ −2).")
    return res


if __name__ == "__main__":
    raise SystemExit(common.main(run))
