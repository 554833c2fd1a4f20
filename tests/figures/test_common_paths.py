"""figures.common's paths: repository paths in a checkout, only --out from an installed package."""
from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from figures import common


def test_a_checkout_is_found() -> None:
    root = Path(__file__).resolve().parents[2]
    assert common.CHECKOUT == root and common.ROOT == root
    assert common.FIGURES_DIR == root / "figures"


def _tiny() -> Figure:
    fig = Figure(figsize=(1, 1))
    fig.subplots().plot([0, 1], [0, 1])
    return fig


def test_full_mode_writes_the_committed_copy_only_in_a_checkout(tmp_path, monkeypatch) -> None:
    pkg, out = tmp_path / "site-packages" / "figures", tmp_path / "out"
    pkg.mkdir(parents=True)
    monkeypatch.setattr(common, "FIGURES_DIR", pkg)
    ctx = common.Context("full", (out,), tmp_path / "runs")

    monkeypatch.setattr(common, "CHECKOUT", None)          # an installed package
    assert common.save(_tiny(), "x", ctx) == out / "x.png"
    assert (out / "x.pdf").exists() and not list(pkg.iterdir())

    monkeypatch.setattr(common, "CHECKOUT", tmp_path)      # a checkout
    common.save(_tiny(), "y", ctx)
    assert (pkg / "y.png").exists() and (out / "y.png").exists()
