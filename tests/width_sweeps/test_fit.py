"""Fits on synthetic data with known exponents; verdicts; Theorem-1 slope; max-lr search."""
from __future__ import annotations

import numpy as np
import pandas as pd

from gamma_calc.vocab import exponent_text
from width_sweeps import maxlr, predict, theorem1, verdict
from width_sweeps.fit import FitOptions, fit_series, fit_table
from width_sweeps.predict import attach_predictions

WIDTHS = 2 ** np.arange(6, 13)


def synthetic(gamma: dict, seeds: int = 10, sigma: float = 0.1, rng=None, eps="0",
              scheme="A") -> pd.DataFrame:
    """Steps-like frame: q = C n^γ e^noise per (width, seed) for each quantity."""
    rng = rng or np.random.default_rng(1)
    rows = []
    for q, g in gamma.items():
        for n in WIDTHS:
            for s in range(seeds):
                v = 0.0 if g == "zero" else 3.0 * n ** g * np.exp(sigma * rng.standard_normal())
                rows.append({"run_id": s, "model": "m", "scheme": scheme, "init_scale": 1.0,
                             "optimizer": "adam", "lr_exponent": "-1/2", "lr_exponent_b": "-1/2",
                             "eta0": 0.1, "eps": eps, "width": n, "seed": s, "step": 2,
                             "quantity": q, "value": v})
    return pd.DataFrame(rows)


def test_recovers_known_exponents() -> None:
    df = synthetic({"Z_A": 0.5, "Z_B": 0.0, "delta2": -1.0, "delta3": "zero"})
    f = fit_table(df).set_index("quantity")
    for q, g in {"Z_A": 0.5, "Z_B": 0.0, "delta2": -1.0}.items():
        assert abs(f.loc[q, "fitted"] - g) < 0.03
        assert f.loc[q, "ci_low"] <= g <= f.loc[q, "ci_high"]
        assert abs(f.loc[q, "local"] - g) < 0.1
        assert f.loc[q, "n_widths"] == len(WIDTHS) and f.loc[q, "n_seeds"] == 10
    assert f.loc["delta3", "fitted"] == -np.inf


def test_interval_covers_truth_at_nominal_rate() -> None:
    rng = np.random.default_rng(7)
    opts = FitOptions(level=0.9, n_boot=400)
    hits, reps = 0, 300
    for _ in range(reps):
        logs = [np.log(2.0) + 0.3 * np.log(n) + 0.2 * rng.standard_normal(8) for n in WIDTHS]
        r = fit_series(WIDTHS, logs, opts, rng)
        hits += r["ci_low"] <= 0.3 <= r["ci_high"]
    # nominal 0.90 (the √(k/(k−1)) scaling removes the plain bootstrap's under-coverage)
    assert 0.85 <= hits / reps <= 0.96


def fake_predict(**kw):
    eps = predict.Fraction(kw["eps"])
    return {("Z_A", 2): "1/2", ("Z_B", 2): "0", ("delta2", 2): "-1", ("delta3", 2): "-oo",
            ("delta1", 2): exponent_text(-2 * eps), ("nu_A", 2): None}


def test_verdicts_pass_fail_na() -> None:
    df = synthetic({"Z_A": 0.5, "Z_B": 0.2, "delta2": -1.0, "delta3": "zero", "nu_A": 1.0})
    f, notes = attach_predictions(fit_table(df), fake_predict)
    v = verdict.add_verdicts(f, verdict.Rule()).set_index("quantity")["verdict"].to_dict()
    assert v == {"Z_A": "pass", "Z_B": "fail", "delta2": "pass", "delta3": "pass", "nu_A": "n/a"}
    assert notes == []


def test_judge_edge_cases() -> None:
    def j(p, lo, hi):
        return verdict.judge_exponent(p, (lo + hi) / 2, lo, hi, n_widths=6, n_seeds=5).verdict
    assert j("-oo", -1.0, -0.5) == "fail"
    assert j("0", -np.inf, -np.inf) == "fail"
    assert j("0", -0.06, -0.04) == "pass"
    assert j(None, 0, 0) == "n/a"


def run_frame(steps: pd.DataFrame, diverged: dict) -> pd.DataFrame:
    """Runs table for a synthetic steps frame; `diverged`: {(scheme, width): n_seeds}."""
    runs = steps.drop_duplicates("run_id").drop(columns=["step", "quantity", "value"])
    runs["status"] = [("diverged" if r.seed < diverged.get((r.scheme, r.width), 0) else "ok")
                      for r in runs.itertuples()]
    return runs


def test_nothing_is_dropped_silently() -> None:
    """Diverged runs drop their width (listed); a config whose every run diverged is a row."""
    ok = synthetic({"Z_B": 0.5}, seeds=4)
    ok["run_id"] = ok.width * 100 + ok.seed
    bad = synthetic({"Z_B": 0.5}, seeds=4, scheme="B")
    bad["run_id"] = bad.width * 100 + bad.seed + 10
    steps = pd.concat([ok, bad], ignore_index=True)
    top = int(WIDTHS[-1])
    runs = run_frame(steps, {("A", top): 4, ("A", int(WIDTHS[-2])): 1}
                     | {("B", int(n)): 4 for n in WIDTHS})
    f = fit_table(steps, runs).set_index("scheme")
    a, b = f.loc["A"], f.loc["B"]
    assert a.status == "ok" and a.n_widths == len(WIDTHS) - 2
    assert a.runs_diverged == 5 and a.runs_used == 4 * (len(WIDTHS) - 2)
    assert f"{top} (4/4 runs diverged)" in a.widths_dropped
    assert str(top) not in a.widths_used.split(",")
    assert b.status == "diverged" and b.runs_diverged == 4 * len(WIDTHS)
    judged = verdict.add_verdicts(attach_predictions(f.reset_index(),
                                                     lambda **_: {("Z_B", 2): "1/2"})[0],
                                  verdict.Rule())
    assert judged.set_index("scheme").loc["B", "verdict"] == "diverged"
    from width_sweeps.analyze import exclusions
    lines = exclusions(judged, runs)
    assert any("every run diverged" in x for x in lines)
    assert any("5 diverged runs" in x for x in lines)


def test_theorem1_slope_against_eps() -> None:
    parts = []
    for i, e in enumerate(["0", "1/4", "1/2"]):
        eps = float(predict.Fraction(e))
        parts.append(synthetic({"delta1": -2 * eps, "delta2": -eps}, eps=e,
                               rng=np.random.default_rng(i)))
    df = pd.concat(parts, ignore_index=True)

    def pred(**kw):
        eps = predict.Fraction(kw["eps"])
        return {("delta1", 2): exponent_text(-2 * eps), ("delta2", 2): exponent_text(-eps)}
    f, _ = attach_predictions(fit_table(df, keep_boot=True), pred)
    t1 = theorem1.theorem1(f).set_index("quantity")
    assert t1.loc["delta1", "predicted"] == "-2" and t1.loc["delta2", "predicted"] == "-1"
    assert abs(t1.loc["delta1", "fitted"] + 2) < 0.1 and abs(t1.loc["delta2", "fitted"] + 1) < 0.1
    assert set(t1.verdict) == {"pass"}


def test_maxlr_finds_exponent() -> None:
    """Synthetic stability: stable iff η ≤ 0.7·n^(−1/2)·(1 + noise); grid ratio 2^(1/4)."""
    rng = np.random.default_rng(3)
    grid = 2.0 ** (np.arange(-48, 1) / 4)
    steps, runs, rid = [], [], 0
    for n in WIDTHS:
        for s in range(6):
            thr = 0.7 * n ** -0.5 * np.exp(0.05 * rng.standard_normal())
            for eta in grid:
                keys = {"run_id": rid, "model": "m", "scheme": "A", "init_scale": 1.0,
                        "optimizer": "adam", "lr_exponent": "0", "lr_exponent_b": "0", "eps": "0",
                        "width": n, "seed": s, "eta0": eta}
                runs.append(dict(keys, status="ok"))
                steps.append(dict(keys, step=1, quantity="dZ_B", value=eta / thr))
                rid += 1
    best, fits = maxlr.maxlr_table(pd.DataFrame(steps), pd.DataFrame(runs), tau=1.0,
                                   max_lr_fn=lambda o, s, m="": "-1/2")
    row = fits.iloc[0]
    assert abs(row.fitted + 0.5) < 0.05 and row.verdict == "pass"
    assert not best.at_grid_edge.any()
    # the grid's resolution (ratio 2^(1/4)) is part of the interval, even with no seed noise:
    # ≥ 2 · 1.96 · (ln 2^(1/4) / √12) / √Sxx over the 7 widths
    x = np.log(WIDTHS)
    floor = 2 * 1.96 * np.log(2 ** 0.25) / np.sqrt(12) / np.sqrt(((x - x.mean()) ** 2).sum())
    assert row.ci_high - row.ci_low >= floor * 0.999 and row.grid_ratio == 2 ** 0.25


def test_quantiles_equal_numpys() -> None:
    """The partial-sort percentile pair is `np.quantile`'s linear interpolation, bit for bit."""
    from width_sweeps.fit import _quantiles
    g = np.random.default_rng(4)
    for n in (1, 2, 3, 10, 999, 1000):
        for a in (0.005, 0.025, 0.05, 0.25, 0.5):
            d = g.standard_t(3, size=(2, n))
            np.testing.assert_array_equal(_quantiles(d, a), np.quantile(d, [a, 1 - a], axis=-1))
            np.testing.assert_array_equal(_quantiles(d[0], a), np.quantile(d[0], [a, 1 - a]))
    d[0, 3] = np.nan
    np.testing.assert_array_equal(_quantiles(d, 0.025), np.quantile(d, [0.025, 0.975], axis=-1))


def _log_series_by_width(w: np.ndarray, v: np.ndarray) -> tuple[list, list]:
    """Reference: each width's positive values in their original order, logged."""
    ws = sorted(set(w.tolist()))
    return ws, [np.log(v[w == n]) for n in ws]


def test_log_series_any_order() -> None:
    """Widths in any order (the usual all-positive case and the case that drops values) give
    each width's values in their own order."""
    from width_sweeps.fit import log_series
    g = np.random.default_rng(2)
    w = g.permutation(np.repeat([64, 128, 256, 512], 3))
    v = g.uniform(0.5, 2.0, size=w.size)
    widths, logs, zero, dropped = log_series(w, v)
    ref_w, ref_logs = _log_series_by_width(w, v)
    assert widths == ref_w and not zero and dropped == []
    for a, b in zip(logs, ref_logs):
        np.testing.assert_array_equal(a, b)
    v[w == 128] = np.nan
    v[np.flatnonzero(w == 256)[0]] = -1.0
    widths, logs, zero, dropped = log_series(w, v)
    assert widths == [64, 256, 512] and not zero
    assert dropped == ["128 (no positive finite value)",
                       "256 (1 of 3 values ≤ 0 or non-finite left out)"]
    np.testing.assert_array_equal(logs[1], np.log(v[(w == 256) & (v > 0)]))
