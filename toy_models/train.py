"""The reference training loop: one run at a time, nn.Parameters, torch.optim.

It is the ground truth the batched sweep engine (`width_sweeps`) is tested against, so every
quantity is defined here once (docs/theory.md §2.2, §4; Beyond Zero Init Eq. 2).  The quantities
are the vocabulary's probes, `gamma_calc.vocab.PROBES`, in that order:

* step t = 0 … T; row t holds the state after t updates (row 0: the init).
* `loss`   — loss on the fixed probe batch with θ_t;
* `Z_A`    — RMS entry of A_t z;  `dZ_A` — RMS entry of (A_t − A₀) z, Z_A's update part;
  `Z_B` — RMS entry of s·B_t A_t z (z: the probe layer's
  input on the probe batch under θ_t; the subtracted s·B₀A₀ z is not part of Z_B);
* `delta1/2/3` (t ≥ 1) — RMS entries of s·B_{t−1}ΔA_t z, s·ΔB_t A_{t−1} z, s·ΔB_tΔA_t z with
  z = z_{t−1};  `dZ_B` (t ≥ 1) — RMS entry of their sum, s(B_tA_t − B_{t−1}A_{t−1}) z_{t−1},
  the step's feature update;
* `nu_A`, `nu_B` — ν[A_t], ν[B_t];  `nu_W` — ν[s(B_tA_t − B₀A₀)] (Linear mode: ν[V_t − V₀]);
* `grad_nu` (t ≥ 1) — ν[G] of the gradient G = ∇_W L = dZ̄ᵀ z (out × in, summed over the
  batch) of the training batch that produced update t (LoRAM's σ_L², a mean square);
* `test_loss`, `test_acc` — at the last step only, when `eval_data` is given.

RMS and ν are means over all entries (batch included).  Optimisers are torch's: SGD (no
momentum), Adam, AdamW; A's rate is `lr`, B's is `lr·lr_ratio` (LoRA+).  Deterministic given
(seed, data_seed, dtype, device): no other randomness is drawn.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from gamma_calc.vocab import PROBES

from .base import LoRAModel, batch_schedule, init_lora_params

__all__ = [
    "QUANTITIES",
    "TrainConfig",
    "TrainResult",
    "evaluate",
    "make_optimizer",
    "train_reference",
]

QUANTITIES = PROBES


@dataclass(frozen=True)
class TrainConfig:
    scheme: str = "A"
    optimizer: str = "adam"          # "sgd" | "adam" | "adamw"
    lr: float = 1e-3                 # η_A
    lr_ratio: float = 1.0            # λ = η_B / η_A (LoRA+)
    steps: int = 100
    batch_size: int = 64
    seed: int = 0                    # LoRA init only
    data_seed: int = 0               # batch order, shared by runs
    init_scale: float = 1.0          # variance multiplier β of random factors
    a_mult: float = 1.0              # Prop. 1's α_A (factor multiplier after the scheme)
    b_mult: float = 1.0              # Prop. 1's α_B
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    weight_decay: float = 0.0
    stop_on_divergence: bool = True


@dataclass
class TrainResult:
    config: TrainConfig
    history: dict[str, list[float]]          # quantity → values at steps 0 … T
    params: dict[str, Tensor]                # final parameters (no run dim)
    status: str = "ok"                       # "ok" | "diverged"
    diverged_step: int | None = None
    final: dict[str, float] = field(default_factory=dict)

    def frame(self) -> Any:
        """Tidy long table: one row per (step, quantity)."""
        import pandas as pd
        rows = [(t, q, v) for q, vals in self.history.items() for t, v in enumerate(vals)]
        return pd.DataFrame(rows, columns=["step", "quantity", "value"])


def make_optimizer(groups: list[dict], cfg: TrainConfig) -> torch.optim.Optimizer:
    """torch.optim SGD / Adam / AdamW over parameter groups carrying their own `lr`."""
    name = cfg.optimizer.lower()
    if name == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if name in ("adam", "adamw"):
        cls = torch.optim.Adam if name == "adam" else torch.optim.AdamW
        return cls(groups, lr=cfg.lr, betas=cfg.betas, eps=cfg.eps,
                   weight_decay=cfg.weight_decay)
    raise ValueError(f"unknown optimizer {cfg.optimizer!r}; valid: sgd, adam, adamw")


def _rms(x: Tensor) -> float:
    return float(x.pow(2).mean().sqrt())


def _nu_prod(s: float, A: Tensor, B: Tensor, A0: Tensor, B0: Tensor) -> float:
    """ν[s(BA − B₀A₀)] without forming the out × in matrix and without cancellation:
    BA − B₀A₀ = [ΔB, B₀][A; ΔA], ‖CD‖_F² = tr(CᵀC DDᵀ)."""
    C = torch.cat([B - B0, B0], dim=1)
    D = torch.cat([A, A - A0], dim=0)
    sq = torch.sum((C.T @ C) * (D @ D.T))
    return float(s * s * sq.clamp_min(0) / (B.shape[0] * A.shape[1]))


class _Probe:
    """Per-step probes of the probe layer on a fixed probe batch (see module doc)."""

    def __init__(self, model: LoRAModel, frozen: Any, xp: Tensor, yp: Tensor,
                 init: dict[str, Tensor]) -> None:
        self.model, self.frozen, self.yp = model, frozen, yp
        self.pre = model.prefix(frozen, xp)
        self.layer = model.probe_layer
        self.init = {k: v.detach().clone() for k, v in init.items()}
        self.z_prev: Tensor | None = None

    def __call__(self, params: dict[str, Tensor], prev: dict[str, Tensor] | None) -> dict:
        m, L = self.model, self.layer
        taps: dict[str, Tensor] = {}
        with torch.no_grad():
            out = m.head(self.frozen, self.pre, {k: v.unsqueeze(0) for k, v in params.items()},
                         taps)
            rec = {"loss": float(m.loss(out, self.yp)[0])}
            z = taps["z"][0]
            if f"{L}.A" in params:
                rec.update(self._lora(params, prev, z))
            else:  # Linear mode: the layer's weight V itself is trained
                V, V0 = params[f"{L}.V"], self.init[f"{L}.V"]
                rec["nu_W"] = float((V - V0).pow(2).mean())
        self.z_prev = z
        return rec

    def _lora(self, p: dict[str, Tensor], prev: dict[str, Tensor] | None, z: Tensor) -> dict:
        s, L = self.model.scale, self.layer
        A, B = p[f"{L}.A"], p[f"{L}.B"]
        ZA = z @ A.T
        rec = {"Z_A": _rms(ZA), "dZ_A": _rms(z @ (A - self.init[f"{L}.A"]).T),
               "Z_B": _rms(s * ZA @ B.T), "nu_A": float(A.pow(2).mean()),
               "nu_B": float(B.pow(2).mean()),
               "nu_W": _nu_prod(s, A, B, self.init[f"{L}.A"], self.init[f"{L}.B"])}
        if prev is not None:
            Ap, Bp, zp = prev[f"{L}.A"], prev[f"{L}.B"], self.z_prev
            assert zp is not None                      # set by the previous call
            dA_z = zp @ (A - Ap).T
            d1 = s * dA_z @ Bp.T
            d2 = s * (zp @ Ap.T) @ (B - Bp).T
            d3 = s * dA_z @ (B - Bp).T
            rec.update(delta1=_rms(d1), delta2=_rms(d2), delta3=_rms(d3), dZ_B=_rms(d1 + d2 + d3))
        return rec


def _to(x: Tensor, like: Tensor) -> Tensor:
    dtype = like.dtype if x.is_floating_point() else x.dtype
    return x.to(device=like.device, dtype=dtype)


def _setup(model: LoRAModel, frozen: Any, cfg: TrainConfig):
    kw = {"init_scale": cfg.init_scale, "a_mult": cfg.a_mult, "b_mult": cfg.b_mult}
    if hasattr(model, "init_params"):  # models with their own parametrisation (MLP5 linear)
        lora = model.init_params(frozen, cfg.scheme, [cfg.seed], **kw)
    else:
        lora = init_lora_params(model, frozen, cfg.scheme, [cfg.seed],
                                init_scale=cfg.init_scale, a_mult=cfg.a_mult,
                                b_mult=cfg.b_mult)
    params = {k: nn.Parameter(v[0].clone()) if k.rsplit(".", 1)[1] in ("A", "B", "V")
              else v[0].clone() for k, v in lora.items()}
    rate = {"A": cfg.lr, "B": cfg.lr * cfg.lr_ratio, "V": cfg.lr}
    groups = [{"params": [p for k, p in params.items() if k.endswith("." + f)], "lr": rate[f]}
              for f in ("A", "B", "V")]
    return params, make_optimizer([g for g in groups if g["params"]], cfg)


def train_reference(model: LoRAModel, frozen: Any, data: tuple[Tensor, Tensor],
                    cfg: TrainConfig, *, probe: tuple[Tensor, Tensor] | None = None,
                    eval_data: tuple[Tensor, Tensor] | None = None,
                    on_step: Callable[[int, dict[str, Tensor], dict[str, float]], None]
                    | None = None) -> TrainResult:
    """Train one run's LoRA factors (frozen state on its dtype/device) and probe every step.

    `data` = (X, y) training set; batches follow `batch_schedule(N, batch_size, steps,
    data_seed)`.  `probe` defaults to the first min(N, 64) training examples.  `on_step(t,
    params, record)` (a hook; t = 0 … T) sees the detached parameters after update t and that
    step's probe record, e.g. to read every layer's ν (`mlp5.layer_magnitudes`).
    """
    like = next(iter(model.lora_weights(frozen).values()))
    X, y = (_to(t, like) for t in data)
    xp, yp = (_to(t, like) for t in probe) if probe is not None else (X[:64], y[:64])
    params, opt = _setup(model, frozen, cfg)
    probe_fn = _Probe(model, frozen, xp, yp, params)
    hist = {q: [math.nan] * (cfg.steps + 1) for q in QUANTITIES}
    rec0 = probe_fn(params, None)
    for q, v in rec0.items():
        hist[q][0] = v
    if on_step is not None:
        on_step(0, {k: v.detach() for k, v in params.items()}, rec0)
    sched = batch_schedule(X.shape[0], cfg.batch_size, cfg.steps, cfg.data_seed)
    status, div_step = "ok", None
    for t in range(1, cfg.steps + 1):
        idx = sched[t - 1].to(X.device)
        prev = {k: v.detach().clone() for k, v in params.items()}
        taps: dict[str, Tensor] = {}
        out = model.head(frozen, model.prefix(frozen, X[idx]),
                         {k: v.unsqueeze(0) for k, v in params.items()}, taps)
        loss = model.loss(out, y[idx]).sum()
        taps["zbar"].retain_grad()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        grad = taps["zbar"].grad
        assert grad is not None
        G = grad[0].T @ taps["z"][0].detach()
        opt.step()
        rec = probe_fn({k: v.detach() for k, v in params.items()}, prev)
        rec["grad_nu"] = float(G.pow(2).mean())
        for q, v in rec.items():
            hist[q][t] = v
        if on_step is not None:
            on_step(t, {k: v.detach() for k, v in params.items()}, rec)
        if not (math.isfinite(rec["loss"]) and math.isfinite(float(loss.detach()))):
            status, div_step = "diverged", t
            if cfg.stop_on_divergence:
                break
    final_params = {k: v.detach().clone() for k, v in params.items()}
    res = TrainResult(cfg, hist, final_params, status, div_step)
    res.final = {q: v[-1] for q, v in hist.items() if q in ("loss", "nu_W")}
    if eval_data is not None and status == "ok":
        Xe, ye = (_to(t, like) for t in eval_data)
        ev = evaluate(model, frozen, final_params, Xe, ye)
        res.final.update(ev)
        for q, v in ev.items():
            hist.setdefault(q, [math.nan] * (cfg.steps + 1))[cfg.steps] = v
    return res


@torch.no_grad()
def evaluate(model: LoRAModel, frozen: Any, params: dict[str, Tensor], X: Tensor, y: Tensor,
             chunk: int = 1000) -> dict[str, float]:
    """Mean loss over (X, y) in chunks; accuracy too when y holds class indices."""
    lora = {k: v.unsqueeze(0) for k, v in params.items()}
    tot_loss, correct = 0.0, 0
    for i in range(0, X.shape[0], chunk):
        xb, yb = X[i:i + chunk], y[i:i + chunk]
        out = model.head(frozen, model.prefix(frozen, xb), lora)
        tot_loss += float(model.loss(out, yb)[0]) * xb.shape[0]
        if not yb.is_floating_point():
            correct += int((out[0].argmax(-1) == yb).sum())
    res = {"test_loss": tot_loss / X.shape[0]}
    if not y.is_floating_point():
        res["test_acc"] = correct / X.shape[0]
    return res
