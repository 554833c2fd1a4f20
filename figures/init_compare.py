"""Comparing LoRA inits on a pretrained toy: the testbed, replicated sweeps, paired intervals.

Shared by `figures.inilora_claims` and `figures.loram_claims` (docs/theory.md §6.3, §6.4, §9).

*Testbed.* `TOY[mode]` is the one parameter that picks the pretrained toy every comparison
runs on (model name + model options of the sweep spec); switching it switches both figures.

*Replicates.* The engine shares one batch order among the runs of a sweep (the frozen prefix
is computed once per batch), so a sweep's seeds vary only the random inits — a deterministic
init (PiSSA, LoRAM, …) would show no spread at all.  A *replicate* d is therefore a whole
sweep with data order `data_seed = d` and init seed d; every scheme of one replicate sees the
same batches and the same test set, so schemes are compared *paired*, replicate by replicate.

*Intervals and verdicts.* For a paired difference Δ_d = acc(S₁, d) − acc(S₂, d) over D
replicates: the mean and its 95 % Student-t interval mean ± t₀.₉₇₅,D−1 · sd/√D.  Rules:
* *beats* (superiority): pass when the interval lies above 0, fail when below 0;
* *matches or beats* (non-inferiority, margin δ): pass when its lower end is above −δ, fail
  when its upper end is below −δ;
* *matches* (equivalence, margin δ): pass when the interval lies inside (−δ, δ), fail when it
  lies wholly outside;
* everything else — and every interval from fewer than 3 replicates or with zero spread (a
  degenerate interval) — is `inconclusive`: the replicates cannot separate the schemes.
All verdicts go through the one rule, `width_sweeps.verdict.judge_effect` (docs/theory.md §9.6).
Student-t rather than the bootstrap: with a handful of replicates a bootstrap interval of the
mean is too narrow (3 replicates have 10 distinct resamples); the t-interval is exact for
normal differences and honest at small D.
A run that diverged scores chance accuracy (1/classes) and its loss curve ends; both are
counted, never dropped.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from . import common
from .common import Context

MARGIN = 0.01          # δ: one accuracy point (the papers' smallest reported gaps are ~1 point)
CHANCE = 0.1           # accuracy of a diverged run (10 classes)


@dataclass(frozen=True)
class ToyBed:
    """The pretrained toy of the comparisons: sweep `model` at one `width` with `options`."""
    model: str
    width: int
    options: dict[str, Any] = field(default_factory=dict)

    def spec(self, **fields: Any) -> dict[str, Any]:
        """A sweep spec on this toy (model, width, options) plus `fields`."""
        opts = {**self.options, **fields.pop("model_options", {})}
        return {"model": self.model, "widths": [self.width], "n0": self.width,
                "model_options": opts, **fields}

    def label(self) -> str:
        pre = self.options.get("pretrain_steps", common.toy_pretrain_steps())
        test = self.options.get("n_test")
        where = f"test[:{test}]" if test else "full test set"
        return f"{self.model} n = {self.width} (pretrained {pre} steps), {where}"

    def adam_spec(self, schemes: Any, rates: Any, rank: int, steps: int,
                  **fields: Any) -> dict[str, Any]:
        """The comparisons' fine-tuning sweep: Adam, batch 64, float32, s = 1, plus `fields`."""
        return self.spec(**{"schemes": list(schemes), "eta0": list(rates), "rank": rank,
                            "optimizer": "adam", "steps": steps, "batch_size": 64,
                            "dtype": "float32", **fields})

    def setup_label(self, steps: int, rank: int, rates: Any, shared: float, reps: int) -> str:
        """One line: the toy, the fine-tuning, the rate grid and the replicates."""
        return (f"{self.label()}; Adam, {steps} steps, batch 64, s = 1, rank {rank}; rates "
                f"{', '.join(f'{r:g}' for r in rates)} (shared {shared:g}); {reps} replicates")


# The testbed per mode (quick: CPU seconds; full: the documented CPU run).
TOY = {"quick": ToyBed("toy", 256, {"pretrain_steps": 500, "n_test": 2000}),
       "full": ToyBed("toy", 1024, {})}


def replicated(spec: dict[str, Any], ctx: Context, name: str, reps: int,
               per_rep: Callable[[int], dict[str, Any]] | None = None
               ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run `spec` once per replicate d < reps (data order and init seed d; `per_rep(d)`:
    fields of that replicate's spec) into `ctx.runs_dir/name/rep<d>`; returns (steps, runs)
    with a `rep` column, accuracy of a diverged run set to chance."""
    from width_sweeps.results import load
    steps, runs = [], []
    for d in range(reps):
        extra = per_rep(d) if per_rep is not None else {}
        out = common.sweep({**spec, **extra, "name": name, "seeds": [d], "data_seed": d}, ctx,
                           f"{name}/rep{d}")
        s, r = load(out)
        steps.append(s.assign(rep=d))
        runs.append(r.assign(rep=d))
    runs_df = pd.concat(runs, ignore_index=True)
    for c in ("scheme", "optimizer"):
        runs_df[c] = runs_df[c].astype(str)
    if "final_test_acc" in runs_df:
        runs_df["final_test_acc"] = runs_df.final_test_acc.fillna(CHANCE)
    steps_df = pd.concat(steps, ignore_index=True)
    steps_df["scheme"] = steps_df.scheme.astype(str)
    steps_df["quantity"] = steps_df.quantity.astype(str)
    return steps_df, runs_df


# ---- paired intervals ---------------------------------------------------------------------

@dataclass(frozen=True)
class Paired:
    """A paired difference over replicates: mean and 95 % t-interval."""
    mean: float
    lo: float
    hi: float
    n: int

    @property
    def degenerate(self) -> bool:
        return self.n < 2 or not math.isfinite(self.lo) or self.hi - self.lo <= 0

    def text(self, scale: float = 100.0, unit: str = " pt", digits: int = 1) -> str:
        return f"{scale * self.mean:+.{digits}f}{unit}"

    def interval(self, scale: float = 100.0, digits: int = 1) -> str:
        if self.degenerate:
            return f"degenerate (n = {self.n})"
        return f"[{scale * self.lo:+.{digits}f}, {scale * self.hi:+.{digits}f}]"


def paired(a: pd.Series, b: pd.Series, level: float = 0.95) -> Paired:
    """The paired difference a − b over the replicates both have (index: replicate)."""
    return one_sample(a - b, level)


def one_sample(x: pd.Series, level: float = 0.95) -> Paired:
    """Mean of `x` over replicates (NaN dropped) and its Student-t interval."""
    from scipy import stats
    d = x.dropna().to_numpy(float)
    n = len(d)
    if n == 0:
        return Paired(float("nan"), float("nan"), float("nan"), 0)
    mean = float(d.mean())
    if n < 2:
        return Paired(mean, float("nan"), float("nan"), n)
    half = float(stats.t.ppf(0.5 + level / 2, n - 1) * d.std(ddof=1) / math.sqrt(n))
    return Paired(mean, mean - half, mean + half, n)


def _judge(p: Paired, low: float = -math.inf, high: float = math.inf) -> str:
    """The verdict rule (width_sweeps.verdict) on a paired interval: pass inside the region,
    fail when the interval misses it, inconclusive otherwise or when the interval is
    degenerate (< 3 replicates, zero spread)."""
    from width_sweeps.verdict import judge_effect
    why = "zero spread over replicates" if p.n >= 2 and p.degenerate else ""
    return judge_effect(p.lo, p.hi, low=low, high=high, n_seeds=p.n, inadequate=why).verdict


def superior(p: Paired) -> str:
    """'beats': the interval lies above 0 (pass) / below 0 (fail)."""
    return _judge(p, low=0.0)


def noninferior(p: Paired, margin: float = MARGIN) -> str:
    """'matches or beats': lower end above −margin (pass) / upper end below it (fail)."""
    return _judge(p, low=-margin)


def equivalent(p: Paired, margin: float = MARGIN) -> str:
    """'matches': inside (−margin, margin) (pass) / wholly outside (fail)."""
    return _judge(p, low=-margin, high=margin)


def all_of(verdicts: list[str]) -> str:
    """A claim made of parts (width_sweeps.verdict.combine)."""
    from width_sweeps.verdict import combine
    return combine(verdicts)


# ---- tables --------------------------------------------------------------------------------

def by_rep(runs: pd.DataFrame, value: str = "final_test_acc", **where: Any) -> pd.Series:
    """`value` per replicate for the runs matching `where` (one run per replicate)."""
    sel = runs
    for k, v in where.items():
        sel = sel[np.isclose(sel[k], v)] if isinstance(v, float) else sel[sel[k] == v]
    if sel.rep.duplicated().any():
        raise ValueError(f"several runs per replicate for {where}")
    return sel.set_index("rep")[value]


def mean_ci(runs: pd.DataFrame, by: list[str], value: str = "final_test_acc") -> pd.DataFrame:
    """Mean and 95 % t half-width of `value` over replicates per group."""
    from scipy import stats
    g = runs.groupby(by, observed=True)[value]
    out = g.agg(["mean", "std", "count"]).reset_index()
    t = stats.t.ppf(0.975, np.maximum(out["count"] - 1, 1))
    out["half"] = np.where(out["count"] > 1, t * out["std"] / np.sqrt(out["count"]), np.nan)
    return out


def best_rate(runs: pd.DataFrame, scheme: str, **where: Any) -> float:
    """The grid rate with the highest replicate-mean accuracy for `scheme`."""
    sel = runs[runs.scheme == scheme]
    for k, v in where.items():
        sel = sel[sel[k] == v]
    return float(sel.groupby("eta0").final_test_acc.mean().idxmax())


def early_loss(steps: pd.DataFrame, frac: float = 0.3) -> pd.DataFrame:
    """Mean probe-batch loss over the recorded steps 1 … frac·T per run (early convergence;
    at least the first recorded step after 0)."""
    loss = steps[(steps.quantity == "loss") & (steps.step > 0)]
    T, first = int(loss.step.max()), int(loss.step.min())
    early = loss[loss.step <= max(first, int(frac * T))]
    keys = ["scheme", "eta0", "init_scale", "rep"]
    return early.groupby(keys, observed=True).value.mean().rename("early_loss").reset_index()


def layer_stats(toy: ToyBed, rank: int, *, grads: int = 0, batch_size: int = 64,
                steps: int = 100) -> dict[str, Any]:
    """The toy's LoRA-adapted W (float64), the RMS of its input z and output Wz on 256 training
    images, and for d < `grads` the weight gradient G_d = ∇_W L on replicate d's first training
    batch at the pretrained start (the model built as a sweep builds it)."""
    import dataclasses

    import torch

    from toy_models.base import batch_schedule
    from width_sweeps.models import build
    from width_sweeps.spec import from_dict
    spec = from_dict(toy.spec(schemes=["zero"], rank=rank, batch_size=batch_size,
                              probe_batch=256, steps=steps))
    bound: Any = build(spec, toy.width, torch.device("cpu"), torch.float32)   # a Bound
    W = next(iter(bound.model.lora_weights(bound.frozen).values())).to(torch.float64)

    def taps_of(x: Any, y: Any | None) -> tuple[dict[str, Any], Any]:
        params = {k: v.requires_grad_() for k, v in bound.init("zero", 1.0, [0]).items()}
        taps: dict[str, Any] = {}
        out = bound.head(bound.prefix(x), params, taps)
        return taps, (None if y is None else bound.loss(out, y).sum())
    with torch.no_grad():
        taps, _ = taps_of(bound.probe_batch()[0], None)
    out = {"W": W, "rms_z": float(taps["z"][0].pow(2).mean().sqrt()),
           "rms_Wz": float(taps["zbar"][0].pow(2).mean().sqrt()), "G": []}
    for d in range(grads):
        b = dataclasses.replace(bound, sched=batch_schedule(len(bound.train[0]), batch_size,
                                                            steps, d))
        taps, loss = taps_of(*b.batch(1))
        (dz,) = torch.autograd.grad(loss, [taps["zbar"]])
        out["G"].append((dz[0].T @ taps["z"][0]).detach().to(torch.float64))
    return out


def claim_row(figure: str, model: str, key: str, claim: str, source: str, prediction: str,
              parts: list[tuple[str, Paired]], verdict: str, note: str = "") -> common.Claim:
    """A verdict row from labelled paired differences (accuracy, shown in points); the numeric
    interval (ci_low, ci_high, points) when the claim rests on one difference."""
    measured = "; ".join(f"{k} {p.text()}" if k else p.text() for k, p in parts)
    interval = "; ".join(p.interval() for _, p in parts)
    one = parts[0][1] if len(parts) == 1 and not parts[0][1].degenerate else None
    return common.Claim(figure, claim, source, prediction, measured, interval, verdict, note,
                        common.claim_id(figure, key), model,
                        None if one is None else 100 * one.lo,
                        None if one is None else 100 * one.hi)

