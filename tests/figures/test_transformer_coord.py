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
    rms = {n: {"h.0.attn.c_attn": 1 + 0.05 * rng.standard_normal(32),
               "h.0.attn.c_proj": n ** -0.3 * (1 + 0.05 * rng.standard_normal(32))}
           for n in (64, 128, 256, 512)}
    p = diag.premise_fits(rms, 0.1).set_index("module")
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
    assert len(res.claims) == 4 + 2 * 4 + 2 * 4                  # premise, exponents, recursion
    assert all(c.verdict in ("pass", "fail", "inconclusive", "n/a") for c in res.claims)
    assert len({c.id for c in res.claims}) == len(res.claims)
    assert all("h0" in c.measured and "h1" in c.measured for c in res.claims)
    assert "μP pretraining per width" in res.details and "Premise" in res.details
    assert list((tmp_path / "runs" / "transformer-coord").glob("*.pkl"))   # resumable


def _measured(verdicts: dict[str, str], ratio_ok: bool, premise_ok: bool = True):
    """A synthetic Measured for one mlp.c_fc module: headline fits with given verdicts."""
    from figures import transformer_coord as tc
    module = "base_model.model.transformer.h.0.mlp.c_fc"
    fits = pd.DataFrame([{"scheme": "A", "lr_exponent": "-1/2", "module": module,
                          "quantity": q, "step": tc.HEADLINE, "predicted": "0", "fitted": 0.0,
                          "ci_low": -0.1, "ci_high": 0.1, "verdict": v, "reason": ""}
                         for q, v in verdicts.items()])
    ratios = pd.DataFrame([{"scheme": "A", "lr_exponent": "-1/2", "module": module,
                            "ratio": name, "verdict": "pass" if ratio_ok else "fail"}
                           for name, _, _ in diag.RATIOS])
    premise = pd.DataFrame([{"module": "transformer.h.0.mlp.c_fc", "fitted": 0.01 if premise_ok
                             else -0.3, "verdict": "pass" if premise_ok else "fail"}])
    return tc.Measured(fits, pd.DataFrame(), premise, pd.DataFrame(), ratios, pd.DataFrame(), [])


def test_diagnosis_names_the_measured_cause() -> None:
    from figures import transformer_coord as tc
    base = {"Z_A": "fail", "dZ_A": "pass", "Z_B": "fail", "delta1": "pass", "delta2": "fail",
            "delta3": "pass"}
    why = tc.diagnose(_measured(base, ratio_ok=True), "A", "-1/2", "mlp.c_fc")
    assert "finite-width mix" in why and "δ² inherits Z_A" in why and "Z_B inherits Z_A" in why
    why = tc.diagnose(_measured(base, ratio_ok=False), "A", "-1/2", "mlp.c_fc")
    assert "recursion itself fails" in why
    why = tc.diagnose(_measured({**base, "dZ_A": "fail"}, ratio_ok=True), "A", "-1/2", "mlp.c_fc")
    assert "not the aligned width sum" in why
    why = tc.diagnose(_measured(base, ratio_ok=True, premise_ok=False), "A", "-1/2", "mlp.c_fc")
    assert why.startswith("premise z = Θ(1) fails")
    ok = {q: "pass" for q in base}
    assert "all as predicted" in tc.diagnose(_measured(ok, True), "A", "-1/2", "mlp.c_fc")
