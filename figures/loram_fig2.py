"""LoRAM Figure 2 (LoRAM §2; docs/theory.md §4) on LoRAM's 5-layer MLP (width 400, r = 25,
teacher data).

(a) Proposition 1: loss, ‖A‖, ‖B‖ and ν[W_LoRA] of the probed layer under several splits
    α = α′ α_A α_B = 16 (scale α′, inits × α_A, α_B, rates × α_A², α_B² for SGD, × α_A, α_B for
    Adam) — identical curves — and under "α = 1, η × 4" — different; SGD and Adam, Noise & Zeros.
(b) Proposition 2 (SGD, α = 1, i.e. s = 1): ν[W_LoRA^t] against t for Noise & Zeros, larger init
    variances (β × Kaiming) and Init[AB+], and the "Linear" baseline (the layer itself trained,
    `toy_models` one-off run), with Prop. 2's exact M^t and linearised predictions computed from
    the measured σ_L² = ν[∇_W L] of every step (`figures.prop2`).
(c) k₁ against width: k̂₁ = ν[W_LoRA^1] / (η² σ_L²(1)) for Noise & Zeros, fitted exponent vs the
    prediction k₁ = r/m (exponent −1).
The images are drawn in `figures.loram_fig2_plots`.

Our choices where the paper's numbers were lost: data `toy_models.mlp5.teacher_data` (1024
train points), batch 64, float64 for (a) (exactness), float32 for (b), (c); rates SGD 5e−3
(the paper's 5e−5 barely moves our loss in a few hundred steps), Adam 5e−5 (the paper's);
Adam's ε = 1e−16 (Prop. 1 holds as ε → 0); splits (α′, α_A, α_B) ∈ {(16,1,1), (4,2,2),
(2/3,6,4), (5,0.8,4)} (factors that are not powers of two, so that equality is not an artefact
of exact binary scaling).
Verdicts (docs/theory.md §9.6): Prop. 1 holds when every split matches (16, 1, 1) to a relative
1e−6 at every step (an exact computation: a point, no interval); Prop. 2 "predicts" ν[W_LoRA]
when the bootstrap interval of measured/predicted lies in [1/2, 2] (it is a random-walk model).
"""
from __future__ import annotations

import itertools
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import common, prop2, style
from .common import Claim, Context, FigureResult

SPLITS = ((16.0, 1.0, 1.0), (4.0, 2.0, 2.0), (2 / 3, 6.0, 4.0), (5.0, 0.8, 4.0))
R = 25
ETA = {"sgd": 5e-3, "adam": 5e-5}
BETAS = (1.0, 4.0, 16.0)
SOURCE1, SOURCE2 = "LoRAM (Prop. 1, Fig. 2a)", "LoRAM (Prop. 2, Fig. 2b)"
MLP_OPTS = {"n_train": 1024, "n_test": 256}


@dataclass(frozen=True)
class Config:
    width: int
    steps_a: int
    steps_b: int
    seeds_b: int
    k1_widths: tuple[int, ...]
    k1_seeds: int

    def label(self) -> str:
        return (f"MLP5 width {self.width}, r = {R}, teacher data, batch 64; (a) float64, "
                f"{self.steps_a} steps, η_SGD = {ETA['sgd']:g}, η_Adam = {ETA['adam']:g}; "
                f"(b) SGD η = "
                f"{ETA['sgd']:g}, s = 1, {self.steps_b} steps, {self.seeds_b} seeds; (c) "
                f"{common.width_range(self.k1_widths)}, {self.k1_seeds} seeds")


def config(mode: str) -> Config:
    if mode == "quick":     # half the paper's width: 4× cheaper on a CPU
        return Config(200, 15, 100, 3, (100, 200, 400, 800), 8)
    return Config(400, 300, 400, 5, (100, 200, 400, 800, 1600), 6)


def _base(name: str, steps: int, width: int, **kw) -> dict:
    return {"name": name, "model": "mlp5", "widths": [width], "schemes": ["A"], "n0": width,
            "seeds": 1, "steps": steps, "batch_size": 64, "probe_batch": 64, "rank": R,
            "dtype": "float32", "test_eval": False, "model_options": dict(MLP_OPTS)} | kw


# ---- (a) Proposition 1 ---------------------------------------------------------------------

def settings() -> dict[str, tuple[float, float, float, float]]:
    """label → (α′, α_A, α_B, rate multiplier): Prop. 1 splits of α = 16, then α = 1, η × 4."""
    out = {f"α′ = {a1:.3g}, α_A = {aa:g}, α_B = {ab:g}": (a1, aa, ab, 1.0) for a1, aa, ab in SPLITS}
    out["α = 1, η × 4"] = (1.0, 1.0, 1.0, 4.0)
    return out


def measure_a(cfg: Config, ctx: Context) -> pd.DataFrame:
    """One-off reference runs (toy_models.train_reference with mlp5.Prop1Split), float64.
    Tidy (optimizer, setting, step, quantity, value) with ‖A‖/α_A, ‖B‖/α_B of layer L2.
    One intra-op thread: the matrices are small (width × rank)."""
    dev = common.torch_device(ctx.device)
    with common.single_thread():
        return _measure_a(cfg, dev)


def _measure_a(cfg: Config, dev) -> pd.DataFrame:
    import torch

    from toy_models.mlp5 import MLP5, Prop1Split, teacher_data
    from toy_models.train import TrainConfig, train_reference
    base = MLP5(width=cfg.width, r=R, alpha=16.0)
    X, y = teacher_data(base, MLP_OPTS["n_train"], data_seed=0, dtype=torch.float64, device=dev)
    frozen = base.build_frozen(dtype=torch.float64, device=dev)
    rows = []
    for opt in ("sgd", "adam"):
        for label, (a1, aa, ab, mult) in settings().items():
            cfg0 = TrainConfig(scheme="A", optimizer=opt, lr=ETA[opt] * mult,
                               steps=cfg.steps_a, batch_size=64, eps=1e-16)
            model, tc = Prop1Split(a1, aa, ab).apply(base, cfg0)
            h = train_reference(model, frozen, (X, y), tc, probe=(X[:64], y[:64])).history
            w = pd.DataFrame({"loss": h["loss"], "nu_W": h["nu_W"],
                              "norm_A": np.sqrt(np.asarray(h["nu_A"]) * R * cfg.width) / aa,
                              "norm_B": np.sqrt(np.asarray(h["nu_B"]) * R * cfg.width) / ab})
            w = w.rename_axis("step").reset_index().melt(id_vars="step", var_name="quantity")
            rows.append(w.assign(optimizer=opt, setting=label, split=mult == 1.0))
    return pd.concat(rows, ignore_index=True)


def claims_a(a: pd.DataFrame) -> list[Claim]:
    from width_sweeps.verdict import judge_exact
    out, far = [], []
    base = next(iter(settings()))
    for opt in ("sgd", "adam"):
        d = a[a.optimizer == opt].pivot_table(index=["quantity", "step"], columns="setting",
                                              values="value")
        ref = d[base]
        dev = {}
        for s in d.columns:
            if s == base:
                continue
            rel = ((d[s] - ref).abs() / ref.abs().clip(lower=1e-300)).groupby("quantity").max()
            dev[s] = float(rel[["loss", "nu_W"]].max())
        splits = [v for s, v in dev.items() if s != "α = 1, η × 4"]
        worst = max(splits)
        name = "SGD" if opt == "sgd" else "Adam (ε → 0)"
        out.append(Claim("loram_fig2", f"Prop. 1, {name}: every split of α = 16 gives the same "
                         "loss and ν[W_LoRA^t] curves", SOURCE1, "identical (rel. dev. ≤ 1e−6)",
                         f"max rel. deviation {worst:.1e} over {len(splits)} splits × all steps",
                         "", judge_exact(worst, high=1e-6).verdict, "exact (float64)",
                         common.claim_id("loram_fig2", "prop1", opt), "mlp5"))
        far.append((name, dev["α = 1, η × 4"]))
    least = min(v for _, v in far)
    out.append(Claim("loram_fig2", "Prop. 1: 'α = 1, η × 4' is not an equivalent setting "
                     "(curves differ)", SOURCE1, "rel. deviation > 1 %",
                     "; ".join(f"{n} {v:.0%}" for n, v in far), "",
                     judge_exact(least, low=1e-2).verdict, "exact (float64)",
                     common.claim_id("loram_fig2", "prop1", "not-equivalent"), "mlp5"))
    return out


# ---- (b) Proposition 2 ---------------------------------------------------------------------

def measure_b(cfg: Config, ctx: Context) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(LoRA steps table of the probed layer, Linear baseline history)."""
    from width_sweeps.results import load
    parts = []
    for name, scheme, betas in (("loram_b", "A", list(BETAS)), ("loram_b_abplus", "AB+", [1.0])):
        spec = _base(name, cfg.steps_b, cfg.width, schemes=[scheme], init_scales=betas,
                     optimizer="sgd", eta0=[ETA["sgd"]], alpha=float(R), seeds=cfg.seeds_b)
        steps, runs = load(common.sweep(spec, ctx, name))
        parts.append(steps[steps.run_id.isin(runs.loc[runs.status == "ok", "run_id"])])
    return pd.concat(parts, ignore_index=True), linear_baseline(cfg, ctx)


def linear_baseline(cfg: Config, ctx: Context) -> pd.DataFrame:
    """The 'Linear' baseline (LoRA layers replaced by plainly trained V = W), reference loop."""
    dev = common.torch_device(ctx.device)
    with common.single_thread():
        return _linear_baseline(cfg, dev)


def _linear_baseline(cfg: Config, dev) -> pd.DataFrame:
    import torch

    from toy_models.mlp5 import MLP5, teacher_data
    from toy_models.train import TrainConfig, train_reference
    model = MLP5(width=cfg.width, r=R, alpha=float(R), mode="linear")
    X, y = teacher_data(model, MLP_OPTS["n_train"] + MLP_OPTS["n_test"], data_seed=0,
                        dtype=torch.float32, device=dev)      # as the sweep adapter draws it
    X, y = X[:MLP_OPTS["n_train"]], y[:MLP_OPTS["n_train"]]
    frozen = model.build_frozen(dtype=torch.float32, device=dev)
    res = train_reference(model, frozen, (X, y), TrainConfig(
        optimizer="sgd", lr=ETA["sgd"], steps=cfg.steps_b, batch_size=64), probe=(X[:64], y[:64]))
    return res.frame()


def predictions(steps: pd.DataFrame, scheme: str, beta: float) -> pd.DataFrame:
    """Per seed: measured ν[W_LoRA^t] and Prop. 2's exact / linearised from that seed's own
    σ_A², σ_B² (step 0) and σ_L²(t) (t ≥ 1)."""
    n = int(steps.width.iloc[0])
    layer = prop2.Layer(n, n, R, ETA["sgd"])
    g = steps[(steps.scheme == scheme) & (steps.init_scale == beta)]
    rows = []
    for seed, gs in g.groupby("seed"):
        w = gs.pivot_table(index="step", columns="quantity", values="value")
        sa, sb = float(w.at[0, "nu_A"]), float(w.at[0, "nu_B"])
        sl = w["grad_nu"].to_numpy()[1:]
        ex, li = prop2.exact(layer, sa, sb, sl), prop2.linearised(layer, sa, sb, sl)
        rows.append(pd.DataFrame({"seed": seed, "step": w.index, "measured": w["nu_W"].to_numpy(),
                                  "exact": ex["nu_W"], "linear": li["nu_W"],
                                  "k1": prop2.k1(layer, sa, sb)}))
    cols = ["seed", "step", "measured", "exact", "linear", "k1"]
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=cols)


def _effect_claim(cells: dict, stat, text: str, prediction: str, cid: str, *,
                  low: float = -np.inf, high: float = np.inf, digits: int = 2) -> Claim:
    """A bootstrap interval of a ratio (seeds resampled per cell) judged by the verdict rule."""
    from width_sweeps.bootstrap import stratified
    from width_sweeps.verdict import judge_effect
    b = stratified(cells, stat)
    v = judge_effect(b.low, b.high, low=low, high=high, n_seeds=b.min_seeds)
    return Claim("loram_fig2", text, SOURCE2, prediction, f"{b.estimate:.{digits}f}",
                 f"[{b.low:.{digits}f}, {b.high:.{digits}f}]", v.verdict,
                 f"{b.min_seeds} seeds" + ("" if v.verdict == "pass" else f" — {v.reason}"),
                 cid, "mlp5", b.low, b.high)


def claims_b(steps: pd.DataFrame, lin: pd.DataFrame, T: int) -> list[Claim]:
    from width_sweeps.verdict import combine
    p = predictions(steps, "A", 1.0)
    out = []
    for t, text in ((1, "Prop. 2 predicts ν[W_LoRA^1] after one SGD step (Noise & Zeros)"),
                    (T, f"Prop. 2 predicts ν[W_LoRA^t] at t = {T} (Noise & Zeros)")):
        r = p[p.step == t]
        out.append(_effect_claim({0: (r.measured / r.exact).to_numpy()}, lambda m: m[0], text,
                                 "measured / predicted ∈ [1/2, 2]",
                                 common.claim_id("loram_fig2", "prop2",
                                                 "t-1" if t == 1 else "last-step"),
                                 low=0.5, high=2.0))
    lin_T = float(lin[(lin.quantity == "nu_W") & (lin.step == T)].value.iloc[0])
    out.append(_effect_claim(
        {0: p[p.step == T].measured.to_numpy() / lin_T}, lambda m: m[0],
        f"LoRA's ν[W_LoRA] grows slower than a plainly trained layer's (Linear), t = {T}",
        f"ratio < 1 (Prop. 2: k₁ = r/m = {R / int(steps.width.iloc[0]):.3f})",
        common.claim_id("loram_fig2", "prop2", "slower-than-linear"), high=1.0, digits=3))
    finals = {b: predictions(steps, "A", b) for b in BETAS}
    cells = {b: f[f.step == T].measured.to_numpy() for b, f in finals.items()}
    parts = [_effect_claim(cells, lambda m, b0=b0, b1=b1: m[b1] / m[b0], "", "",
                           f"β {b1:g}/{b0:g}", low=1.0, digits=1)
             for b0, b1 in itertools.pairwise(BETAS)]
    out.append(Claim("loram_fig2", f"larger init magnitudes make ν[W_LoRA] grow faster "
                     f"(Noise & Zeros, variance × β), t = {T}", SOURCE2,
                     f"ratio > 1 (Prop. 2: (β₁/β₀)² = {(BETAS[1] / BETAS[0]) ** 2:g})",
                     "; ".join(f"{c.id}: {c.measured}" for c in parts),
                     "; ".join(c.interval for c in parts), combine([c.verdict for c in parts]),
                     "; ".join(dict.fromkeys(c.note for c in parts)),
                     common.claim_id("loram_fig2", "prop2", "larger-init-faster"), "mlp5"))
    return out


# ---- (c) k₁ against width ------------------------------------------------------------------

def measure_c(cfg: Config, ctx: Context) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-run k̂₁ = ν[W^1] / (η² σ_L²(1)) and its fitted width exponent (vs −1)."""
    from width_sweeps.fit import FitOptions, fit_table
    from width_sweeps.results import load
    from width_sweeps.verdict import add_verdicts
    spec = _base("loram-k1", 1, cfg.width, widths=list(cfg.k1_widths), n0=1, optimizer="sgd",
                 eta0=[ETA["sgd"]], alpha=float(R), seeds=cfg.k1_seeds,
                 model_options={"n_train": 256, "n_test": 64})
    steps, _ = load(common.sweep(spec, ctx, "loram_k1"))
    w = steps[steps.step == 1].pivot_table(
        index=["run_id", "model", "width", "scheme", "init_scale", "optimizer", "lr_exponent",
               "lr_exponent_b", "eta0", "eps", "seed"], columns="quantity", values="value",
        observed=True).reset_index()
    w["value"] = w["nu_W"] / (ETA["sgd"] ** 2 * w["grad_nu"])
    long = w.assign(step=1, quantity="k1")
    opts = FitOptions(tolerance=0.05)
    fits = fit_table(long, None, opts)
    fits["predicted"] = "-1"
    return long, add_verdicts(fits, opts.rule())


def claim_c(fits: pd.DataFrame) -> Claim:
    r = fits.iloc[0]
    return Claim("loram_fig2", "k₁ of Noise & Zeros shrinks like r/m: width exponent of "
                 "k̂₁ = ν[W_LoRA^1]/(η²σ_L²)", "LoRAM (Prop. 2: k₁ = r/m)", "-1",
                 f"{r.fitted:+.3f}", common.fmt_ci(r.ci_low, r.ci_high), r.verdict,
                 "tol ±0.05" + ("" if r.verdict == "pass" else f" — {r.reason}"),
                 common.claim_id("loram_fig2", "k1-width"), "mlp5", float(r.ci_low),
                 float(r.ci_high))


def details(steps: pd.DataFrame, T: int) -> str:
    lines = ["| init | β | k₁ | measured ν[W^T] | exact | linearised | measured/exact |",
             "|---|---|---|---|---|---|---|"]
    for s, bs in (("A", BETAS), ("AB+", (1.0,))):
        for b in bs:
            p = predictions(steps, s, b)
            if not len(p):
                lines.append(f"| {style.name(s, 'loram')} | {b:g} | every seed diverged | | | | |")
                continue
            m = p[p.step == T].mean(numeric_only=True)
            lines.append(f"| {style.name(s, 'loram')} | {b:g} | {m.k1:.4f} | {m.measured:.3e} | "
                         f"{m.exact:.3e} | {m.linear:.3e} | {m.measured / m.exact:.2f} |")
    return f"Prop. 2 at t = {T} (seed means):\n\n" + "\n".join(lines)


def run(ctx: Context) -> FigureResult:
    t0 = time.perf_counter()
    cfg = config(ctx.mode)
    a = measure_a(cfg, ctx)
    steps_b, lin = measure_b(cfg, ctx)
    k1, k1_fit = measure_c(cfg, ctx)
    from .loram_fig2_plots import plot_a, plot_bc  # local: it imports this module
    images = [common.save(plot_a(cfg, a, ctx), "loram_fig2a", ctx),
              common.save(plot_bc(cfg, steps_b, lin, k1, k1_fit, ctx), "loram_fig2b", ctx)]
    cl = claims_a(a) + claims_b(steps_b, lin, cfg.steps_b) + [claim_c(k1_fit)]
    res = FigureResult("loram_fig2", "LoRAM Figure 2: scaling equivalence and magnitude dynamics",
                       "Do Prop. 1's reparametrisations of α give identical training, and does "
                       "Prop. 2's magnitude model predict how fast ν[W_LoRA] grows (k₁ = r/m)?",
                       cl, images, cfg.label(), common.device_label(ctx.device),
                       time.perf_counter() - t0, details(steps_b, cfg.steps_b))
    res.rule = ("the verdict rule (docs/theory.md §9.6). Prop. 1 rows are exact float64 "
                "computations (a point, no interval): relative deviation ≤ 1e−6 at every step "
                "(and > 1 % for the non-equivalent setting). Prop. 2 rows: the 95 % bootstrap "
                "interval (seeds) of measured/predicted inside [1/2, 2] passes, outside fails; "
                "ordering rows: the interval beyond 1; with fewer than 3 seeds, inconclusive. "
                "k₁ exponent: " + common.rule_text(0.05))
    return res


if __name__ == "__main__":
    raise SystemExit(common.main(run))
