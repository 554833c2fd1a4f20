"""The images of figures/loram_fig2.py (LoRAM Figure 2; docs/theory.md §4).

`plot_a`: Proposition 1 — probe loss, ‖A‖/α_A, ‖B‖/α_B and ν[W_LoRA] against the step for the
splits of α = 16 (which coincide) and "α = 1, η × 4" (which does not), SGD and Adam.
`plot_bc`: (b) Proposition 2 — ν[W_LoRA^t] against t (seed mean) with Prop. 2's exact and
linearised predictions and the "Linear" baseline; (c) k̂₁ against width with the fitted slope
and the prediction k₁ = r/m.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import common, style
from .common import Context
from .loram_fig2 import BETAS, ETA, SPLITS, Config, R, predictions, settings


def plot_a(cfg: Config, a: pd.DataFrame, ctx: Context):
    qs = (("loss", "probe loss ½‖f − y‖²"), ("norm_A", "‖A‖_F / α_A"),
          ("norm_B", "‖B‖_F / α_B"), ("nu_W", "ν[W_LoRA] = ν[s(BA − B₀A₀)]"))
    labels = list(settings())
    blues = ["#9ecae1", "#4292c6", "#08519c", "#08306b"]
    with style.rc():
        fig, axes = style.figure(2, 4, size=(13, 6.2), footer=common.footer(
            "loram_fig2", ctx, cfg.label()), title="LoRAM Figure 2(a), Proposition 1 on "
            "the 5-layer MLP (Noise & Zeros, probed layer L2): splits of α = 16 coincide; "
            "α = 1, η × 4 does not")
        for i, opt in enumerate(("sgd", "adam")):
            for j, (q, lab) in enumerate(qs):
                ax = axes[i, j]
                for k, s in enumerate(labels):
                    g = a[(a.optimizer == opt) & (a.setting == s) & (a.quantity == q)]
                    if q in ("norm_B", "nu_W"):
                        g = g[g.step >= 1]
                    if k < len(SPLITS):
                        ax.plot(g.step, g.value, color=blues[k], lw=4.5 - 1.1 * k,
                                ls=("-", "--", "-.", ":")[k], label=s)
                    else:
                        ax.plot(g.step, g.value, color=style.COLORS["B"], lw=1.4, label=s)
                if q in ("norm_B", "nu_W"):
                    ax.set_yscale("log")
                if i == 0:
                    ax.set_title(lab)
                ax.set_xlabel("step t")
                if j == 0:
                    ax.set_ylabel(f"{'SGD' if opt == 'sgd' else 'Adam'} (η = {ETA[opt]:g})\n"
                                  "loss (probe batch)")
        axes[0, 0].legend(fontsize=6.5, loc="upper right")
    return fig


def plot_bc(cfg: Config, steps: pd.DataFrame, lin: pd.DataFrame, k1: pd.DataFrame,
            k1_fit: pd.DataFrame, ctx: Context):
    shades = {1.0: 1.0, 4.0: 0.65, 16.0: 0.4}
    with style.rc():
        fig, axes = style.figure(1, 2, size=(12, 4.8), footer=common.footer(
            "loram_fig2", ctx, cfg.label()), title="LoRAM Figure 2(b), Proposition 2 "
            "(SGD, s = 1): growth of ν[W_LoRA^t]; and k₁ against width")
        ax = axes[0, 0]
        configs = [("A", b) for b in BETAS] + [("AB+", 1.0)]
        for s, b in configs:
            p = predictions(steps, s, b)
            m = p.groupby("step")[["measured", "exact", "linear"]].mean()
            m = m[m.index >= 1]
            col, alpha = style.color(s), shades[b] if s == "A" else 1.0
            name = style.name(s, "loram") + (f", β = {b:g}" if s == "A" else "")
            ax.plot(m.index, m.measured, color=col, alpha=alpha, lw=2.0, label=name)
            ax.plot(m.index, m.exact, color=col, alpha=alpha, ls="--", lw=1.0)
            ax.plot(m.index, m.linear, color=col, alpha=alpha, ls=":", lw=1.2)
        lw = lin.pivot_table(index="step", columns="quantity", values="value")
        lw = lw[lw.index >= 1]
        ax.plot(lw.index, lw.nu_W, color=style.COLORS["linear"], lw=2.0, label="Linear (layer "
                "trained itself)")
        lin_pred = ETA["sgd"] ** 2 * np.cumsum(lw.grad_nu.to_numpy())
        ax.plot(lw.index, lin_pred, color=style.COLORS["linear"], ls=":", lw=1.2)
        ax.plot([], [], color="0.4", ls="--", label="Prop. 2 exact (M^t, measured σ_L²)")
        ax.plot([], [], color="0.4", ls=":", label="Prop. 2 linearised (k₁ η² Σσ_L²)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("step t")
        ax.set_ylabel("ν[W_LoRA^t] (mean square of the update)")
        ax.set_title("(b) ν[W_LoRA^t] against t, seed mean")
        ax.legend(fontsize=6.3, loc="upper left")
        ax = axes[0, 1]
        ax.scatter(k1.width, k1.value, color=style.color("A"), s=10, alpha=0.5,
                   label="k̂₁ per seed")
        m = k1.groupby("width").value.mean()
        r = k1_fit.iloc[0]
        mark = {"pass": "✓", "fail": "✗"}.get(r.verdict, "")
        ax.plot(m.index, m, color=style.color("A"), marker="o",
                label=f"seed mean: slope {r.fitted:+.3f} {common.fmt_ci(r.ci_low, r.ci_high, 3)}")
        x = np.array(sorted(k1.width.unique()), float)
        ax.plot(x, R / x, **style.PREDICTION, label=f"Prop. 2: k₁ = r/m (slope −1) {mark}")
        style.log2_width_axis(ax, k1.width.unique())
        ax.set_xlabel("width n = m (probed square layer)")
        ax.set_yscale("log")
        ax.set_ylabel("k̂₁ = ν[W_LoRA^1] / (η² σ_L²)")
        ax.set_title("(c) k₁ against width (Noise & Zeros, one SGD step)")
        ax.legend(fontsize=6.5, loc="upper right")
    return fig
