"""Human-readable output: the text fit table (`fit`) and the markdown report with log-log plots
(`report`): the verdict rule, the verdict table, what was excluded, the Theorem-1 and max-lr
tables, and per quantity a plot of the seed summary against width per config
(`width_sweeps.plots`).  Every table shows the config columns that distinguish its rows.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from gamma_calc.vocab import CORE

from .analyze import Analysis, analyze, empty_sweep_text, exclusions
from .fit import CONFIG, FitOptions
from .plots import quantity_figure
from .predict import PredictFn, gamma_calc_predict
from .results import load
from .verdict import ALL

SHOW = ["quantity", "step", "scheme", "lr_exponent", "eps", "predicted", "fitted", "ci_low",
        "ci_high", "local", "drift", "n_widths", "n_seeds", "verdict"]
VARYING = ["module", "model", "optimizer", "init_scale", "eta0", "lr_exponent_b"]
EXPONENTS = {"fitted", "ci_low", "ci_high", "local", "local_low", "local_high", "drift"}


def shown(df: pd.DataFrame, base: list[str] = SHOW) -> list[str]:
    """`base` plus the config columns that vary within `df` (after `scheme`): rows of a sweep
    over several η₀, init scales or rates stay distinguishable (adapters: `module` always); B's
    rate exponent `lr_exponent_b` follows `lr_exponent` whenever it differs from A's in some row."""
    extra = [c for c in VARYING if c in df.columns and c not in base and c != "lr_exponent_b"
             and (c == "module" or df[c].nunique(dropna=False) > 1)]
    i = base.index("scheme") + 1 if "scheme" in base else len(base)
    cols = base[:i] + extra + base[i:]
    if ("lr_exponent_b" in df.columns and "lr_exponent" in df.columns and "lr_exponent_b"
            not in cols and (df.lr_exponent_b.astype(str) != df.lr_exponent.astype(str)).any()):
        j = cols.index("lr_exponent") + 1 if "lr_exponent" in cols else len(cols)
        cols = cols[:j] + ["lr_exponent_b"] + cols[j:]
    return cols


def _fmt(v, exponent: bool = False) -> str:
    if isinstance(v, (float, np.floating)):
        if np.isnan(v):
            return "—"
        if v == -np.inf:
            return "-oo"
        return f"{v:+.3f}" if exponent else f"{v:.4g}"
    return "—" if v is None or v is pd.NA else str(v)


def table(df: pd.DataFrame, cols: list[str], markdown: bool = False) -> str:
    cols = [c for c in cols if c in df.columns]
    exp = [c in EXPONENTS for c in cols]
    rows = [[_fmt(v, e) for v, e in zip(r, exp)] for r in df[cols].itertuples(index=False)]
    if markdown:
        head = "| " + " | ".join(cols) + " |\n|" + "---|" * len(cols) + "\n"
        return head + "\n".join("| " + " | ".join(r) + " |" for r in rows)
    w = [max(len(c), *(len(r[i]) for r in rows)) if rows else len(c) for i, c in enumerate(cols)]

    def line(r: list[str]) -> str:
        return "  ".join(x.rjust(w[i]) for i, x in enumerate(r))
    return "\n".join([line(cols)] + [line(r) for r in rows])


def summary(df: pd.DataFrame) -> str:
    """Counts of every verdict present (pass and fail always)."""
    c = df.verdict.value_counts() if "verdict" in df else pd.Series(dtype=int)
    return ", ".join(f"{k}: {int(c.get(k, 0))}" for k in ALL
                     if k in ("pass", "fail") or int(c.get(k, 0)))


def interval_text(opts: FitOptions) -> str:
    return (f"intervals: {opts.level:.0%}, seed bootstrap ({opts.n_boot} draws) combined with "
            f"the lack of fit across widths (docs/theory.md §9.6); with fewer than "
            f"{opts.min_seeds} seeds, the regression interval from the scatter across widths")


def reasons(fits: pd.DataFrame) -> list[str]:
    """One line per distinct reason for an inconclusive row, with its count."""
    if "reason" not in fits or not len(fits):
        return []
    inc = fits[fits.verdict == "inconclusive"]
    return [f"inconclusive ({n}×): {r}" for r, n in inc.reason.value_counts().items()]


def fits_text(fits: pd.DataFrame, t1: pd.DataFrame, opts: FitOptions, notes: list[str],
              runs: pd.DataFrame | None = None) -> str:
    """The `fit --format text` output."""
    if not len(fits):
        return "\n".join([opts.rule().text(), empty_sweep_text(runs) if runs is not None
                          else "no fits"] + [f"note: {n}" for n in notes])
    out = [opts.rule().text(), interval_text(opts),
           table(fits, shown(fits) + (["eta_max"] if "eta_max" in fits else [])),
           f"[{summary(fits)}]"]
    out += [f"excluded: {e}" for e in exclusions(fits, runs)]
    out += reasons(fits)
    if len(t1):
        out += ["", "Theorem 1: slope of fitted γ against ε (theory: −1 bound init, −2 zero)",
                table(t1, shown(t1, ["quantity", "step", "scheme", "lr_exponent", "eps_values",
                                     "predicted", "fitted", "ci_low", "ci_high", "tolerance",
                                     "verdict"]))]
    out += [f"note: {n}" for n in notes]
    return "\n".join(out)


RUN_KEYS = ["width"] + [c for c in CONFIG if c != "model"]
RUN_COLS = RUN_KEYS + ["seeds", "diverged", "final_loss", "final_test_loss", "final_test_acc"]


def run_summary(runs: pd.DataFrame) -> pd.DataFrame:
    """Per (width, config): seeds, diverged count and seed means of the final metrics."""
    finals = [c for c in ("final_loss", "final_test_loss", "final_test_acc") if c in runs]
    g = runs.groupby(RUN_KEYS, observed=True)
    out = g[finals].mean()
    out["seeds"] = g.size()
    out["diverged"] = g.status.apply(lambda s: int((s != "ok").sum()))
    return out.reset_index()


def _run_cols(rs: pd.DataFrame) -> list[str]:
    """Width, then the config columns that vary, then the counts and metrics."""
    cfg = [c for c in RUN_KEYS[1:] if rs[c].nunique(dropna=False) > 1] or ["scheme"]
    return ["width"] + cfg + RUN_COLS[len(RUN_KEYS):]


def _verdict_md(res: Analysis, steps: pd.DataFrame) -> list[str]:
    core = res.fits[res.fits.quantity.isin(CORE) & (res.fits.step >= 1)]
    md = ["## Verdicts", "", res.options.rule().text(), "", interval_text(res.options) + ".", "",
          (f"All quantities: [{summary(res.fits)}]; shown ({', '.join(CORE)}, steps ≥ 1): "
           f"[{summary(core)}]; every row is in `fits.parquet` (with `reason`, runs used and "
           "diverged, widths used and dropped)."), "", table(core, shown(core), True), ""]
    ex = exclusions(res.fits, res.runs)
    if ex:
        md += ["### Excluded", ""] + [f"* {e}" for e in ex] + [""]
    rs = reasons(core)
    if rs:
        md += ["### Why inconclusive", ""] + [f"* {r}" for r in rs] + [""]
    return md


def written_summary(out: str | Path) -> str:
    """What `width-sweep report` prints after writing: the verdict counts and the exclusions,
    read back from the tables `analyze` wrote (no second fit)."""
    out = Path(out)
    lines = []
    for name in ("fits", "maxlr"):
        p = out / f"{name}.parquet"
        if p.exists():
            f = pd.read_parquet(p)
            lines.append(f"{name}: [{summary(f)}]")
            lines += [f"excluded: {e}" for e in exclusions(f)] if name == "fits" else []
    return "\n".join(lines)


def write_report(out: str | Path, predict_fn: PredictFn = gamma_calc_predict) -> Path:
    """`DIR/report.md` + `DIR/plots/*.png`."""
    out = Path(out)
    res = analyze(out, predict_fn=predict_fn)
    steps, runs = load(out)
    plots = out / "plots"
    plots.mkdir(exist_ok=True)
    md = [f"# Width sweep report: {out.name}", "",
          (f"{len(runs)} runs, widths {sorted(runs.width.unique().tolist())}, "
           f"{int((runs.status != 'ok').sum())} diverged."), ""]
    if len(res.maxlr):
        md += ["## Largest stable rate", "", res.options.rule().text(), "",
               table(res.maxlr, ["scheme", "optimizer", "predicted", "fitted", "ci_low",
                                 "ci_high", "local", "n_widths", "n_seeds", "verdict",
                                 "reason"], True), ""]
    if len(res.fits):
        md += _verdict_md(res, steps)
    elif not len(res.maxlr):
        md += ["## Verdicts", "", empty_sweep_text(runs), ""]
    if len(res.theorem1):
        md += ["## Theorem 1 (slope of γ against ε)", "", table(res.theorem1, shown(
            res.theorem1, ["quantity", "step", "scheme", "eps_values", "predicted", "fitted",
                           "ci_low", "ci_high", "tolerance", "verdict", "reason"]), True), ""]
    if steps.width.nunique() < 2:
        md += ["Fits need at least two widths; per-config summary of the runs instead.", ""]
    rs = run_summary(runs)
    md += ["## Runs (mean over seeds)", "", table(rs, _run_cols(rs), True), ""]
    T = int(steps.step.max())
    show = sorted({s for s in (1, 2, 3, T) if s <= T})
    if "module" in steps.columns and steps.width.nunique() > 1:   # a factory(width) model
        from .coord_sweep import report_extra
        md += report_extra(out, steps, res.fits, plots)
    cfg = [c for c in ["scheme", "lr_exponent", "eps", "init_scale", "eta0"]
           if runs[c].nunique() > 1] or ["scheme"]
    for q in ("Z_A", "Z_B", "delta1", "delta2", "delta3", "nu_W", "loss"):
        if "module" in steps.columns:
            break
        if (steps.quantity == q).any() and steps.width.nunique() > 1:
            quantity_figure(steps, runs, q, show, cfg).savefig(plots / f"{q}.png", dpi=110)
            md += [f"![{q}](plots/{q}.png)", ""]
    md += [f"note: {n}" for n in res.notes]
    path = out / "report.md"
    path.write_text("\n".join(md) + "\n")
    return path
