"""The transformer coordinate check: diagnostics on synthetic power laws (known answers), the
quick-mode skip row, and a tiny end-to-end run of the figure script."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from figures import transformer_diagnostics as diag
from figures.common import Context


def _table(exps: dict[str, float], widths=(64, 128, 256, 512), seeds=4, step=3,
           module="base_model.model.transformer.h.0.mlp.c_fc") -> pd.DataFrame:
    """A coord-check table whose quantity q is n^exps[q] × lognormal seed noise, steps 2 and 3."""
    rng = np.random.default_rng(0)
    rows = []
    for n in widths:
        for s in range(seeds):
            for t in (step - 1, step):
                for q, e in exps.items():
                    rows.append({"width": n, "seed": s, "scheme": "A", "lr_exponent": "-1/2",
                                 "step": t, "module": module, "quantity": q,
                                 "value": n ** e * np.exp(0.02 * rng.standard_normal())})
    return pd.DataFrame(rows)


def _fits(preds: dict[tuple[str, int], str], module: str) -> pd.DataFrame:
    return pd.DataFrame([{"scheme": "A", "lr_exponent": "-1/2", "module": module, "quantity": q,
                          "step": t, "predicted": p} for (q, t), p in preds.items()])


def test_ratio_fits_recover_the_recursion_despite_a_mixed_z_a() -> None:
    """Z_A grows like n^0.2 (a finite-width mix), δ² like n^−0.3: the ratio is n^−1/2 = c."""
    module = "base_model.model.transformer.h.0.mlp.c_fc"
    table = _table({"Z_A": 0.2, "delta2": -0.3, "delta1": 0.0, "B": -0.5, "Z_B": -0.3},
                   module=module)
    preds = {("delta2", 3): "0", ("Z_A", 2): "1/2", ("Z_A", 3): "1/2", ("delta1", 3): "0",
             ("B", 2): "-1/2", ("Z_B", 3): "0"}
    r = diag.ratio_fits(table, _fits(preds, module), 3, 0.1).set_index("ratio")
    assert r.loc["δ²_t / Z_A_{t−1}", "predicted"] == "-1/2"
    assert r.loc["δ²_t / Z_A_{t−1}", "fitted"] == pytest.approx(-0.5, abs=0.03)
    assert r.loc["δ¹_t / B_{t−1}", "fitted"] == pytest.approx(0.5, abs=0.03)
    assert r.loc["Z_B_t / Z_A_t", "predicted"] == "-1/2"
    assert (r.verdict == "pass").all()
    broken = _table({"Z_A": 0.2, "delta2": 0.1, "delta1": -0.5, "B": -0.5, "Z_B": -0.3},
                    module=module)                 # δ² no longer follows Z_A: must fail
    r2 = diag.ratio_fits(broken, _fits(preds, module), 3, 0.1).set_index("ratio")
    assert r2.loc["δ²_t / Z_A_{t−1}", "verdict"] == "fail"
    assert r2.loc["δ¹_t / B_{t−1}", "verdict"] == "fail"     # ΔA·z not aligned (0 vs 1/2)


def test_premise_fits_pass_flat_and_fail_shrinking_inputs() -> None:
    rng = np.random.default_rng(1)
    stats = {n: {"h.0.attn.c_attn": {"rms": 1 + 0.05 * rng.standard_normal(32),
                                     "l1": 0.8 + 0.04 * rng.standard_normal(32)},
                 "h.0.attn.c_proj": {"rms": n ** -0.3 * (1 + 0.05 * rng.standard_normal(32)),
                                     "l1": n ** -0.3 * (1 + 0.05 * rng.standard_normal(32))}}
             for n in (64, 128, 256, 512)}
    p = diag.premise_fits(stats, 0.1)
    assert sorted(p.stat.unique()) == ["l1", "rms"]
    p = p[p.stat == "rms"].set_index("module")
    assert p.loc["h.0.attn.c_attn", "verdict"] == "pass"
    assert p.loc["h.0.attn.c_proj", "verdict"] == "fail"
    assert p.loc["h.0.attn.c_proj", "fitted"] == pytest.approx(-0.3, abs=0.03)
    s = diag.signal_fits({n: {"m": 3.0 / n} for n in (64, 256, 1024)})
    assert s.fitted.iloc[0] == pytest.approx(-1.0) and s.min_rms.iloc[0] == pytest.approx(3 / 1024)


def test_quick_mode_is_an_explicit_inconclusive_row(tmp_path) -> None:
    from figures import transformer_coord as tc
    res = tc.run(Context("quick", (tmp_path,), tmp_path / "runs"))
    assert [c.verdict for c in res.claims] == ["inconclusive"]
    assert "skipped" in res.claims[0].measured and not res.images


@pytest.mark.slow   # ~40 s on a quiet 2-core CPU (imports, two tiny pretrainings, the figure)
def test_tiny_transformer_coord_end_to_end(tmp_path, monkeypatch) -> None:
    pytest.importorskip("peft")
    pytest.importorskip("width_sweeps.coord_check")
    from figures import transformer_coord as tc
    from toy_models.transformer import TransformerConfig
    monkeypatch.setenv("GAMMAKIT_CACHE", str(tmp_path / "ck"))
    model = TransformerConfig(base_width=32, steps=4, warmup=1, batch=2, context=16)
    tiny = tc.Config(widths=(32, 64), seeds=2, steps=3, rank=2, alpha=2, batch=2, context=16,
                     probe_sequences=4, model=model)
    monkeypatch.setattr(tc, "configs", lambda mode: tiny)
    ctx = Context("quick", (tmp_path / "out",), tmp_path / "runs", "cpu")
    res = tc.run(ctx)
    assert res.images and res.images[0].exists()
    kinds = {c.claim.split(":")[0] for c in res.claims}
    assert kinds == set(tc.KINDS)
    assert len(res.claims) == 2 * 4 + 2 * 4 + 2 * 4     # premise+alignment, exponents, recursion
    assert all(c.verdict in ("pass", "fail", "inconclusive", "n/a") for c in res.claims)
    assert len({c.id for c in res.claims}) == len(res.claims)
    assert all("h0" in c.measured and "h1" in c.measured for c in res.claims)
    assert "μP pretraining per width" in res.details and "Premise" in res.details
    assert list((tmp_path / "runs" / "transformer-coord").glob("*.pkl"))   # resumable


def _measured(verdicts: dict[str, str], ratio_ok: bool | str, premise_ok: bool = True,
              scheme: str = "A"):
    """A synthetic Measured for block 0's mlp.c_fc: headline fits with the given verdicts."""
    from figures import transformer_coord as tc
    module = "base_model.model.transformer.h.0.mlp.c_fc"
    c = "-1/2" if scheme == "A" else "-1"
    fits = pd.DataFrame([{"scheme": scheme, "lr_exponent": c, "module": module,
                          "quantity": q, "step": tc.HEADLINE, "predicted": "0", "fitted": 0.0,
                          "ci_low": -0.1, "ci_high": 0.1, "verdict": v, "reason": ""}
                         for q, v in verdicts.items()])
    names = [name for name, _, _ in diag.RATIOS] + [diag.MIX]
    ratios = pd.DataFrame([{"scheme": scheme, "lr_exponent": c, "module": module, "ratio": name,
                            "predicted": "1/2", "fitted": 0.3,
                            "verdict": ratio_ok if isinstance(ratio_ok, str) else
                            "pass" if ratio_ok else "fail"} for name in names])
    base = "transformer.h.0.mlp.c_fc"
    premise = pd.DataFrame([{"module": base, "stat": st, "fitted": 0.01 if premise_ok else -0.3,
                             "verdict": "pass" if premise_ok else "fail"} for st in ("rms", "l1")])
    alignment = pd.DataFrame([{"module": module, "fitted": -0.2, "verdict": "fail"}])
    return tc.Measured(fits, pd.DataFrame(), premise, alignment, pd.DataFrame(), ratios,
                       pd.DataFrame(), [])


def test_diagnosis_names_the_measured_cause() -> None:
    from figures import transformer_coord as tc
    base = {"Z_A": "fail", "dZ_A": "pass", "Z_B": "fail", "delta1": "pass", "delta2": "fail",
            "delta3": "pass"}
    why = tc.diagnose(_measured(base, ratio_ok=True), "A", "-1/2", "mlp.c_fc")
    assert why.startswith("h0: ") and "mix ✓" in why
    assert "δ² inherits Z_A" in why and "Z_B inherits Z_A" in why and "ΔA·z" not in why
    why = tc.diagnose(_measured(base, ratio_ok=False), "A", "-1/2", "mlp.c_fc")
    assert "its recursion fails" in why and "mix fail" in why and "ΔA·z off" in why
    why = tc.diagnose(_measured({**base, "dZ_A": "fail"}, ratio_ok=True), "A", "-1/2",
                      "mlp.c_fc")
    assert "ΔA·z off the aligned n^(c+1) by -0.20 (δ¹/B)" in why and "γ[κ] -0.20" in why
    why = tc.diagnose(_measured(base, ratio_ok=True, premise_ok=False), "A", "-1/2", "mlp.c_fc")
    assert "premise fails (γ[RMS z] -0.30, γ[mean|z|] -0.30)" in why
    why = tc.diagnose(_measured({"Z_A": "fail", "dZ_A": "fail", "delta3": "fail"}, True, True,
                                "B"), "B", "-1", "mlp.c_fc")
    assert "every probe carries ΔA·z" in why and "δ³ = s·ΔB·ΔA z" in why
    why = tc.diagnose(_measured(base, "inconclusive"), "A", "-1/2", "mlp.c_fc")
    assert "ΔA·z" not in why and "δ²_t / Z_A_{t−1} inconclusive" in why
    ok = {q: "pass" for q in base}
    assert tc.diagnose(_measured(ok, True), "A", "-1/2", "mlp.c_fc") == "no exponent fails"


def test_mix_ratio_tells_a_mixed_z_a_from_a_stalled_one() -> None:
    module = "base_model.model.transformer.h.0.mlp.c_fc"
    rows = []
    for n in (64, 128, 256, 512):
        for s in range(4):
            e = np.exp(0.01 * np.random.default_rng(n + s).standard_normal(3))
            for q, t, v in (("Z_A", 0, 1.0 * e[0]), ("dZ_A", 3, 0.1 * n ** 0.5 * e[1]),
                            ("Z_A", 3, np.sqrt(1 + 0.01 * n) * e[2])):
                rows.append({"width": n, "seed": s, "scheme": "A", "lr_exponent": "-1/2",
                             "step": t, "module": module, "quantity": q, "value": v})
    table = pd.DataFrame(rows)
    fits = _fits({}, module)
    mix = diag.ratio_fits(table, fits, 3, 0.1).set_index("ratio").loc[diag.MIX]
    assert mix.predicted == "0" and mix.verdict == "pass" and abs(mix.fitted) < 0.05
    stalled = table.assign(value=np.where((table.quantity == "Z_A") & (table.step == 3), 1.0,
                                          table.value))
    mix = diag.ratio_fits(stalled, fits, 3, 0.1).set_index("ratio").loc[diag.MIX]
    assert mix.verdict == "fail" and mix.fitted < -0.2
