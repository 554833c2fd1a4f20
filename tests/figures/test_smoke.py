"""One tiny figure end to end through the demo driver: sweep → fits → verdicts → PNG → report."""
from __future__ import annotations

import time

from figures import demo, maxlr


def test_tiny_maxlr_figure_through_the_demo(tmp_path, monkeypatch) -> None:
    tiny = maxlr.Config(widths=(64, 128, 256), seeds=2, steps=4, eta_from=2.0 ** -9,
                        per_octave=2)
    monkeypatch.setattr(maxlr, "config", lambda mode: tiny)
    t0 = time.perf_counter()
    assert demo.main(["--only", "maxlr", "--out", str(tmp_path)]) == 0
    assert time.perf_counter() - t0 < 60
    png = tmp_path / "maxlr.png"
    assert png.exists() and 10_000 < png.stat().st_size < 500_000
    assert (tmp_path / "maxlr.pdf").exists()
    text = (tmp_path / "index.md").read_text()
    rows = [r for r in text.splitlines() if r.startswith("| ") and r[2].isdigit()]
    assert len(rows) == 2 and all("maxlr" in r for r in rows)
    assert all(("pass" in r) or ("fail" in r) for r in rows)
    assert "![maxlr](maxlr.png)" in text
    assert (tmp_path / "runs" / "maxlr" / "maxlr.parquet").exists()   # read via width_sweeps
