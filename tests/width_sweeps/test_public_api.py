"""width_sweeps' public names: lazy, torch-free for reading and fitting a finished sweep."""
from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

import width_sweeps

ROOT = Path(__file__).resolve().parents[2]
PUBLIC = {"SweepSpec", "run_sweep", "load_results", "fit", "coord_check", "CoordCheck"}

# A fresh interpreter: importing the package loads nothing heavy; reading and fitting a finished
# sweep (predictions and verdicts included) never imports torch; the submodule `fit` does not
# replace the function `fit`.
READ_AND_FIT = """
import sys
import width_sweeps
assert "pandas" not in sys.modules and "torch" not in sys.modules, "import is not lazy"
from width_sweeps import fit, load_results
import width_sweeps.fit
from width_sweeps.fit import FitOptions
assert width_sweeps.fit is fit and callable(fit), width_sweeps.fit
steps, runs = load_results(sys.argv[1])
fits = fit(steps, runs, FitOptions(n_boot=200))
row = fits[(fits.quantity == "Z_B") & (fits.step == 3)].iloc[0]
assert row.predicted == "0" and row.verdict in ("pass", "fail", "inconclusive"), row
assert "torch" not in sys.modules, "torch was imported"
print(len(fits))
"""


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory) -> Path:
    """A tiny finished sweep: the theory layer, Init[A] at c = −1/2, 4 widths × 3 seeds."""
    out = tmp_path_factory.mktemp("sweep")
    spec = width_sweeps.SweepSpec(model="theory-layer", widths=[16, 32, 64, 128], schemes=["A"],
                                  eta0=[1.0], lr_exponents=["-1/2"], seeds=[0, 1, 2], steps=3,
                                  dtype="float64", device="cpu")
    width_sweeps.run_sweep(spec, out, progress=False)
    return out


def test_reading_and_fitting_a_finished_sweep_never_imports_torch(sweep_dir) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    res = subprocess.run([sys.executable, "-c", READ_AND_FIT, str(sweep_dir)],
                         capture_output=True, text=True, env=env, timeout=300, check=False)
    assert res.returncode == 0, res.stderr[-2000:]
    assert int(res.stdout.split()[-1]) > 0


def test_fit_without_predictions_has_no_verdicts(sweep_dir) -> None:
    steps, runs = width_sweeps.load_results(sweep_dir)
    bare = width_sweeps.fit(steps, runs, {"n_boot": 200}, predict=False)
    judged = width_sweeps.fit(steps, runs, {"n_boot": 200})
    assert "verdict" not in bare.columns and {"predicted", "verdict", "reason"} <= set(judged)
    assert bare.fitted.equals(judged.fitted) and bare.ci_low.equals(judged.ci_low)


def test_public_names_resolve_and_survive_their_submodules() -> None:
    assert set(width_sweeps.__all__) == PUBLIC and PUBLIC <= set(dir(width_sweeps))
    module = importlib.import_module("width_sweeps.coord_check")   # the submodule, by name
    from width_sweeps.coord_check import CoordCheckError
    for name in PUBLIC:
        assert not isinstance(getattr(width_sweeps, name), type(width_sweeps)), name
    assert width_sweeps.coord_check is module.coord_check and CoordCheckError
    assert isinstance(width_sweeps.CoordCheck, type)
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        width_sweeps.nothing  # noqa: B018
