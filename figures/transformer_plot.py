"""The transformer coordinate check's figure and tables (figures/transformer_coord.py).

Rows 1–2: Init[A] at c = −1/2 and Init[B] at c = −1; one panel per probe, seed mean at the
headline step against width for every adapted projection (colour: projection type; solid:
block 0, dashed: block 1), gamma_calc's predicted slope dashed grey.  Row 3, the diagnostics:
the premise (RMS of each projection's input z), the backpropagated signal RMS dL/dZ̄, the
recursion ratios' fitted exponents against their predictions, the fine-tuning loss per step,
the pretraining loss against width, and the alignment κ of Adam's first update with z.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import common, style

KIND_COLORS = {"attn.c_attn": "#0072B2", "attn.c_proj": "#56B4E9", "mlp.c_fc": "#D55E00",
               "mlp.c_proj": "#E69F00"}
WIDTH_CMAP = "viridis"


def _style(module: str) -> dict:
    from toy_models.transformer_probes import kind, layer
    return {"color": KIND_COLORS.get(kind(module) or "", "0.3"),
            "ls": "-" if layer(module) == 0 else "--", "lw": 1.2}


def _short(module: str) -> str:
    from toy_models.transformer_probes import kind, layer
    return f"h{layer(module)}.{kind(module)}"


def _predicted_line(ax, x: np.ndarray, y: np.ndarray, pred) -> None:
    if isinstance(pred, str) and "oo" not in pred and len(x):
        lx, ly = np.log(x), np.log(y)
        anchor = ly.mean() - common.frac(pred) * lx.mean()
        ax.plot(x, np.exp(anchor + common.frac(pred) * lx), **style.PREDICTION, zorder=0)


def _probe_row(axes, cfg, m, s: str, c: str, t: int) -> None:
    from .transformer_coord import LABELS, NAMES, QUANTITIES
    tab = m.table[(m.table.scheme == s) & (m.table.lr_exponent == c) & (m.table.step == t)]
    fits = m.fits[(m.fits.scheme == s) & (m.fits.lr_exponent == c) & (m.fits.step == t)]
    for j, q in enumerate(QUANTITIES):
        ax = axes[j]
        d = tab[(tab.quantity == q) & (tab.value > 0)]
        agg = d.groupby(["module", "width"]).value.apply(lambda v: np.exp(np.log(v).mean()))
        allx, ally = [], []
        for module, g in agg.groupby(level=0):
            x, y = g.index.get_level_values(1).to_numpy(float), g.to_numpy()
            ax.plot(x, y, marker="o", ms=2.5, **_style(module))
            allx.append(x)
            ally.append(y)
        f = fits[fits.quantity == q]
        pred = f.predicted.iloc[0] if len(f) else None
        if allx:
            _predicted_line(ax, np.unique(np.concatenate(allx)),
                            pd.Series(np.concatenate(ally)).groupby(np.concatenate(allx))
                            .apply(lambda v: np.exp(np.log(v).mean())).to_numpy(), pred)
        npass = int((f.verdict == "pass").sum())
        ax.set_title(f"{LABELS[q]}: θ {pred}, {npass}/{len(f)} pass", fontsize=7.5,
                     color="#1a7f37" if len(f) and npass == len(f) else "#cf222e")
        style.log2_width_axis(ax, cfg.widths)
        ax.set_yscale("log")
    axes[0].set_ylabel(f"{NAMES[s]}, c = {c}\nRMS at t = {t}")


def _diag_row(axes, cfg, m, t: int) -> None:
    ax = axes[0]
    for r in m.premise[m.premise.stat == "rms"].itertuples(index=False):
        ws = sorted(r.level)
        ax.plot(ws, [r.level[w] for w in ws], marker="o", ms=2.5, **_style(r.module))
    ax.set_title("premise: RMS of the LoRA input z", fontsize=7.5)
    ax = axes[1]
    for r in m.signal.itertuples(index=False):
        ws = sorted(r.rms)
        ax.plot(ws, [r.rms[w] for w in ws], marker="o", ms=2.5, **_style(r.module))
    ax.set_title("signal RMS dL/dZ̄ (μP: n⁻¹)", fontsize=7.5)
    ax = axes[5]
    for r in m.alignment.itertuples(index=False):
        ws = sorted(r.level)
        ax.plot(ws, [r.level[w] for w in ws], marker="o", ms=2.5, **_style(r.module))
    ax.set_title("alignment κ of sign(g_A) with z (θ: flat)", fontsize=7.5)
    for a in (axes[0], axes[1], axes[5]):
        style.log2_width_axis(a, cfg.widths)
        a.set_yscale("log")
    _ratio_panel(axes[2], m, cfg.tolerance)
    ax = axes[3]
    loss = m.table[m.table.quantity == "loss"]
    for (s, c), g in loss.groupby(["scheme", "lr_exponent"]):
        for n, gw in g.groupby("width"):
            mean = gw.groupby("step").value.mean()
            ax.plot(mean.index, mean.to_numpy(), color=style.color(s),
                    alpha=0.3 + 0.7 * np.log(n / min(cfg.widths) + 1) / np.log(
                        max(cfg.widths) / min(cfg.widths) + 1), lw=1.0)
    ax.set_title("fine-tuning loss (blue A, red B; dark = wide)", fontsize=7.5)
    ax.set_xlabel("step")
    _pretrain_panel(axes[4], cfg, m)


def _ratio_panel(ax, m, tol: float) -> None:
    """Fitted minus predicted exponent of every recursion ratio (± its interval), one column
    per (config, ratio), one dot per adapter; the grey band is the verdict's tolerance."""
    if m.ratios.empty:
        ax.set_title("recursion ratios: none", fontsize=7.5)
        return
    r = m.ratios[m.ratios.predicted.map(lambda p: isinstance(p, str))].reset_index(drop=True)
    keys = list(dict.fromkeys(zip(r.scheme, r.ratio)))
    short = {"δ²_t / Z_A_{t−1}": "δ²/Z_A", "δ¹_t / B_{t−1}": "δ¹/B", "Z_B_t / Z_A_t": "Z_B/Z_A"}
    pred = np.array([common.frac(p) for p in r.predicted])
    x = np.array([keys.index(k) for k in zip(r.scheme, r.ratio)], float)
    x += np.linspace(-0.3, 0.3, 8)[np.arange(len(r)) % 8]
    dev = r.fitted.to_numpy() - pred
    lo = np.clip(r.fitted - r.ci_low, 0, None).to_numpy()
    hi = np.clip(r.ci_high - r.fitted, 0, None).to_numpy()
    ax.axhspan(-tol, tol, color="0.9", zorder=0)
    ax.axhline(0, **style.PREDICTION)
    ax.errorbar(x, dev, yerr=[lo, hi], fmt="none", ecolor="0.6", lw=0.7)
    ax.scatter(x, dev, c=[_style(mod)["color"] for mod in r.module], s=8, zorder=3,
               marker="o")
    ax.set_xticks(range(len(keys)), [f"{s}: {short.get(q, 'mix')}" for s, q in keys],
                  rotation=45, ha="right", fontsize=6)
    ax.set_title("recursion given measured inputs: fit − θ", fontsize=7.5)
    ax.set_ylabel("exponent deviation")


def _pretrain_panel(ax, cfg, m) -> None:
    p = m.pretrain
    if p.empty:
        ax.set_title("not pretrained (control)", fontsize=7.5)
        return
    ax.plot(p.width, p.val_loss, marker="o", label="validation")
    ax.plot(p.width, p.train_loss, marker="s", label="train (last 25 steps)")
    style.log2_width_axis(ax, cfg.widths)
    ax.set_title(f"μP pretraining loss (η₀ = {cfg.model.base_lr:g})", fontsize=7.5)
    ax.legend()


def _legend(ax) -> None:
    from matplotlib.lines import Line2D

    from toy_models.transformer_probes import KINDS
    handles = [Line2D([], [], color=c, lw=1.2, label=KINDS[k].split(" (")[0])
               for k, c in KIND_COLORS.items()]
    handles += [Line2D([], [], color="0.3", ls="--", lw=1.2, label="block 1"),
                Line2D([], [], color="0.25", ls="--", lw=1.0, label="θ slope")]
    ax.legend(handles=handles, fontsize=5.5, loc="upper left")


def plot(cfg, m, ctx, t: int):
    from .transformer_coord import CONFIGS
    with style.rc():
        fig, axes = style.figure(3, 6, size=(15, 8.4),
                                 footer=common.footer("transformer_coord", ctx, cfg.label()),
                                 title="Coordinate check inside a μP-pretrained GPT: RMS "
                                       "probes vs width (colour: projection, dashed: block 1)")
        for i, (s, c) in enumerate(CONFIGS):
            _probe_row(axes[i], cfg, m, s, c, t)
        _legend(axes[0, 0])
        _diag_row(axes[2], cfg, m, t)
    return fig


def _fmt_rms(d: dict) -> str:
    return ", ".join(f"{v:.3g}" for _, v in sorted(d.items()))


def details(cfg, m, t: int) -> str:
    """Markdown tables: pretraining per width, premise, signal, ratios, every headline fit."""
    from width_sweeps.report import table as wtable
    out = []
    if not m.pretrain.empty:
        rows = ["| n | CPU s/step | wall s | train loss | val loss | init val loss |",
                "|---|---|---|---|---|---|"]
        for r in m.pretrain.itertuples(index=False):
            rows.append(f"| {r.width} | {r.cpu_s_per_step:.2f} | {r.pretrain_wall_s:.0f} | "
                        f"{r.train_loss:.3f} | {r.val_loss:.3f} | {r.init_val_loss:.3f} |")
        out.append("**μP pretraining per width** (CPU seconds per step are process CPU time "
                   "on the shared machine)\n\n" + "\n".join(rows))
    rows = ["| module | statistic | γ | 95 % CI | per width | verdict |",
            "|---|---|---|---|---|---|"]
    stat = {"rms": "RMS z", "l1": "mean abs z"}
    for r in m.premise.sort_values(["module", "stat"]).itertuples(index=False):
        rows.append(f"| {_short(r.module)} | {stat[r.stat]} | {r.fitted:+.3f} | "
                    f"{common.fmt_ci(r.ci_low, r.ci_high)} | {_fmt_rms(r.level)} | {r.verdict} |")
    for r in m.alignment.itertuples(index=False):
        rows.append(f"| {_short(r.module)} | κ (seeds) | {r.fitted:+.3f} | "
                    f"{common.fmt_ci(r.ci_low, r.ci_high)} | {_fmt_rms(r.level)} | {r.verdict} |")
    out.append("**Premise and alignment** (z on the probe sequences; κ of Adam's first update "
               "from Init[B] on the training batch)\n\n" + "\n".join(rows))
    rows = ["| module | γ[RMS dL/dZ̄] | smallest RMS | per width |", "|---|---|---|---|"]
    for r in m.signal.itertuples(index=False):
        rows.append(f"| {_short(r.module)} | {r.fitted:+.3f} | {r.min_rms:.2e} | "
                    f"{_fmt_rms(r.rms)} |")
    out.append("**Backpropagated signal** (Adam's ε = 1e-8)\n\n" + "\n".join(rows))
    if not m.ratios.empty:
        rows = ["| config | module | ratio | θ | fit | 95 % CI | verdict |",
                "|---|---|---|---|---|---|---|"]
        for r in m.ratios.itertuples(index=False):
            rows.append(f"| {r.scheme} c={r.lr_exponent} | {_short(r.module)} | {r.ratio} | "
                        f"{r.predicted} | {r.fitted:+.3f} | {common.fmt_ci(r.ci_low, r.ci_high)}"
                        f" | {r.verdict} |")
        out.append(f"**Recursion given its measured inputs** (t = {t})\n\n" + "\n".join(rows))
    sel = m.fits[(m.fits.step == t) & (m.fits.quantity != "loss")].copy()
    sel["module"] = [_short(x) if "h." in str(x) else x for x in sel.module]
    cols = [c for c in ("scheme", "lr_exponent", "module", "quantity", "predicted", "fitted",
                        "ci_low", "ci_high", "local", "verdict") if c in sel.columns]
    body = wtable(sel[cols], cols, markdown=True)
    out.append(f"<details><summary>Every fit at t = {t}</summary>\n\n{body}\n\n</details>")
    if m.notes:
        out.append("Notes: " + "; ".join(m.notes))
    return "\n\n".join(out)
