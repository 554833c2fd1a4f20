"""The theory layer under Adam reproduces docs/theory.md §2's exponents (§2.4, §2.6).

Init[A] at c = −1/2: Z_A ≈ +1/2 and Z_B, δ¹ ≈ 0 from step 2, δ² ≈ 0 from step 3 (B₀ = 0 ⇒ A
first moves at step 2, so δ²₂ = Θ(n^{−1/2})); Init[B] at its largest stable rate c = −1:
δ² ≈ −1 from step 2.  η = n^c (η₀ = 1, n₀ = 1): the update term ηn of A z beats A₀z = Θ(1) by
√n ≥ 16 over the fitted range, so finite-width drift stays below the 0.05 tolerance.
Predictions come from gamma_calc when it is importable, else from docs/theory.md §2 (injected).
"""
from __future__ import annotations

import pandas as pd
import pytest

from width_sweeps import executor, predict, verdict
from width_sweeps.fit import FitOptions, fit_table
from width_sweeps.spec import from_dict

THEORY = {("A", "-1/2"): {("Z_A", 2): "1/2", ("Z_B", 2): "0", ("delta1", 2): "0",
                          ("delta2", 2): "-1/2", ("delta2", 3): "0", ("Z_A", 3): "1/2"},
          ("B", "-1"): {("delta2", 2): "-1", ("delta2", 3): "-1"}}
CHECK = [("A", "-1/2", "Z_A", 2), ("A", "-1/2", "Z_B", 2), ("A", "-1/2", "delta1", 2),
         ("A", "-1/2", "delta2", 3), ("B", "-1", "delta2", 2)]


def theory_predict(*, scheme, lr_exponent, **_):
    return THEORY.get((scheme, lr_exponent), {})


def _predict_fn():
    try:
        import gamma_calc.api  # noqa: F401
        return predict.gamma_calc_predict
    except ImportError:
        return theory_predict


@pytest.mark.slow
def test_theory_layer_exponents(tmp_path, capsys) -> None:
    spec = from_dict({"model": "theory-layer", "widths": [2 ** k for k in range(8, 15)],
                      "schemes": ["A", "B"], "eta0": [1.0], "n0": 1, "lr_exponents": ["-1/2", "-1"],
                      "seeds": 10, "steps": 3, "dtype": "float64", "rank": 4,
                      "runs_per_shard": 64})
    steps, runs = executor.run_sweep(spec, tmp_path, progress=False)
    fits = fit_table(steps, runs, FitOptions(n_boot=500))
    fits, _ = predict.attach_predictions(fits, _predict_fn())
    fits = verdict.add_verdicts(fits, verdict.Rule())
    rows = pd.concat([fits[(fits.scheme == s) & (fits.lr_exponent == c) & (fits.quantity == q)
                           & (fits.step == t)] for s, c, q, t in CHECK])
    with capsys.disabled():
        print("\n" + rows[["scheme", "lr_exponent", "quantity", "step", "predicted", "fitted",
                           "ci_low", "ci_high", "local", "verdict"]].to_string(index=False))
    truth = {"Z_A": 0.5, "Z_B": 0.0, "delta1": 0.0, "delta2": 0.0}
    for r in rows.itertuples():
        want = -1.0 if r.scheme == "B" else truth[r.quantity]
        assert abs(r.fitted - want) <= 0.05, r
        assert r.verdict == "pass", r


@pytest.mark.slow
def test_sgd_theory_layer_delta1_is_order_one(tmp_path) -> None:
    """SGD, Init[A], c_A = −2, c_B = 0 on the theory layer: δ¹ = Θ(1) (exponent 0, the
    geometry-aware prediction), not Θ(1/n) (−1, the scalar-output model's)."""
    spec = from_dict({"model": "theory-layer", "widths": [2 ** k for k in range(8, 14)],
                      "schemes": ["A"], "optimizer": "sgd", "eta0": [0.05], "n0": 1,
                      "lr_exponents": ["-2,0"], "seeds": 20, "steps": 3, "dtype": "float64",
                      "rank": 4, "runs_per_shard": 128})
    steps, runs = executor.run_sweep(spec, tmp_path, progress=False)
    fits = fit_table(steps, runs, FitOptions(n_boot=500))
    fits, _ = predict.attach_predictions(fits, predict.gamma_calc_predict)
    fits = verdict.add_verdicts(fits, verdict.Rule())
    r = fits[(fits.quantity == "delta1") & (fits.step == 3)].iloc[0]
    assert r.predicted == "0" and abs(r.fitted) < 0.1 and r.ci_low > -0.5
    assert r.verdict == "pass"
