"""Determinism stated and kept (docs/width_sweeps.md, Determinism).

Same spec, same settings: bit-identical tables.  `block_runs`, `workers` (the threads each
block's products run on) and `fused` change *how* the batched products are computed — how many
runs share one matrix product and how many threads compute it, which selects the BLAS kernel
and with it the order of the floating-point sums — so values move at rounding level only;
every shard records these numerics and a resume refuses to mix them (test_sweepdir)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from width_sweeps import executor, results
from width_sweeps.spec import from_dict

BASE = {"model": "theory-layer", "widths": [64, 256], "schemes": ["A", "AB"],
        "eta0": [0.01, 0.02], "lr_exponents": ["-1/2"], "seeds": 4, "steps": 4,
        "dtype": "float64", "runs_per_shard": 16}
MLP = {"model": "mlp5", "widths": [16, 32], "schemes": ["A", "AB+"], "eta0": [0.05],
       "seeds": 3, "steps": 3, "batch_size": 4, "probe_batch": 4, "rank": 2, "n0": 16,
       "model_options": {"n_train": 32, "n_test": 16, "d_in": 4, "d_out": 2}}


def _tables(tmp_path, name, d):
    return executor.run_sweep(from_dict(d), tmp_path / name, progress=False)


@pytest.mark.parametrize("d", [BASE, MLP], ids=["theory-layer", "mlp5"])
def test_same_settings_give_bit_identical_tables(tmp_path, d) -> None:
    s1, r1 = _tables(tmp_path, "one", d)
    s2, r2 = _tables(tmp_path, "two", d)
    pd.testing.assert_frame_equal(s1, s2, check_exact=True)
    pd.testing.assert_frame_equal(r1.drop(columns="shard_seconds"),
                                  r2.drop(columns="shard_seconds"), check_exact=True)


@pytest.mark.parametrize("perf", [{"block_runs": 1}, {"block_runs": 3}, {"workers": 1},
                                  {"fused": False}], ids=lambda p: str(p))
def test_performance_settings_move_values_at_rounding_level_only(tmp_path, perf) -> None:
    ref, _ = _tables(tmp_path, "ref", BASE)
    other, _ = _tables(tmp_path, "other", BASE | perf)
    a, b = ref.value.to_numpy(), other.value.to_numpy()
    assert np.array_equal(np.isnan(a), np.isnan(b))
    fin = np.isfinite(a)
    np.testing.assert_allclose(b[fin], a[fin], rtol=1e-7, atol=1e-300)
    na = results.shard_meta(tmp_path / "ref", "w0000064-c0000")["numerics"]
    nb = results.shard_meta(tmp_path / "other", "w0000064-c0000")["numerics"]
    key = next(iter(perf))
    assert na[key] != nb[key]                       # recorded, so a resume can refuse to mix
