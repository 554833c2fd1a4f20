"""Spectral gain (LoRAM §3, docs/theory.md §4.5) on the toy's MNIST-pretrained n × n weight W:
concentration ρ[r] = (mean top-r s)² / mean(s²), gain Q[r] = ρ r / R ∈ [0, 1], and LoRAM's
approximation Q ≈ ln r / ln min(n, m); beside them the same for a Gaussian W of the same shape
(Marchenko–Pastur reference).  Then the initial magnitudes LoRAM is built to match:
k₁ = r(m ν[A₀]² + n ν[B₀]²) of PiSSA (= Q(m + n) ν[W], an identity), of LoRAM (β from the
logarithmic Q) and of Noise & Zeros (r/m), against r; and ν[A₀], ν[B₀], ν[s B₀A₀] of the registry's
factors at the toy's rank r = 32.

Verdicts (docs/theory.md §9.6; exact computations on one matrix — a point, no interval): Q ≤ 1
everywhere; the PiSSA identity to a relative 1e−6; LoRAM's approximation and its k₁ "match"
PiSSA's when their ratio lies in [1/2, 2].
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from . import common, style
from .common import Claim, Context, FigureResult

RANK = 32
SOURCE = "LoRAM (§3, Eq. 8–12)"


@dataclass(frozen=True)
class Config:
    width: int
    pretrain_steps: int

    def label(self) -> str:
        pre = "" if self.pretrain_steps == 2000 else f" (pretrained {self.pretrain_steps} steps)"
        return f"toy W: {self.width} × {self.width} MNIST-pretrained{pre}, float64 SVD"


def config(mode: str) -> Config:
    return Config(512, 500) if mode == "quick" else Config(4096, 2000)


def pretrained_weight(cfg: Config):
    import torch

    from toy_models.toy import ToyModel, load_or_pretrain
    frozen, _ = load_or_pretrain(ToyModel(width=cfg.width, pretrain_steps=cfg.pretrain_steps))
    return frozen.W.to(torch.float64)


def spectra(W) -> dict[str, np.ndarray]:
    """Singular values of W and of a Gaussian matrix with the same shape and ν."""
    import torch
    g = torch.Generator().manual_seed(0)
    G = torch.randn(W.shape, generator=g, dtype=torch.float64) * W.pow(2).mean().sqrt()
    return {"pretrained": torch.linalg.svdvals(W).numpy(),
            "gaussian": torch.linalg.svdvals(G).numpy()}


def gains(s: np.ndarray, ranks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ρ[r], Q[r] for every r in `ranks` (toy_models.spectral's definitions, vectorised)."""
    import torch

    from toy_models.spectral import concentration, gain
    st = torch.as_tensor(s)
    rho = np.array([float(concentration(st, int(r))) for r in ranks])
    q = np.array([float(gain(st, int(r))) for r in ranks])
    return rho, q


def magnitudes(W, r: int) -> dict[str, dict[str, float]]:
    """ν[A₀], ν[B₀], ν[s B₀A₀] and k₁ of registry inits at rank r (s = 1)."""
    import torch

    from toy_models.inits import get_init
    n, m = W.shape
    out = {}
    for name in ("A", "pissa", "loram", "olora"):
        ini = get_init(name).init(W, r, generator=torch.Generator().manual_seed(0))
        na, nb = float(ini.A.pow(2).mean()), float(ini.B.pow(2).mean())
        out[name] = {"nu_A": na, "nu_B": nb, "nu_BA": float((ini.B @ ini.A).pow(2).mean()),
                     "k1": r * (m * na ** 2 + n * nb ** 2)}
    return out


def claims(s: np.ndarray, q_all: np.ndarray, mags: dict, W) -> list[Claim]:
    from toy_models.spectral import loram_gain_log
    from width_sweeps.verdict import judge_exact
    n, m = W.shape
    nu_w = float(W.pow(2).mean())
    _, q = gains(s, np.array([RANK]))
    q_log = loram_gain_log(RANK, n, m)
    identity = q[0] * (m + n) * nu_w
    rel = abs(mags["pissa"]["k1"] - identity) / identity
    ratio = mags["loram"]["k1"] / mags["pissa"]["k1"]
    def cid(name: str) -> str:
        return common.claim_id("spectral_gain", name)
    return [
        Claim("spectral_gain", "gain Q[r] = ρ r / R lies in [0, 1] (Cauchy–Schwarz), all r",
              SOURCE, "max Q ≤ 1", f"max Q = {q_all.max():.4f}", "",
              judge_exact(float(q_all.max()), high=1 + 1e-12).verdict, "exact", cid("q-bound"),
              "toy"),
        Claim("spectral_gain", f"PiSSA's update rate k₁ = Q(m + n) ν[W] (r = {RANK})", SOURCE,
              "identity", f"k₁ = {mags['pissa']['k1']:.4g} vs {identity:.4g} (rel. {rel:.1e})",
              "", judge_exact(rel, high=1e-6).verdict, "exact", cid("pissa-identity"), "toy"),
        Claim("spectral_gain", f"LoRAM's Q ≈ ln r / ln min(n, m) on the toy's pretrained W "
              f"(r = {RANK}, n = {n})", "LoRAM (§3.2)", f"≈ {q_log:.3f} (within ×2)",
              f"Q = {q[0]:.4f} (ratio {q_log / q[0]:.1f})", "",
              judge_exact(q_log / q[0], low=0.5, high=2.0).verdict, "exact", cid("loram-gain"),
              "toy"),
        Claim("spectral_gain", f"LoRAM's init matches PiSSA's update magnitude k₁ (r = {RANK})",
              "LoRAM (§3.2, Alg. 1)", "k₁(LoRAM)/k₁(PiSSA) ≈ 1 (within ×2)", f"{ratio:.2f}", "",
              judge_exact(ratio, low=0.5, high=2.0).verdict, "exact", cid("loram-k1"), "toy"),
    ]


def plot(cfg: Config, spec: dict, mags: dict, W, ctx: Context):
    from toy_models.spectral import loram_gain_log
    n, m = W.shape
    nu_w = float(W.pow(2).mean())
    ranks = np.unique(np.round(np.geomspace(1, n, 40)).astype(int))
    with style.rc():
        fig, axes = style.figure(1, 3, size=(13, 4.4), footer=common.footer(
            "spectral_gain", ctx, cfg.label()), title=f"Spectral gain of the toy's pretrained "
            f"W ({n} × {m}) and the initial update magnitudes LoRAM matches")
        ax = axes[0, 0]
        for key, ls in (("pretrained", "-"), ("gaussian", "--")):
            rho, q = gains(spec[key], ranks)
            ax.plot(ranks, q, color="#0072B2", ls=ls, label=f"Q[r], {key} W")
            ax.plot(ranks, rho, color="#009E73", ls=ls, label=f"ρ[r], {key} W")
        ax.plot(ranks[ranks > 1], [loram_gain_log(int(r), n, m) for r in ranks[ranks > 1]],
                color=style.color("loram"), lw=2, label="LoRAM: ln r / ln min(n, m)")
        ax.axvline(RANK, **style.REFERENCE)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("rank r")
        ax.set_ylabel("ρ[r], Q[r] (dimensionless)")
        ax.set_title("concentration ρ[r] and gain Q[r] = ρr/R")
        ax.legend(fontsize=6.5, loc="lower right")
        ax = axes[0, 1]
        rr = ranks[ranks <= n // 2]
        _, q = gains(spec["pretrained"], rr)
        k1 = {"pissa": q * (m + n) * nu_w,
              "loram": np.array([loram_gain_log(int(r), n, m) if r > 1 else np.nan for r in rr])
              * (m + n) * nu_w,
              "A": rr / m}
        for key, v in k1.items():
            ax.plot(rr, v, color=style.color(key), marker="o", ms=2.5, label=style.name(key, "loram"))
        ax.axvline(RANK, **style.REFERENCE)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("rank r")
        ax.set_ylabel("k₁ = r(m ν[A₀]² + n ν[B₀]²)")
        ax.set_title("initial update rate k₁ against rank")
        ax.legend(fontsize=7)
        ax = axes[0, 2]
        keys = ["A", "pissa", "loram", "olora"]
        quants = (("nu_A", "ν[A₀]"), ("nu_B", "ν[B₀]"), ("nu_BA", "ν[B₀A₀]"), ("k1", "k₁"))
        x = np.arange(len(quants))
        wdt = 0.8 / len(keys)
        for i, k in enumerate(keys):
            vals = [mags[k][q] for q, _ in quants]
            ax.bar(x + (i - 1.5) * wdt, [v if v > 0 else np.nan for v in vals], wdt,
                   color=style.color(k), label=style.name(k, "loram"))
        ax.set_xticks(x, [lab for _, lab in quants])
        ax.set_yscale("log")
        ax.set_ylabel("value at init (log scale; Noise & Zeros has B₀ = 0)")
        ax.set_title(f"registry inits at r = {RANK} (s = 1)")
        ax.legend(fontsize=7)
    return fig


def run(ctx: Context) -> FigureResult:
    t0 = time.perf_counter()
    cfg = config(ctx.mode)
    W = pretrained_weight(cfg)
    spec = spectra(W)
    n = W.shape[0]
    _, q_all = gains(spec["pretrained"], np.arange(1, n + 1, max(1, n // 256)))
    mags = magnitudes(W, RANK)
    fig = plot(cfg, spec, mags, W, ctx)
    rows = ["| init | ν[A₀] | ν[B₀] | ν[B₀A₀] | k₁ |", "|---|---|---|---|---|"]
    rows += [f"| {style.name(k, 'loram')} | {v['nu_A']:.3e} | {v['nu_B']:.3e} | {v['nu_BA']:.3e} "
             f"| {v['k1']:.3e} |" for k, v in mags.items()]
    res = FigureResult("spectral_gain", "Spectral gain and LoRAM/PiSSA initial magnitudes",
                       "Does LoRAM's logarithmic gain ln r / ln min(n, m) reproduce the spectral "
                       "gain Q[r] of a real pretrained weight, and so PiSSA's initial update "
                       "magnitude?", claims(spec["pretrained"], q_all, mags, W),
                       [common.save(fig, "spectral_gain", ctx)], cfg.label(),
                       common.device_label(ctx.device) + " (SVD on cpu)",
                       time.perf_counter() - t0, "\n".join(rows))
    res.rule = ("identities (Q ≤ 1, PiSSA's k₁) to a relative 1e−6; approximations (LoRAM's Q and k₁)"
                ' within a factor 2.')
    return res


if __name__ == "__main__":
    raise SystemExit(common.main(run))


