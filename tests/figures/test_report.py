"""The report builder: verdict rows from a synthetic sweep table, failure rows, index.md."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from figures import common, demo, report
from figures.common import Claim, FigureResult

KEYS = {"model": "theory-layer", "scheme": "A", "init_scale": 1.0, "optimizer": "adam",
            "lr_exponent": "-1/2", "lr_exponent_b": "-1/2", "eta0": 1.0, "eps": "0"}
TRUE = {"Z_A": 0.5, "Z_B": 0.0, "delta1": 0.0, "delta2": 0.0, "delta3": -1.0}


def synthetic_steps(seed: int = 0) -> pd.DataFrame:
    """Tidy steps table with known exponents (RMS ∝ n^e, 2 % log-normal noise per seed)."""
    rng = np.random.default_rng(seed)
    rows = []
    rid = 0
    for n in (64, 128, 256, 512, 1024):
        for s in range(6):
            for q, e in TRUE.items():
                rows.append(dict(run_id=rid, width=n, seed=s, step=3, quantity=q,
                                 value=n ** e * np.exp(0.02 * rng.standard_normal()), **KEYS))
            rid += 1
    return pd.DataFrame(rows)


def fake_predict(**_) -> dict:
    """gamma_calc stand-in: right for Z_A, Z_B, δ¹, δ³; wrong for δ² (predicts −1)."""
    pred = {"Z_A": "1/2", "Z_B": "0", "delta1": "0", "delta2": "-1", "delta3": "-1"}
    return {(q, 3): p for q, p in pred.items()}


def judged_fits() -> pd.DataFrame:
    from width_sweeps.fit import FitOptions, fit_table
    from width_sweeps.predict import attach_predictions
    from width_sweeps.verdict import Rule, add_verdicts
    fits = fit_table(synthetic_steps(), None, FitOptions(n_boot=300))
    fits, _ = attach_predictions(fits, fake_predict)
    return add_verdicts(fits, Rule())


def test_claim_from_synthetic_fits_reports_each_exponent_and_fails_on_one_wrong() -> None:
    fits = judged_fits()
    assert dict(zip(fits.quantity, fits.verdict))["delta2"] == "fail"
    good = common.claim_from_fits(fits[fits.quantity != "delta2"], figure="coord_check",
                                  claim="c", source="s", quantities=["Z_A", "Z_B", "delta1"])
    assert good.verdict == "pass" and good.note == "3 pass"
    assert "Z_A 1/2" in good.prediction and "Z_A +0.5" in good.measured
    bad = common.claim_from_fits(fits, figure="coord_check", claim="c", source="s",
                                 quantities=list(TRUE), labels={"delta2": "δ²"})
    assert bad.verdict == "fail" and bad.note.startswith("4 pass, 1 fail — δ²: interval")
    assert "δ² -1" in bad.prediction
    missing = common.claim_from_fits(fits.iloc[:0], figure="x", claim="c", source="s",
                                     quantities=["Z_A"])
    assert missing.verdict == "inconclusive" and "not measured" in missing.note


def test_claims_table_is_one_markdown_row_per_claim() -> None:
    claims = [Claim("f", "a | b", "Beyond Zero Init", "1/2", "+0.49", "[+0.4, +0.6]", "pass"),
              Claim("f", "second", "A×0 ≠ 0×B blog", "< 0", "+0.1", "", "fail", "note")]
    md = report.claims_table(claims).splitlines()
    assert len(md) == 2 + len(claims)
    assert md[2].count(" | ") == len(report.COLUMNS) - 1     # the '|' in the claim is escaped
    assert "a \\| b" in md[2] and "✅ pass" in md[2] and "❌ fail (note)" in md[3]


def test_failing_figure_becomes_an_error_row_and_the_others_survive(tmp_path, monkeypatch) -> None:
    import figures.maxlr
    import figures.theorem1

    def good(ctx):
        return FigureResult("theorem1", "T", "tests", [Claim("theorem1", "ok", "s", "-1", "-1.0",
                                                             "[-1.1, -0.9]", "pass")])

    def broken(ctx):
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(figures.theorem1, "run", good)
    monkeypatch.setattr(figures.maxlr, "run", broken)
    monkeypatch.setattr(demo, "FIGURES", (("theorem1", "T"), ("maxlr", "M"),
                                          ("no_such_figure", "N")))
    code = demo.main(["--out", str(tmp_path)])
    assert code == 1                                    # an errored figure fails the job
    text = (tmp_path / "index.md").read_text()
    rows = [r for r in text.splitlines() if r.startswith("| ") and r[2].isdigit()]
    assert len(rows) == 3
    assert "✅ pass" in rows[0]
    assert "💥 error" in rows[1] and "RuntimeError: boom second line" in rows[1]
    assert "ModuleNotFoundError" in rows[2]
    assert "1 pass, 0 fail, 2 error" in text


def test_verdicts_json_schema(tmp_path) -> None:
    """report/verdicts.json: one object per claim with the documented keys and types."""
    from gamma_calc.vocab import MODELS
    from width_sweeps.verdict import ALL
    claims = [Claim("coord_check", "a", "Beyond Zero Init (Eq. 6)", "1/2", "+0.49",
                    "[+0.40, +0.60]", "pass", "", common.claim_id("coord_check", "theory", "A"),
                    "theory-layer", 0.4, 0.6),
              Claim("loram_fig2", "b", "LoRAM (Prop. 2)", "< 1", "0.6", "", "inconclusive",
                    "2 seeds", "loram_fig2/x", "mlp5", None, None),
              Claim("spectral_gain", "c", "LoRAM (§3)", "≤ 1", "1", "", "fail", model="toy"),
              Claim("coord_check", "d", "s", "-oo", "-oo", "", "pass", "", "coord_check/theory-a",
                    "toy-init", -np.inf, -np.inf)]
    res = [FigureResult("x", "X", "t", claims, device="cpu (2 cores)")]
    report.write_report(res, tmp_path, mode="quick", device="cpu", revision="r", seconds=1.0)
    recs = json.loads((tmp_path / "verdicts.json").read_text())
    assert isinstance(recs, list) and len(recs) == len(claims)
    for r in recs:
        assert list(r) == list(report.RECORD_KEYS)
        assert r["verdict"] in ALL and r["model"] in MODELS and r["mode"] == "quick"
        assert r["device"] == "cpu (2 cores)" and r["id"]
        for k in ("ci_low", "ci_high"):
            assert r[k] is None or isinstance(r[k], float) or r[k] in ("-oo", "oo")
        for k in ("figure", "claim", "source", "prediction", "measured", "note"):
            assert isinstance(r[k], str)
    ids = [r["id"] for r in recs]
    assert len(set(ids)) == len(ids)                       # a repeated id gets a suffix
    assert ids[0] == "coord_check/theory-a" and ids[3] == "coord_check/theory-a-2"
    assert ids[2] == "spectral_gain/c"                     # derived from the claim when unset
    assert recs[0]["ci_low"] == 0.4 and recs[3]["ci_low"] == "-oo"
    assert "Verdict rule" in (tmp_path / "index.md").read_text()


def test_quick_vs_full_flags_a_full_pass_that_fails_in_quick(tmp_path) -> None:
    def rec(i, v):
        return {"id": i, "figure": "f", "model": "toy", "verdict": v}
    quick = [rec("a", "pass"), rec("b", "inconclusive"), rec("c", "fail"), rec("d", "fail")]
    full = [rec("a", "pass"), rec("b", "pass"), rec("c", "pass"), rec("d", "fail"),
            rec("e", "pass")]
    text, broken = report.quick_vs_full(quick, full)
    assert broken == ["c"]
    rows = [r for r in text.splitlines() if r.startswith("| `")]
    assert [r.split("`")[1] for r in rows] == ["a", "b", "c", "d", "e"]
    assert "⚠️ inconclusive | ✅ pass" in rows[1] and "| — | ✅ pass |" in rows[4]
    (tmp_path / "q.json").write_text(json.dumps(quick))
    (tmp_path / "f.json").write_text(json.dumps(full))
    assert report.write_quick_vs_full(tmp_path / "q.json", tmp_path / "f.json",
                                      tmp_path / "x.md") == ["c"]
    assert "1 claims pass in full mode but fail in quick mode" in (tmp_path / "x.md").read_text()


def test_one_line_error_names_type_and_place() -> None:
    try:
        raise ValueError("bad\n  value")
    except ValueError as exc:
        line = report.one_line_error(exc)
    assert line.startswith("ValueError: bad value [test_report.py:")
    assert "\n" not in line


@pytest.mark.parametrize("scheme", ["A", "B", "AB", "AB-practical", "AB+", "pissa", "loram"])
def test_style_has_a_colour_and_the_papers_name(scheme) -> None:
    from figures import style
    from gamma_calc.schemes import DISPLAY_NAMES
    assert style.color(scheme) in style.COLORS.values()
    assert style.name(scheme) == DISPLAY_NAMES[scheme]


def test_style_uses_the_blogs_names() -> None:
    from figures import style
    assert style.name("A", "blog") == "Standard (Init[A])"
    assert style.short("ortho-qr-match", "blog") == "Ortho QR (Match)"
    assert style.name("A", "loram") == "Noise & Zeros (Init[A])"
    assert len(set(style.COLORS.values())) == len(style.COLORS)     # no two schemes alike
