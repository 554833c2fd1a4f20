"""Coverage and error rates of the fit intervals and the verdict rule on synthetic data.

    python benchmarks/verdict_coverage.py [--reps 400]

Data: per width n and seed, q = C n^γ (1 + D n^−ω) e^{σ ε} (γ = 1/2, ω = 1/2, C = 3), drawn
with numpy; fits by `width_sweeps.fit.fit_series`, verdicts by `width_sweeps.verdict`.  Per
scenario it prints how often the 95 % interval covers the slope of the noise-free curve over the
measured widths ("range") and the asymptotic γ, how often a seeds-only interval covers γ, and
the verdict rates for the right prediction (1/2) and for wrong ones (0 and 1).  The numbers are
quoted in docs/theory.md §9.6.
"""
from __future__ import annotations

import argparse

import numpy as np

from width_sweeps.fit import FitOptions, fit_series
from width_sweeps.verdict import judge_exponent

SCENARIOS = [  # (label, widths, seeds, D, sigma)
    ("9 widths 2^8–2^16, 10 seeds, no correction", 2.0 ** np.arange(8, 17), 10, 0.0, 0.1),
    ("same, D = 1", 2.0 ** np.arange(8, 17), 10, 1.0, 0.1),
    ("same, D = 3", 2.0 ** np.arange(8, 17), 10, 3.0, 0.1),
    ("same, D = 10", 2.0 ** np.arange(8, 17), 10, 10.0, 0.1),
    ("same, D = 30", 2.0 ** np.arange(8, 17), 10, 30.0, 0.1),
    ("6 widths 2^9–2^14, 4 seeds (quick)", 2.0 ** np.arange(9, 15), 4, 0.0, 0.1),
    ("6 widths 2^9–2^14, 4 seeds, D = 3", 2.0 ** np.arange(9, 15), 4, 3.0, 0.1),
    ("9 widths, 1 seed (interval from widths)", 2.0 ** np.arange(8, 17), 1, 0.0, 0.1),
    ("9 widths, 4 seeds, no noise, D = 3", 2.0 ** np.arange(8, 17), 4, 3.0, 0.0),
    ("2 widths, 2 seeds (thin)", 2.0 ** np.arange(8, 10), 2, 0.0, 0.3),
    ("3 widths, 10 seeds (thin)", 2.0 ** np.arange(8, 11), 10, 0.0, 0.3),
]


def scenario(widths: np.ndarray, seeds: int, D: float, sigma: float, reps: int,
             rng: np.random.Generator) -> dict[str, float]:
    x = np.log(widths)
    clean = np.log(3.0) + 0.5 * x + np.log1p(D * widths ** -0.5)
    xc = x - x.mean()
    range_slope = float((clean * xc).sum() / (xc * xc).sum())
    opts = FitOptions(n_boot=500)
    n = {"range": 0, "gamma": 0, "seeds_only": 0, "pass": 0, "fail": 0, "wrong_pass": 0,
         "wrong_fail": 0}
    for _ in range(reps):
        logs = [c + sigma * rng.standard_normal(seeds) for c in clean]
        r = fit_series(widths, logs, opts, rng)
        n["range"] += r["ci_low"] <= range_slope <= r["ci_high"]
        n["gamma"] += r["ci_low"] <= 0.5 <= r["ci_high"]
        sd = r["seed_se"]
        n["seeds_only"] += bool(np.isfinite(sd) and abs(r["fitted"] - 0.5) <= 1.96 * sd)

        def v(p: str, r: dict = r) -> str:
            return judge_exponent(p, r["fitted"], r["ci_low"], r["ci_high"],
                                  n_widths=len(widths), n_seeds=seeds,
                                  seedless=r["interval"] == "widths", local=r["local"],
                                  local_low=r.get("local_low", np.nan),
                                  local_high=r.get("local_high", np.nan)).verdict
        right = v("1/2")
        n["pass"] += right == "pass"
        n["fail"] += right == "fail"
        for wrong in ("0", "1"):
            w = v(wrong)
            n["wrong_pass"] += w == "pass"
            n["wrong_fail"] += w == "fail"
    out = {k: c / reps for k, c in n.items()}
    out["wrong_pass"] /= 2
    out["wrong_fail"] /= 2
    out["bias"] = range_slope - 0.5
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reps", type=int, default=400)
    a = p.parse_args()
    rng = np.random.default_rng(2024)
    cols = ["bias", "range", "gamma", "seeds_only", "pass", "fail", "wrong_pass", "wrong_fail"]
    print("| scenario | " + " | ".join(cols) + " |\n|---" + "|---" * len(cols) + "|")
    for label, widths, seeds, D, sigma in SCENARIOS:
        r = scenario(widths, seeds, D, sigma, a.reps, rng)
        cells = [f"{r['bias']:+.3f}"] + [f"{r[c]:.2f}" for c in cols[1:]]
        print(f"| {label} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
