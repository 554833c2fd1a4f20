"""How long planning takes as the grid grows (width-sweep run plans before any work).

    python benchmarks/plan_timing.py [--widths 100000]

Prints wall and CPU seconds of each stage — load and validate the spec, make the plan (memory
estimate per width), check it, describe it, list the pending jobs — for 10 %, 100 % of the
widths: planning is linear, so the ratio is about 10.
"""
from __future__ import annotations

import argparse
import time

from width_sweeps import executor, plan, sweepdir
from width_sweeps.spec import from_dict


def stages(n_widths: int) -> dict[str, tuple[float, float]]:
    d = {"model": "theory-layer", "widths": list(range(8, 8 + n_widths)), "schemes": ["A"],
         "seeds": 1, "steps": 2}
    out: dict[str, tuple[float, float]] = {}
    clock = (time.perf_counter, time.process_time)
    t = [c() for c in clock]

    def lap(name: str) -> None:
        now = [c() for c in clock]
        out[name] = (now[0] - t[0], now[1] - t[1])
        t[:] = now
    s = from_dict(d)
    lap("load + validate")
    pl = plan.make_plan(s)
    lap("plan (memory per width)")
    plan.check(pl)
    plan.describe(pl)
    lap("check + describe")
    executor.jobs_for(s, sweepdir.shard_names(s))
    lap("pending jobs")
    return out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--widths", type=int, default=100_000)
    a = p.parse_args()
    stages(1000)                                         # imports, caches
    for n in (a.widths // 10, a.widths):
        res = stages(n)
        total = [sum(v[i] for v in res.values()) for i in (0, 1)]
        print(f"{n:>8} widths: total {total[0]:.2f} s wall, {total[1]:.2f} s CPU  ("
              + ", ".join(f"{k} {w:.2f}/{c:.2f}" for k, (w, c) in res.items()) + ")")


if __name__ == "__main__":
    main()
