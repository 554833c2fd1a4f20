"""gammakit's `coord_check` beside microsoft/mup's `get_coord_data` on one LoRA-adapted MLP.

Model: 784 → w (frozen) → ReLU → w × w (frozen, LoRA r = 4 via peft on it) → ReLU → 10 (frozen),
the frozen base drawn once per width (same for both tools and every seed).  Data: the first 64
MNIST training images (toy_models.data), the same batch at every step.  Adam at η = η₀ (w/n₀)^c,
η₀ = 0.01, n₀ = 128, c = −1/2, widths 2^7 … 2^12, 5 seeds, 3 steps.

* mup: `get_coord_data(models, [(x, y)], optimizer="adam", lr=η(w), mup=False, nseeds=5,
  nsteps=3, filter_trainable_by_name=<LoRA factors>)`, one call per width (mup takes one rate
  per call; its seeds reseed torch's global RNG, so peft draws each seed's LoRA init); its
  default statistics (l1 of every module's output, every step).  Data only, no plot.
* gammakit: `coord_check(model_fn, (x, y), widths=…, schemes=("True",), seeds=5, steps=3, …)`
  — peft's default init by name, all quantities of docs/theory.md §2 for the adapter, fits,
  bootstrap intervals, predictions and verdicts included.

Both run in this process after a warm-up call of each (imports and first-call costs excluded).
Before each timed call the garbage left by what ran before is collected (`gc.collect()`, the
same for both tools): a full collection of this process's ~420k tracked objects (torch, peft,
transformers, pandas, mup's seaborn) takes ~0.3 s on this machine, and without it one lands in
whichever timed call happens to cross CPython's threshold — decided by the imports and the call
order, not by either tool's work.  `--no-collect` times without it; `full_gc` counts the full
collections inside each timed call.
Prints one JSON object: wall seconds (`*_s`, `speedup`) and process CPU seconds (`*_cpu_s`,
`speedup_cpu`: the work itself, less sensitive to other processes on a shared machine), the
seconds each tool spent inside the model factory (`*_model_s`, `model_calls`: building the
user's model, which gammakit asks for once per width and mup once per seed) and the speed-up of
what remains (`speedup_excl_model`: each tool's own work), the load average before and after.
`python benchmarks/vs_mup.py [--widths 7 12] [--seeds 5] [--steps 3] [--device cpu|cuda]
[--no-collect]` (on CUDA the clocks are read after `torch.cuda.synchronize()`).
Needs the `bench` extra (mup; install it with `pip install --no-deps mup seaborn` on a CPU-only
torch so that pip does not pull a CUDA torch through mup's torchvision requirement).
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import time
from collections.abc import Callable
from fractions import Fraction
from typing import Self

import torch
from torch import nn

ETA0, N0, C = 0.01, 128, "-1/2"


class MLP(nn.Module):
    def __init__(self, w: int) -> None:
        super().__init__()
        self.fc1, self.fc2, self.head = nn.Linear(784, w), nn.Linear(w, w), nn.Linear(w, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.fc2(torch.relu(self.fc1(x)))))


def model_fn(w: int) -> nn.Module:
    """The LoRA-adapted MLP at width w; the frozen base is the same on every call."""
    import peft
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(w)
        base = MLP(w)
    return peft.get_peft_model(base, peft.LoraConfig(r=4, lora_alpha=4, target_modules=["fc2"]))


class Factory:
    """`model_fn` that adds the seconds spent inside it to `seconds`: the model construction
    either tool asks for (gammakit once per width, mup once per seed and width)."""

    def __init__(self) -> None:
        self.seconds, self.calls = 0.0, 0

    def __call__(self, w: int) -> nn.Module:
        t0 = time.perf_counter()
        try:
            return model_fn(w)
        finally:
            self.seconds += time.perf_counter() - t0
            self.calls += 1


def rate(w: int) -> float:
    return ETA0 * (w / N0) ** float(Fraction(C))


def mnist_batch(b: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    from toy_models.data import load_dataset
    X, y = load_dataset("mnist", "train")
    return torch.as_tensor(X[:b]).float(), torch.as_tensor(y[:b]).long()


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def run_mup(widths: list[int], seeds: int, steps: int, batch, device: str = "cpu",
            factory: Callable[[int], nn.Module] = model_fn) -> tuple[float, float]:
    from mup.coord_check import get_coord_data
    _sync(device)
    t0, c0 = time.perf_counter(), time.process_time()
    for w in widths:
        get_coord_data({w: lambda w=w: factory(w)}, [batch], optimizer="adam", lr=rate(w),
                       mup=False, nseeds=seeds, nsteps=steps, cuda=device == "cuda",
                       show_progress=False, filter_trainable_by_name=lambda name: "lora_" in name)
    _sync(device)
    return time.perf_counter() - t0, time.process_time() - c0


def run_gammakit(widths: list[int], seeds: int, steps: int, batch, device: str = "cpu",
                 factory: Callable[[int], nn.Module] = model_fn):
    from width_sweeps.coord_check import coord_check
    _sync(device)
    t0, c0 = time.perf_counter(), time.process_time()
    cc = coord_check(factory, batch, widths=widths, schemes=("True",), seeds=seeds,
                     steps=steps, eta0=ETA0, n0=N0, lr_exponents=(C,), device=device)
    _sync(device)
    return time.perf_counter() - t0, time.process_time() - c0, cc


class FullGC:
    """Counts full (generation-2) garbage collections while active; collects first unless
    `collect` is False."""

    def __init__(self, collect: bool) -> None:
        self.collect, self.n = collect, 0

    def _count(self, phase: str, info: dict) -> None:
        self.n += phase == "start" and info["generation"] == 2

    def __enter__(self) -> Self:
        if self.collect:
            gc.collect()
        gc.callbacks.append(self._count)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._count)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--widths", type=int, nargs=2, default=(7, 12), metavar=("LO", "HI"),
                    help="log2 of the smallest and largest width (default 7 12)")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                    help="both tools on this device (mup's cuda=True; coord_check's device=)")
    ap.add_argument("--no-collect", action="store_true",
                    help="no gc.collect() before the timed calls (see the module doc)")
    a = ap.parse_args(argv)
    widths = [2 ** k for k in range(a.widths[0], a.widths[1] + 1)]
    batch = mnist_batch()
    load0 = os.getloadavg()
    run_mup(widths[:2], 1, 1, batch, a.device)            # warm-up: imports, first calls
    run_gammakit(widths[:2], 2, 1, batch, a.device)
    mup_f, gk_f = Factory(), Factory()
    with FullGC(not a.no_collect) as mup_gc:
        mup_s, mup_cpu = run_mup(widths, a.seeds, a.steps, batch, a.device, mup_f)
    with FullGC(not a.no_collect) as gk_gc:
        gk_s, gk_cpu, cc = run_gammakit(widths, a.seeds, a.steps, batch, a.device, gk_f)
    out = {"gammakit_s": round(gk_s, 3), "mup_s": round(mup_s, 3),
           "speedup": round(mup_s / gk_s, 2), "gammakit_cpu_s": round(gk_cpu, 3),
           "mup_cpu_s": round(mup_cpu, 3), "speedup_cpu": round(mup_cpu / gk_cpu, 2),
           "gammakit_model_s": round(gk_f.seconds, 3), "mup_model_s": round(mup_f.seconds, 3),
           "model_calls": {"gammakit": gk_f.calls, "mup": mup_f.calls},
           "speedup_excl_model": round((mup_s - mup_f.seconds) / (gk_s - gk_f.seconds), 2),
           "runs": len(widths) * a.seeds, "widths": widths,
           "seeds": a.seeds, "steps": a.steps,
           "device": torch.cuda.get_device_name() if a.device == "cuda" else "cpu",
           "threads": torch.get_num_threads(), "gammakit_train_s": round(cc.seconds["train"], 3),
           "gammakit_fit_s": round(cc.seconds["fit"], 3), "batched": cc.batched,
           "verdicts": cc.summary(), "collected": not a.no_collect,
           "full_gc": {"mup": mup_gc.n, "gammakit": gk_gc.n},
           "loadavg_before": [round(x, 2) for x in load0],
           "loadavg_after": [round(x, 2) for x in os.getloadavg()]}
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
