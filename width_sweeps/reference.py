"""The per-run reference: `toy_models.train.train_reference` over a list of runs.

One run at a time, `torch.optim`, the frozen prefix recomputed per run and step (μP
coord-check style).  It is what the batched engine is tested and benchmarked against; this
module only maps a `RunConfig` to a `TrainConfig` and packs the histories like a `ShardResult`.
"""
from __future__ import annotations

import math
import time

import numpy as np

from .adapters import Bound
from .probes import QUANTITIES
from .results import ShardResult
from .spec import RunConfig, SweepSpec


def train_config(spec: SweepSpec, run: RunConfig):
    """The reference loop's TrainConfig for one run of the grid."""
    from toy_models.train import TrainConfig
    return TrainConfig(scheme=run.scheme, optimizer=spec.optimizer, lr=run.lr_a,
                       lr_ratio=run.lr_b / run.lr_a, steps=spec.steps,
                       batch_size=spec.batch_size, seed=run.seed, data_seed=spec.data_seed,
                       init_scale=run.init_scale, betas=(spec.betas[0], spec.betas[1]),
                       eps=spec.adam_eps)


def train_reference(model: Bound, spec: SweepSpec, runs: list[RunConfig]) -> ShardResult:
    """Run `runs` one by one through toy_models' reference loop."""
    from toy_models.train import train_reference as ref
    t0 = time.perf_counter()
    values = np.full((spec.steps + 1, len(QUANTITIES), len(runs)), np.nan)
    div = np.full(len(runs), -1)
    test: dict[str, np.ndarray] = {}
    for i, run in enumerate(runs):
        res = ref(model.model, model.frozen, model.train, train_config(spec, run),
                  probe=model.probe, eval_data=model.test if spec.test_eval else None)
        for qi, q in enumerate(QUANTITIES):
            if q in res.history:
                values[:, qi, i] = res.history[q]
        div[i] = res.diverged_step if res.diverged_step is not None else -1
        for k in ("test_loss", "test_acc"):
            if k in res.final:
                test.setdefault(k, np.full(len(runs), math.nan))[i] = res.final[k]
    return ShardResult(runs, QUANTITIES, values, div, test, time.perf_counter() - t0)
