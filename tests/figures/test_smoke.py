"""One tiny figure end to end through the demo driver: sweep → fits → verdicts → PNG → report
(index.md and verdicts.json)."""
from __future__ import annotations

import json

from figures import coord_check, demo, maxlr, report


def test_tiny_maxlr_figure_through_the_demo(tmp_path, monkeypatch) -> None:
    tiny = maxlr.Config(widths=(64, 128, 256, 512), seeds=2, steps=4, eta_from=2.0 ** -9,
                        per_octave=2)
    monkeypatch.setattr(maxlr, "config", lambda mode: tiny)
    assert demo.main(["--only", "maxlr", "--out", str(tmp_path)]) == 0
    png = tmp_path / "maxlr.png"
    assert png.exists() and 10_000 < png.stat().st_size < 500_000
    assert not (tmp_path / "maxlr.pdf").exists()          # quick mode: PNG only
    text = (tmp_path / "index.md").read_text()
    rows = [r for r in text.splitlines() if r.startswith("| ") and r[2].isdigit()]
    assert len(rows) == 2 and all("maxlr" in r for r in rows)
    assert all(any(v in r for v in ("pass", "fail", "inconclusive")) for r in rows)
    assert "![maxlr](maxlr.png)" in text and "Verdict rule" in text
    recs = json.loads((tmp_path / "verdicts.json").read_text())
    assert [r["id"] for r in recs] == ["maxlr/a", "maxlr/b"]
    assert all(set(r) == set(report.RECORD_KEYS) and r["model"] == "theory-layer"
               and r["mode"] == "quick" for r in recs)
    assert (tmp_path / "runs" / "maxlr" / "maxlr.parquet").exists()   # read via width_sweeps


def test_coord_check_configs_have_distinct_sweeps_and_a_pretraining_free_control() -> None:
    for mode in ("quick", "full"):
        cfgs = coord_check.configs(mode)
        assert len({c.sweep_name for c in cfgs}) == len({c.key for c in cfgs}) == len(cfgs)
        control = [c for c in cfgs if c.variant == "init"]
        assert len(control) == 1 and dict(control[0].model_options)["pretrain_steps"] == 0
        toy = next(c for c in cfgs if c.model == "toy" and not c.variant)
        assert control[0].widths == toy.widths and control[0].configs == toy.configs
        assert control[0].spec()["model_options"] == {"pretrain_steps": 0}
