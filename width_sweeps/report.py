"""Human-readable output: the text fit table (`fit`) and the markdown report with log-log plots
(`report`): verdict table, Theorem-1 table, max-lr table, and per quantity a plot of the seed
mean (± one standard deviation over seeds) against width per config, on log-log axes.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .analyze import analyze
from .fit import FitOptions
from .predict import PredictFn, gamma_calc_predict
from .results import load

CORE = ("Z_A", "Z_B", "delta1", "delta2", "delta3")
SHOW = ["quantity", "step", "scheme", "lr_exponent", "eps", "predicted", "fitted", "ci_low",
        "ci_high", "local", "n_widths", "verdict"]


VARYING = ["module", "model", "optimizer", "init_scale", "eta0", "lr_exponent_b"]


def shown(df: pd.DataFrame, base: list[str] = SHOW) -> list[str]:
    """`base` plus the config columns that vary within `df` (after `scheme`): rows of a sweep
    over several η₀ or init scales stay distinguishable."""
    extra = [c for c in VARYING if c in df.columns and df[c].nunique(dropna=False) > 1]
    i = base.index("scheme") + 1 if "scheme" in base else len(base)
    return base[:i] + extra + base[i:]


EXPONENTS = {"fitted", "ci_low", "ci_high", "local", "local_low", "local_high"}


def _fmt(v, exponent: bool = False) -> str:
    if isinstance(v, float):
        if np.isnan(v):
            return "—"
        if v == -np.inf:
            return "-oo"
        return f"{v:+.3f}" if exponent else f"{v:.4g}"
    return "—" if v is None else str(v)


def table(df: pd.DataFrame, cols: list[str], markdown: bool = False) -> str:
    cols = [c for c in cols if c in df.columns]
    exp = [c in EXPONENTS for c in cols]
    rows = [[_fmt(v, e) for v, e in zip(r, exp)] for r in df[cols].itertuples(index=False)]
    if markdown:
        head = "| " + " | ".join(cols) + " |\n|" + "---|" * len(cols) + "\n"
        return head + "\n".join("| " + " | ".join(r) + " |" for r in rows)
    w = [max(len(c), *(len(r[i]) for r in rows)) if rows else len(c) for i, c in enumerate(cols)]
    line = lambda r: "  ".join(x.rjust(w[i]) for i, x in enumerate(r))
    return "\n".join([line(cols)] + [line(r) for r in rows])


def summary(df: pd.DataFrame) -> str:
    c = df.verdict.value_counts() if "verdict" in df else {}
    return ", ".join(f"{k}: {int(c.get(k, 0))}" for k in ("pass", "fail", "n/a"))


def fits_text(fits: pd.DataFrame, t1: pd.DataFrame, opts: FitOptions, notes: list[str]) -> str:
    """The `fit --format text` output."""
    out = [(f"fits: slope of log q vs log n, {opts.level:.0%} bootstrap CI over seeds "
           f"({opts.n_boot} draws); verdict pass when the prediction lies in the CI widened "
           f"by ±{opts.tolerance}"), table(fits, shown(fits) + (["eta_max"] if "eta_max" in fits else [])),
           f"[{summary(fits)}]"]
    if len(t1):
        out += ["", "Theorem 1: slope of fitted γ against ε (theory: −1 bound init, −2 zero)",
                table(t1, ["quantity", "step", "scheme", "lr_exponent", "eps_values",
                           "predicted", "fitted", "ci_low", "ci_high", "verdict"])]
    out += [f"note: {n}" for n in notes]
    return "\n".join(out)


RUN_COLS = ["width", "scheme", "init_scale", "lr_exponent", "eta0", "eps", "seeds", "diverged",
            "final_loss", "final_test_loss", "final_test_acc"]


def run_summary(runs: pd.DataFrame) -> pd.DataFrame:
    """Per (width, config): seeds, diverged count and seed means of the final metrics."""
    keys = ["width", "scheme", "init_scale", "lr_exponent", "eta0", "eps"]
    finals = [c for c in ("final_loss", "final_test_loss", "final_test_acc") if c in runs]
    g = runs.groupby(keys, observed=True)
    out = g[finals].mean()
    out["seeds"] = g.size()
    out["diverged"] = g.status.apply(lambda s: int((s == "diverged").sum()))
    return out.reset_index()


def plot_quantity(steps: pd.DataFrame, runs: pd.DataFrame, q: str, step_list: list[int],
                  path: Path) -> None:
    """Seed mean ± sd of `q` against width, one line per (scheme, rate, ε, step)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    ok = runs.loc[runs.status == "ok", "run_id"]
    d = steps[(steps.quantity == q) & steps.step.isin(step_list) & steps.run_id.isin(ok)]
    d = d[np.isfinite(d.value) & (d.value > 0)]
    fig, ax = plt.subplots(figsize=(6, 4.2))
    cfg = ["scheme", "lr_exponent", "eps", "init_scale", "eta0"]
    colors = plt.get_cmap("tab10")
    styles = ["-", "--", ":", "-."]
    for ci, (key, gc) in enumerate(d.groupby(cfg, observed=True)):
        for si, (t, g) in enumerate(gc.groupby("step")):
            s = g.groupby("width").value.agg(["mean", "std"]).reset_index()
            label = f"{key[0]} c={key[1]} ε={key[2]} β={key[3]:g} t={t}"
            ax.errorbar(s.width, s["mean"], yerr=s["std"].fillna(0), marker="o", ms=3,
                        color=colors(ci % 10), ls=styles[si % 4], label=label)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("width n")
    ax.set_ylabel(q)
    ax.set_title(f"{q} vs width")
    if len(d):
        ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(out: str | Path, predict_fn: PredictFn = gamma_calc_predict) -> Path:
    """`DIR/report.md` + `DIR/plots/*.png`."""
    out = Path(out)
    res = analyze(out, predict_fn=predict_fn)
    steps, runs = load(out)
    plots = out / "plots"
    plots.mkdir(exist_ok=True)
    md = [f"# Width sweep report: {out.name}", "",
          (f"{len(runs)} runs, widths {sorted(runs.width.unique().tolist())}, "
          f"{int((runs.status == 'diverged').sum())} diverged."), ""]
    if len(res.maxlr):
        md += ["## Largest stable rate", "", table(res.maxlr, ["scheme", "optimizer", "predicted",
               "fitted", "ci_low", "ci_high", "local", "n_widths", "verdict"], True), ""]
    if len(res.fits):
        core = res.fits[res.fits.quantity.isin(CORE) & (res.fits.step >= 1)]
        md += ["## Verdicts", "", (f"Tolerance ±{res.options.tolerance}, "
               f"{res.options.level:.0%} bootstrap CI over seeds; all quantities: "
               f"[{summary(res.fits)}], shown ({', '.join(CORE)}, steps ≥ 1): "
               f"[{summary(core)}]; every row is in `fits.parquet`."), "",
               table(core, shown(core), True), ""]
    if len(res.theorem1):
        md += ["## Theorem 1 (slope of γ against ε)", "", table(res.theorem1, ["quantity",
               "step", "scheme", "eps_values", "predicted", "fitted", "ci_low", "ci_high",
               "verdict"], True), ""]
    if steps.width.nunique() < 2:
        md += ["Fits need at least two widths; per-config summary of the runs instead.", ""]
    md += ["## Runs (mean over seeds)", "", table(run_summary(runs), RUN_COLS, True), ""]
    T = int(steps.step.max())
    show = sorted({s for s in (1, 2, 3, T) if s <= T})
    if "module" in steps.columns and steps.width.nunique() > 1:   # a factory(width) model
        from .coord_sweep import report_extra
        md += report_extra(out, steps, res.fits, plots)
    for q in ("Z_A", "Z_B", "delta1", "delta2", "delta3", "nu_W", "loss"):
        if "module" in steps.columns:
            break
        if (steps.quantity == q).any() and steps.width.nunique() > 1:
            plot_quantity(steps, runs, q, show, plots / f"{q}.png")
            md += [f"![{q}](plots/{q}.png)", ""]
    md += [f"note: {n}" for n in res.notes]
    path = out / "report.md"
    path.write_text("\n".join(md) + "\n")
    return path
