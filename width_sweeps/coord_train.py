"""Train every run of one width together and probe every LoRA adapter (docs/theory.md §2).

All runs of a width (schemes × rates × seeds) share one frozen model; their adapter factors are
stacked on a leading run dimension R and the model is evaluated for all of them at once with
`torch.func.functional_call` under `torch.func.vmap` (layers whose input does not depend on the
run — the frozen layers below the first adapter — run once, not R times; a linear adapter
whose W is kept is one op, width_sweeps.lowrank; the default cross-entropy is taken on the
stacked logits after vmap).  A model that vmap cannot batch falls back to one `functional_call`
per run: the same parameters, probes and optimizer, so the same numbers.

Probes, per adapter with input `z_t` (its input on the probe batch under θ_t) and scale `s`
(definitions as width_sweeps/probes.py and gamma_calc.vocab; RMS = root mean square entry):
`Z_A = A_t z_t`, `dZ_A = (A_t − A₀) z_t`, `Z_B = s·B_t A_t z_t`, `δ¹ = s·B_{t−1}ΔA_t z_{t−1}`,
`δ² = s·ΔB_t A_{t−1} z_{t−1}`, `δ³ = s·ΔB_tΔA_t z_{t−1}`, the factors' RMS entries `A`, `B`,
and `z` itself (the theory's premise: Θ(1) entries).  `loss` is recorded for the whole model.
Products `s·X Bᵀ` are measured from r × r Gram matrices, and the Gram matrices of the
parameters before a step are those already computed for their own probes.

Data: an `(inputs, targets)` pair is both the training batch of every step and the probe batch
(so the forward of step t also gives the probes of θ_{t−1}); a callable gives the probe batch
`data(0)` and the training batch `data(t)` of step t = 1 … T.
"""
from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from . import probes
from .adapters_torch import (
    Adapter,
    ProbedAdapter,
    a_times_z,
    find_adapters,
    memoize_frozen,
    unmemoize,
    wrap,
)
from .optim import make_optimizer

Batch = tuple[Any, Any]
LOSS_MODULE = "(model)"


@dataclass(frozen=True)
class Run:
    """One run of a width: scheme as given and canonical, rate exponents, seed, rates."""

    scheme: str
    canonical: str
    lr_exponent: str
    c_a: str
    c_b: str
    seed: int
    lr_a: float
    lr_b: float


def make_runs(width: int, schemes: list[tuple[str, str]], lr_exponents: list[str],
              seeds: list[int], eta0: float, n0: int) -> list[Run]:
    """The grid schemes × rates × seeds; rate η = η₀ (n/n₀)^c (`"c"` or `"c_A,c_B"`)."""
    runs = []
    for (label, canon), lr, seed in itertools.product(schemes, lr_exponents, seeds):
        parts = [p.strip() for p in str(lr).split(",")]
        ca, cb = parts[0], parts[-1]
        ratio = width / n0
        runs.append(Run(label, canon, str(lr), ca, cb, int(seed),
                        eta0 * ratio ** float(Fraction(ca)), eta0 * ratio ** float(Fraction(cb))))
    return runs


@dataclass
class WidthResult:
    """Probes of one width: `values[(step, module, quantity)]` = (R,) array over runs."""

    runs: list[Run]
    adapters: list[Adapter]
    values: dict[tuple[int, str, str], Any]
    batched: bool
    notes: list[str] = field(default_factory=list)


def _to(x: Any, device: torch.device, dtype: torch.dtype) -> Any:
    if isinstance(x, Tensor):
        return x.to(device, dtype) if x.is_floating_point() else x.to(device)
    if isinstance(x, dict):
        return {k: _to(v, device, dtype) for k, v in x.items()}
    if isinstance(x, (tuple, list)):
        return type(x)(_to(v, device, dtype) for v in x)
    return x


def default_loss(out: Any, y: Any) -> Tensor:
    """The model's own `.loss` when it returns one; else cross-entropy for integer targets,
    MSE otherwise (outputs: a tensor, or an object with `.logits`)."""
    own = getattr(out, "loss", None)
    if own is not None:
        return own
    logits = out if isinstance(out, Tensor) else getattr(out, "logits", None)
    if logits is None or y is None:
        raise ValueError("loss: the model returns no .loss and no tensor/logits with targets; "
                         "pass loss_fn=")
    if not y.is_floating_point():
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
    return F.mse_loss(logits, y)


def init_params(wrapped: dict[str, ProbedAdapter], runs: list[Run], device: torch.device,
                dtype: torch.dtype) -> dict[str, Tensor]:
    """Stacked `<module>.A`, `.B` (and `.A0`, `.B0` when a scheme subtracts): run k's adapters
    drawn in module order from its own generator (toy_models.base.run_generator)."""
    from toy_models.base import run_generator
    from toy_models.inits import get_init
    R = len(runs)
    out: dict[str, Tensor] = {}
    groups: dict[str, list[int]] = {}
    for i, r in enumerate(runs):
        groups.setdefault(r.canonical, []).append(i)
    subtract = any(get_init(c).subtract for c in groups)
    for name, m in wrapped.items():
        m.subtract = subtract
        out[f"{name}.A"] = torch.zeros((R, *m.A.shape), device=device, dtype=dtype)
        out[f"{name}.B"] = torch.zeros((R, *m.B.shape), device=device, dtype=dtype)
        if subtract:
            out[f"{name}.A0"] = torch.zeros_like(out[f"{name}.A"])
            out[f"{name}.B0"] = torch.zeros_like(out[f"{name}.B"])
    for canon, idx in groups.items():
        sch = get_init(canon)
        gens = [run_generator(runs[i].seed) for i in idx]
        sel = torch.tensor(idx, device=device)
        for name, m in wrapped.items():
            W = m.weight_fn().detach().to(device, dtype)
            ini = sch.init(W, m.A.shape[0], generator=gens, runs=len(idx))
            out[f"{name}.A"][sel] = ini.A
            out[f"{name}.B"][sel] = ini.B
            if sch.subtract:
                out[f"{name}.A0"][sel] = ini.A
                out[f"{name}.B0"][sel] = ini.B
    return out


class _Forward:
    """`(loss per run (R,), {module: z (R, …)})` for stacked parameters, batched or per run.

    With the default loss and a model returning a tensor of logits for integer targets, the
    cross-entropy is taken after vmap on the stacked logits (`stacked_cross_entropy`): the
    same per-run mean, without vmap's decomposition of the loss into a dozen small ops."""

    def __init__(self, model: nn.Module, wrapped: dict[str, ProbedAdapter],
                 loss_fn: Callable[[Any, Any], Tensor] | None, batched: bool) -> None:
        self.model, self.wrapped, self.batched = model, wrapped, batched
        self.loss_fn = loss_fn
        self.stacked = False                  # set by `one`: it returned logits, not a loss

    def one(self, p: dict[str, Tensor], x: Any, y: Any) -> tuple[Tensor, dict[str, Tensor]]:
        taps: dict[str, Tensor] = {}
        for m in self.wrapped.values():
            m.taps = taps
        try:
            if isinstance(x, dict):
                out = torch.func.functional_call(self.model, p, (), x, tie_weights=False)
            else:
                out = torch.func.functional_call(self.model, p, (x,), tie_weights=False)
        finally:
            for m in self.wrapped.values():
                m.taps = None
        self.stacked = (self.loss_fn is None and isinstance(out, Tensor)
                        and isinstance(y, Tensor) and not y.is_floating_point())
        if self.stacked:
            return out, taps
        return (self.loss_fn or default_loss)(out, y), taps

    def __call__(self, p: dict[str, Tensor], x: Any, y: Any) -> tuple[Tensor, dict[str, Tensor]]:
        if self.batched:
            out, taps = torch.func.vmap(self.one, in_dims=(0, None, None))(p, x, y)
        else:
            outs = [self.one({k: v[i] for k, v in p.items()}, x, y)
                    for i in range(next(iter(p.values())).shape[0])]
            out = torch.stack([o[0] for o in outs])
            taps = {k: torch.stack([o[1][k] for o in outs]) for k in outs[0][1]}
        return (stacked_cross_entropy(out, y) if self.stacked else out), taps


def stacked_cross_entropy(logits: Tensor, y: Tensor) -> Tensor:
    """`default_loss` of every run at once: logits `(R, …, C)`, integer targets `(…)` shared by
    the runs → the mean cross-entropy per run, `(R,)`."""
    R, C = logits.shape[0], logits.shape[-1]
    per = F.cross_entropy(logits.reshape(-1, C), y.reshape(1, -1).expand(R, -1).reshape(-1),
                          reduction="none")
    return per.view(R, -1).mean(1)


def _flat(kind: str, z: Tensor) -> Tensor:
    """A tap `(R, …, in)` (embedding: `(R, …)`) as `(P, in)` / `(P,)` when shared by every run
    (stride 0 on the run dim), else `(R, P, in)` / `(R, P)`."""
    shared = z.stride(0) == 0 or z.shape[0] == 1
    if kind == "embedding":
        return z[0].reshape(-1) if shared else z.reshape(z.shape[0], -1)
    return z[0].reshape(-1, z.shape[-1]) if shared else z.reshape(z.shape[0], -1, z.shape[-1])


def gram(X: Tensor) -> Tensor:
    """`XᵀX` per run, `X` (R, m, r) → (R, r, r)."""
    return X.transpose(1, 2) @ X


def rms_grams(gX: Tensor, gB: Tensor, s: float, P: int, n: int) -> Tensor:
    """RMS entry of `s·X Bᵀ` per run from the Gram matrices of `X` (R, P, r) and `B` (R, n, r):
    ‖X Bᵀ‖²_F = ⟨XᵀX, BᵀB⟩ (never the (R, P, n) product)."""
    sq = (gX * gB).sum((1, 2)).clamp_min(0)
    return abs(s) * (sq / (P * n)).sqrt()


def rms_lowrank(X: Tensor, B: Tensor, s: float = 1.0) -> Tensor:
    """RMS entry of `s·X Bᵀ` per run, `X` (R, P, r), `B` (R, n, r) (`rms_grams`)."""
    return rms_grams(gram(X), gram(B), s, X.shape[1], B.shape[1])


class _Probes:
    """Per-adapter probe arithmetic on stacked factors (module doc).  `state` returns, beside
    the values, the Gram matrices of `A z` and `B`, which `update` reuses for the parameters
    before the step (the same tensors, computed once)."""

    def __init__(self, m: ProbedAdapter, A0: Tensor) -> None:
        self.kind, self.s, self.A_init = m.kind, m.scale, A0.detach().clone()
        self.n_in = m.A.shape[1]

    def az(self, z: Tensor, A: Tensor) -> Tensor:
        return a_times_z(self.kind, z, A)

    def z_rms(self, z: Tensor, R: int, like: Tensor) -> Tensor:
        if self.kind == "embedding":                  # a one-hot over the vocabulary
            return torch.full((R,), self.n_in ** -0.5, dtype=like.dtype, device=like.device)
        v = probes.rms(z.unsqueeze(0)) if z.dim() == 2 else probes.rms(z)
        return v.expand(R).to(like.dtype)

    def state(self, z: Tensor, A: Tensor,
              B: Tensor) -> tuple[dict[str, Tensor], tuple[Tensor, Tensor]]:
        ZA = self.az(z, A)
        gZA, gB = gram(ZA), gram(B)
        P, n = ZA.shape[1], B.shape[1]
        return ({"Z_A": probes.rms(ZA), "dZ_A": probes.rms(self.az(z, A - self.A_init)),
                 "Z_B": rms_grams(gZA, gB, self.s, P, n), "A": probes.rms(A),
                 "B": probes.rms(B), "z": self.z_rms(z, A.shape[0], A)}, (gZA, gB))

    def update(self, z: Tensor, Ap: Tensor, Bp: Tensor, A: Tensor, B: Tensor,
               before: tuple[Tensor, Tensor]) -> dict[str, Tensor]:
        """δ¹, δ², δ³ of the step `(Ap, Bp) → (A, B)`; `before`: `state(z, Ap, Bp)`'s extras."""
        gZAp, gBp = before
        dZA, dB = self.az(z, A - Ap), B - Bp
        gdZA, gdB = gram(dZA), gram(dB)
        P, n = dZA.shape[1], B.shape[1]
        return {"delta1": rms_grams(gdZA, gBp, self.s, P, n),
                "delta2": rms_grams(gZAp, gdB, self.s, P, n),
                "delta3": rms_grams(gdZA, gdB, self.s, P, n)}


def train_width(model: nn.Module, runs: list[Run], data: Batch | Callable[[int], Batch], *,
                steps: int, optimizer: str, loss_fn: Callable[[Any, Any], Tensor] | None,
                device: torch.device, dtype: torch.dtype, batched: bool = True) -> WidthResult:
    """Train `runs` on `model` (built at one width) for `steps` steps, probing every adapter."""
    if any(t.device != device or (t.is_floating_point() and t.dtype != dtype)
           for t in itertools.chain(model.parameters(), model.buffers())):
        model = model.to(device=device, dtype=dtype)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    adapters = find_adapters(model)
    wrapped = wrap(model, adapters)
    memo = memoize_frozen(model)
    allp = init_params(wrapped, runs, device, dtype)
    params = {k: v.requires_grad_(True) for k, v in allp.items() if k[-2:] in (".A", ".B")}
    const = {k: v for k, v in allp.items() if k not in params}
    fwd = _Forward(model, wrapped, loss_fn, batched)
    pr = {n: _Probes(m, allp[f"{n}.A"]) for n, m in wrapped.items()}
    opt = make_optimizer(optimizer, {k: torch.tensor([r.lr_b if k.endswith(".B") else r.lr_a
                                                      for r in runs], device=device, dtype=dtype)
                                     for k in params},
                         host_lr={k: [r.lr_b if k.endswith(".B") else r.lr_a for r in runs]
                                  for k in params})
    data_fn = data if callable(data) else None
    probe_batch = _to(data_fn(0) if data_fn is not None else data, device, dtype)
    vals: dict[tuple[int, str, str], Tensor] = {}

    def record(t: int, loss: Tensor, taps: dict[str, Tensor]) -> dict[str, tuple[Tensor, Any]]:
        """Probes of θ_t; per adapter its flat input z and `state`'s extras, for `update`."""
        vals[(t, LOSS_MODULE, "loss")] = loss.detach()
        zs = {}
        for n, m in wrapped.items():
            z = _flat(m.kind, taps[n].detach())
            got, extras = pr[n].state(z, params[f"{n}.A"].detach(), params[f"{n}.B"].detach())
            vals.update({(t, n, q): v for q, v in got.items()})
            zs[n] = (z, extras)
        return zs

    alive = torch.ones(len(runs), device=device, dtype=dtype)
    for t in range(1, steps + 1):
        if data_fn is None:
            loss, taps = fwd(params | const, *probe_batch)
            with torch.no_grad():
                zs = record(t - 1, loss, taps)
        else:
            with torch.no_grad():
                zs = record(t - 1, *fwd(params | const, *probe_batch))
            loss, _ = fwd(params | const, *_to(data_fn(t), device, dtype))
        keys = list(params)
        grads = torch.autograd.grad(loss.sum(), [params[k] for k in keys], allow_unused=True)
        with torch.no_grad():
            g = {k: (gr if gr is not None else torch.zeros_like(params[k]))
                 for k, gr in zip(keys, grads)}
            prev = {k: v.detach().clone() for k, v in params.items()}
            opt.step(params, g, alive)
            for n in wrapped:
                vals.update({(t, n, q): v for q, v in pr[n].update(
                    zs[n][0], prev[f"{n}.A"], prev[f"{n}.B"], params[f"{n}.A"].detach(),
                    params[f"{n}.B"].detach(), zs[n][1]).items()})
    with torch.no_grad():
        record(steps, *fwd(params | const, *probe_batch))
    unmemoize(memo)
    vs = list(vals.values())                  # (R,) each: one copy to the host, not one each
    if len({v.dtype for v in vs}) == 1:
        host = dict(zip(vals, torch.stack(vs).double().cpu().numpy()))
    else:
        host = {k: v.double().cpu().numpy() for k, v in vals.items()}
    return WidthResult(runs, adapters, host, batched)
