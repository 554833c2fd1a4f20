"""Coordinate check inside a transformer: which exponents of the single-LoRA-layer theory
(docs/theory.md §2) hold for peft LoRA on every projection of a μP-pretrained GPT (§8.6)?

Model (toy_models.transformer): a 2-block byte-level GPT-2, 4 heads of size n/4, pretrained
in μP (rates from gamma_calc) for 300 steps on the Python standard library's source, at every
width n = d_model; LoRA (r = 8, α = 8, s = 1) on attention in (c_attn → q, k, v), attention
out (c_proj), MLP in (c_fc) and MLP out (c_proj) of both blocks, all trained together.
Fine-tuning data: one fixed batch of 8 × 64 bytes of the stdlib's pydoc topics (English prose:
a shift from code).  Grid (Adam, η = η₀ n^c, η₀ = 0.25 as on the toy): Init[A] at c = −1/2
(theory: stable and efficient) and Init[B] at c = −1 (its largest stable rate: δ² = Θ(n⁻¹)).
Headline step t = 3 (docs/theory.md §2.6).  Per projection type, three rows:
the premise (γ of RMS z = 0), the marginal exponents of Z_A, (A−A₀)z, Z_B, δ¹, δ², δ³ against
gamma_calc, and the theory's recursion given its measured inputs
(figures/transformer_diagnostics.py) — which says *why* a marginal exponent fails.
Quick mode skips the figure (pretraining five widths up to 1024 costs CPU-hours on a shared
2-core machine) with an explicit inconclusive row.  The pretraining runs on the figure's
device: on one H100 or H200 the whole figure takes 35–42 s.
"""
from __future__ import annotations

import hashlib
import json
import pickle
import time
from dataclasses import asdict, dataclass, field, replace
from functools import partial

import numpy as np
import pandas as pd

from gamma_calc.vocab import PREDICTED, label
from toy_models.transformer import TransformerConfig

from . import common
from .common import Claim, Context, FigureResult
from .transformer_diagnostics import exponent_fits, premise_fits, ratio_fits, signal_fits

QUANTITIES = PREDICTED
LABELS = {q: label(q) for q in PREDICTED}
CONFIGS = (("A", "-1/2"), ("B", "-1"))
NAMES = {"A": "Init[A]", "B": "Init[B]"}
HEADLINE = 3
KINDS = ("attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj")
SOURCE = "Beyond Zero Init (Eq. 3–6); docs/theory.md §2.4–2.8"
MODEL = "transformer"


@dataclass(frozen=True)
class Config:
    """One transformer coordinate check (every field keys the cached results)."""

    widths: tuple[int, ...]
    seeds: int
    steps: int = 4
    eta0: float = 0.25
    n0: int = 1
    rank: int = 8
    alpha: int = 8
    batch: int = 8
    context: int = 64
    probe_sequences: int = 32     # for the premise's bootstrap over sequences
    pretrained: bool = True
    tolerance: float = 0.1
    model: TransformerConfig = field(default_factory=TransformerConfig)

    def key(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True, default=str)
                              .encode()).hexdigest()[:12]

    def label(self) -> str:
        pre = (f"μP-pretrained {self.model.steps} steps" if self.pretrained
               else "μP init, not pretrained")
        return (f"GPT-2 {self.model.layers} blocks, {self.model.heads} heads, {pre}; LoRA r = "
                f"{self.rank}, s = {self.alpha / self.rank:g}; Adam η = {self.eta0:g}·(n/"
                f"{self.n0})^c; {common.width_range(self.widths)}, {self.seeds} seeds, "
                f"{self.steps} steps, batch {self.batch}×{self.context} bytes")


def configs(mode: str) -> Config | None:
    """Full mode: n = 64 … 1024, 4 seeds.  Quick mode: None (skipped, see the module doc)."""
    if mode == "quick":
        return None
    return Config(widths=(64, 128, 256, 512, 1024), seeds=4)


@dataclass
class Measured:
    fits: pd.DataFrame
    table: pd.DataFrame
    premise: pd.DataFrame
    alignment: pd.DataFrame
    signal: pd.DataFrame
    ratios: pd.DataFrame
    pretrain: pd.DataFrame
    notes: list[str]


def _coord(cfg: Config, ctx: Context, scheme: str, c: str):
    """`coord_check` of one (scheme, rate), cached as a pickle under the runs directory, keyed
    by the whole Config (delete `<runs>/transformer-coord/` to measure again after a change of
    width_sweeps.coord_check itself; an unreadable pickle is measured again)."""
    from toy_models.transformer import finetune_batch, lora_model
    from width_sweeps.coord_check import coord_check
    path = ctx.runs_dir / "transformer-coord" / f"{cfg.key()}-{scheme}-{c.replace('/', '_')}.pkl"
    if path.exists():
        try:
            with path.open("rb") as f:
                return pickle.load(f)
        except Exception:  # noqa: BLE001  (written by another version: measure again)
            path.unlink()
    model_fn = partial(lora_model, cfg=cfg.model, r=cfg.rank, alpha=cfg.alpha,
                       pretrained=cfg.pretrained)
    cc = coord_check(model_fn, finetune_batch(0, batch=cfg.batch, context=cfg.context),
                     widths=list(cfg.widths), schemes=(scheme,), lr_exponents=(c,),
                     eta0=cfg.eta0, n0=cfg.n0, seeds=cfg.seeds, steps=cfg.steps,
                     device=ctx.device)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        pickle.dump(cc, f)
    return cc


def _per_width(cfg: Config) -> tuple[dict, dict, dict, list[dict]]:
    """Per width: the projections' input statistics per probe sequence, the output-gradient
    RMS, the first-step sign alignment κ per seed, and the pretraining info."""
    from toy_models.transformer import build, finetune_batch, lora_model
    from toy_models.transformer_pretrain import load_or_pretrain
    from toy_models.transformer_probes import input_stats, output_grads, sign_alignment
    ids = finetune_batch(1, batch=cfg.probe_sequences, context=cfg.context)[0]["input_ids"]
    train = finetune_batch(0, batch=cfg.batch, context=cfg.context)[0]
    stats, grads, kappa, info = {}, {}, {}, []
    for n in cfg.widths:
        mc = replace(cfg.model, width=n)
        if cfg.pretrained:
            model, inf = load_or_pretrain(mc)
            info.append({"width": n, **{k: inf.get(k, np.nan) for k in (
                "cpu_s_per_step", "pretrain_wall_s", "train_loss", "val_loss", "init_val_loss")},
                "curve": inf.get("curve")})
        else:
            model = build(mc)
        stats[n] = input_stats(model, ids)
        grads[n] = output_grads(model, ids[:cfg.batch])
        peft = lora_model(n, cfg=cfg.model, r=cfg.rank, alpha=cfg.alpha,
                          pretrained=cfg.pretrained)
        per_seed = [sign_alignment(peft, train, seed) for seed in range(cfg.seeds)]
        kappa[n] = {m: np.array([k[m] for k in per_seed]) for m in per_seed[0]}
    return stats, grads, kappa, info


def _pretrain(cfg: Config, ctx: Context) -> None:
    """Pretrain every width's base on the figure's device (a CUDA machine does it in seconds)
    and cache it; everything after loads the cached weights (toy_models.transformer_pretrain)."""
    from toy_models.data.text import load_text
    from toy_models.transformer_pretrain import checkpoint_path, load_or_pretrain
    dev = str(common.torch_device(ctx.device))
    corpus = load_text(cfg.model.corpus)
    for n in cfg.widths:
        mc = replace(cfg.model, width=n)
        if not checkpoint_path(mc, corpus.fingerprint).exists():
            load_or_pretrain(mc, corpus=corpus, device=dev)


def measure(cfg: Config, ctx: Context) -> Measured:
    """Both coordinate checks, re-judged at the figure's tolerance (the premise is judged
    here on its own measurement, over probe sequences), and the diagnostics."""
    from width_sweeps.verdict import Rule, add_verdicts
    if cfg.pretrained:
        _pretrain(cfg, ctx)
    ccs = [_coord(cfg, ctx, s, c) for s, c in CONFIGS]
    fits = pd.concat([cc.fits for cc in ccs], ignore_index=True)
    fits = add_verdicts(fits[fits.quantity != "z"].reset_index(drop=True),
                        Rule(tolerance=cfg.tolerance))
    table = pd.concat([cc.table for cc in ccs], ignore_index=True)
    stats, grads, kappa, info = _per_width(cfg)
    return Measured(fits, table, premise_fits(stats, cfg.tolerance),
                    exponent_fits(kappa, cfg.tolerance), signal_fits(grads),
                    ratio_fits(table, fits, HEADLINE, cfg.tolerance), pd.DataFrame(info),
                    sorted({n for cc in ccs for n in cc.notes}))


# ---- claims ----------------------------------------------------------------------------------

def _kind(module: str) -> str | None:
    from toy_models.transformer_probes import kind
    return kind(module)


def _layer(module: str) -> str:
    from toy_models.transformer_probes import layer
    return f"h{layer(module)}"


def _of(df: pd.DataFrame, k: str) -> pd.DataFrame:
    return df[[_kind(m) == k for m in df.module]]


def _row_text(df: pd.DataFrame, what: str) -> tuple[str, str, str, list[str]]:
    """(predicted, measured, intervals, verdicts) over the rows (one per layer) of a group."""
    preds, meas, cis, verdicts = [], [], [], []
    for r in df.itertuples(index=False):
        preds.append(f"{getattr(r, what)} {common.fmt_exp(r.predicted)}")
        meas.append(f"{getattr(r, what)} {common.fmt_exp(r.fitted)}")
        cis.append(f"{getattr(r, what)} {common.fmt_ci(r.ci_low, r.ci_high, 2)}")
        verdicts.append(str(r.verdict))
    return "; ".join(dict.fromkeys(preds)), "; ".join(meas), "; ".join(cis), verdicts


def _counts(verdicts: list[str], d: pd.DataFrame) -> str:
    """"3 pass, 1 fail — first reason" (the parts' verdicts and the first non-pass reason)."""
    counts = ", ".join(f"{sum(v == k for v in verdicts)} {k}" for k in
                       ("pass", "fail", "inconclusive", "n/a") if k in verdicts)
    why = [f"{w}: {r}" for w, v, r in zip(d.what, verdicts, d.get("reason", [""] * len(d)))
           if v != "pass" and r]
    return counts + (f" — {why[0]}" if why else "")


def premise_claims(m: Measured, cfg: Config) -> list[Claim]:
    """Per projection type: the premise (RMS z and mean |z| = Θ(1)) and the alignment of
    Adam's first update with z (γ[κ] = 0)."""
    out = []
    label = {"rms": "RMS z", "l1": "mean|z|"}
    for k in KINDS:
        d = _of(m.premise, k).sort_values(["stat", "module"])
        d = d.assign(what=[f"{label[st]} {_layer(x)}" for st, x in zip(d.stat, d.module)])
        pred, meas, ci, v = _row_text(d, "what")
        out.append(Claim("transformer_coord", f"{k}: premise — the LoRA input z has Θ(1) "
                         "entries after μP pretraining (γ of RMS z and of mean |z|; intervals "
                         "over probe sequences)", "docs/theory.md §2.1, §7.5", pred, meas, ci,
                         common.combine(v), _counts(v, d),
                         common.claim_id("transformer_coord", k, "premise"), MODEL))
    for k in KINDS:
        d = _of(m.alignment, k).sort_values("module")
        d = d.assign(what=[f"κ {_layer(x)}" for x in d.module])
        pred, meas, ci, v = _row_text(d, "what")
        out.append(Claim("transformer_coord", f"{k}: Adam's first update sign(g_A) is aligned "
                         "with z (γ of κ = RMS(sign(g_A) z) / (fan_in · mean |z|); interval "
                         "over seeds)", "LoRA+ (Assumption 1); docs/theory.md §1.3", pred, meas,
                         ci, common.combine(v), _counts(v, d),
                         common.claim_id("transformer_coord", k, "alignment"), MODEL))
    return out


def exponent_claims(m: Measured, cfg: Config) -> list[Claim]:
    out = []
    for s, c in CONFIGS:
        sel = m.fits[(m.fits.scheme == s) & (m.fits.lr_exponent == c)
                     & (m.fits.step == HEADLINE) & m.fits.quantity.isin(QUANTITIES)]
        for k in KINDS:
            d = _of(sel, k).sort_values(["quantity", "module"])
            d = d.assign(what=[f"{LABELS[q]} {_layer(x)}" for q, x in zip(d.quantity, d.module)])
            pred, meas, ci, v = _row_text(d, "what")
            out.append(Claim("transformer_coord", f"{k}: {NAMES[s]} at c = {c}, γ at t = "
                             f"{HEADLINE} (Z_A, (A−A₀)z, Z_B, δ¹, δ², δ³; both blocks)", SOURCE,
                             pred, meas, ci, common.combine(v),
                             f"{_counts(v, d)}; why: {diagnose(m, s, c, k)}",
                             common.claim_id("transformer_coord", k, s, c), MODEL))
    return out


def recursion_claims(m: Measured, cfg: Config) -> list[Claim]:
    out: list[Claim] = []
    if m.ratios.empty:
        return out
    for s, c in CONFIGS:
        sel = m.ratios[(m.ratios.scheme == s) & (m.ratios.lr_exponent == c)]
        for k in KINDS:
            d = _of(sel, k).sort_values(["ratio", "module"])
            d = d.assign(what=[f"{q} {_layer(x)}" for q, x in zip(d.ratio, d.module)])
            pred, meas, ci, v = _row_text(d, "what")
            out.append(Claim("transformer_coord", f"{k}: {NAMES[s]} at c = {c}, the recursion "
                             f"given its measured inputs (ratios at t = {HEADLINE})",
                             "docs/theory.md §2.4 (Eq. 3–4)", pred, meas, ci, common.combine(v),
                             _counts(v, d), common.claim_id("transformer_coord", k, s, c,
                                                            "recursion"), MODEL))
    return out


def _exp(df: pd.DataFrame, k: str, layer: str) -> float:
    """The fitted exponent of one module (by projection type and block) in a diagnostics table."""
    d = _of(df, k)
    d = d[[_layer(x) == layer for x in d.module]]
    return float(d.fitted.iloc[0]) if len(d) else float("nan")


def diagnose(m: Measured, s: str, c: str, k: str) -> str:
    """Why this (config, projection type) fails, from the measured diagnostics only."""
    fits = _of(m.fits[(m.fits.scheme == s) & (m.fits.lr_exponent == c)
                      & (m.fits.step == HEADLINE)], k)
    bad = {(q, _layer(x)) for q, x, v in zip(fits.quantity, fits.module, fits.verdict)
           if q in QUANTITIES and v == "fail"}
    if not bad:
        return "no exponent fails"
    rat = _of(m.ratios[(m.ratios.scheme == s) & (m.ratios.lr_exponent == c)], k) \
        if not m.ratios.empty else m.ratios
    rok = {(r, _layer(x)): str(v) for r, x, v in zip(rat.get("ratio", []),
                                                    rat.get("module", []),
                                                    rat.get("verdict", []))}
    why = []
    for layer in sorted({h for _, h in bad}):
        qs = sorted(q for q, h in bad if h == layer)
        why.append(f"{layer}: " + "; ".join(_why_layer(m, s, k, layer, qs, rok)))
    return " | ".join(why)


MARK = {"pass": "✓", "fail": "✗"}


def _why_layer(m: Measured, s: str, k: str, layer: str, qs: list[str],
               rok: dict[tuple[str, str], str]) -> list[str]:
    """The measured reasons for block `layer`'s failing quantities `qs` (ratio verdicts
    `rok`): a ratio that passes makes the failure inherited, one that fails breaks the
    recursion, an inconclusive one is said so."""
    from .transformer_diagnostics import MIX, RATIOS
    out = []
    prem = _of(m.premise, k)
    prem = prem[[_layer(x) == layer for x in prem.module]]
    if (prem.verdict == "fail").any():
        out.append("premise fails (" + ", ".join(
            f"γ[{'RMS z' if st == 'rms' else 'mean|z|'}] {f:+.2f}"
            for st, f in zip(prem.stat, prem.fitted)) + ")")
    gz = _exp(m.premise[m.premise.stat == "l1"], k, layer)
    gk = _exp(m.alignment, k, layer)
    update = ("dZ_A" in qs or (s == "B" and "Z_A" in qs)
              or rok.get((RATIOS[1][0], layer)) == "fail")
    if update:
        r = _of(m.ratios[(m.ratios.scheme == s) & (m.ratios.ratio == RATIOS[1][0])], k)
        r = r[[_layer(x) == layer for x in r.module]]
        off = (f" by {float(r.fitted.iloc[0]) - common.frac(r.predicted.iloc[0]):+.2f} "
               "(δ¹/B)" if len(r) and isinstance(r.predicted.iloc[0], str) else "")
        out.append(f"ΔA·z off the aligned n^(c+1){off}: γ[mean|z|] {gz:+.2f} + γ[κ] "
                   f"{gk:+.2f} = {gz + gk:+.2f}"
                   + ("; Init[B]: A₀ = 0, so every probe carries ΔA·z" if s == "B" else ""))
    if "Z_A" in qs and s == "A":
        v = rok.get((MIX, layer), "missing")
        out.append("Z_A: finite-width mix of A₀z and its update part (mix ✓)" if v == "pass"
                   else f"Z_A: the init/update mix does not account for it (mix {v})")
    for q, (name, _, _) in (("delta2", RATIOS[0]), ("delta1", RATIOS[1]), ("Z_B", RATIOS[2])):
        if q in qs:
            src = "B" if q == "delta1" else "Z_A"
            v = rok.get((name, layer), "missing")
            if q == "delta1" and update and v == "fail":
                out.append("δ¹ = s·B·ΔA z: carries ΔA·z")
                continue
            out.append(f"{LABELS[q]} inherits {src}'s exponent ({name} ✓)" if v == "pass" else
                       f"{LABELS[q]}: its recursion fails ({name} ✗)" if v == "fail" else
                       f"{LABELS[q]}: {name} {v}")
    if "delta3" in qs:
        out.append("δ³ = s·ΔB·ΔA z: carries ΔA·z" if update else "δ³: not explained")
    if "dZ_A" in qs and not update:
        out.append("(A−A₀)z: not explained")
    return out


def skipped(mode: str) -> FigureResult:
    claim = Claim("transformer_coord", "Coordinate check inside a μP-pretrained transformer",
                  SOURCE, "—", f"skipped in {mode} mode", "", "inconclusive",
                  "needs pretraining at n = 64…1024 (CPU-hours on 2 cores): run "
                  "`python -m figures.transformer_coord` (full mode)",
                  common.claim_id("transformer_coord", "skipped"), MODEL)
    return FigureResult("transformer_coord", "Coordinate check inside a transformer",
                        "Which single-LoRA-layer exponents hold inside a transformer?",
                        [claim], config=f"{mode} mode: skipped")


def run(ctx: Context) -> FigureResult:
    t0 = time.perf_counter()
    cfg = configs(ctx.mode)
    if cfg is None:
        return skipped(ctx.mode)
    from .transformer_plot import details, plot
    m = measure(cfg, ctx)
    res = FigureResult("transformer_coord", "Coordinate check inside a transformer",
                       "Which of the single-LoRA-layer theory's exponents hold for LoRA on the "
                       "attention and MLP projections of a μP-pretrained GPT, and why not "
                       "(docs/theory.md §2, §8.6)?", device=common.device_label(ctx.device))
    res.claims = premise_claims(m, cfg) + exponent_claims(m, cfg) + recursion_claims(m, cfg)
    fig = plot(cfg, m, ctx, HEADLINE)
    res.images.append(common.save(fig, "transformer_coord", ctx))
    res.details = details(cfg, m, HEADLINE)
    res.config = cfg.label()
    res.rule = (common.rule_text(cfg.tolerance) + " A row combines its exponents (both "
                "blocks): fail if any fails, pass if all pass.  The premise's interval resamples "
                "probe sequences, the others seeds.")
    res.seconds = time.perf_counter() - t0
    return res


if __name__ == "__main__":
    raise SystemExit(common.main(run))
